"""gem: Gradient Episodic Memory (Lopez-Paz & Ranzato 2017) through Avalanche's GEMPlugin.

A random `patterns_per_experience` utterances of each experience are kept. Before every step the
loss gradient on each past experience's memory is computed; if the current gradient increases any
of those losses (negative dot product), it is replaced by the closest gradient that does not,
found by a quadratic program (quadprog, through qpsolvers), with `memory_strength` as margin.

What differs from the plugin, and why: its `update_memory` builds the memory by concatenating
training-size batches with `torch.cat`, which fails when two batches are padded to different
lengths (ours are: x is (B, T, dim + 1), y is (B, L), both padded per batch). The subclass draws the
utterances at random and collates them ONCE with the dataset's collate, so the memory is one
padded batch (x, y, t). Gradients, constraints and the QP are the plugin's, unchanged.
"""
from dataclasses import dataclass, field

import qpsolvers
import torch
from avalanche.training.plugins import GEMPlugin

from benchmark.errors import UserError
from strategies import StrategyContext, StrategyParts, register_strategy


@dataclass
class GEMConfig:
    patterns_per_experience: int = field(default=32, metadata={
        "help": "utterances kept in memory per experience (one forward+backward each per step)"})
    memory_strength: float = field(default=0.5, metadata={
        "help": "margin of the constraints, favouring backward transfer (gamma in the paper)"})


class PaddedGEM(GEMPlugin):
    """GEMPlugin whose memory of an experience is one batch collated by the dataset."""

    @torch.no_grad()
    def update_memory(self, dataset, t, batch_size):
        n = min(self.patterns_per_experience, len(dataset))
        idx = torch.randperm(len(dataset))[:n].tolist()
        x, y, tid = dataset.collate_fn([dataset[i] for i in idx])
        self.memory_x[t], self.memory_y[t], self.memory_tid[t] = x, y, tid


@register_strategy("gem", "gradient episodic memory (Avalanche GEMPlugin; needs quadprog)",
                   GEMConfig)
def build(cfg: GEMConfig, ctx: StrategyContext) -> StrategyParts:
    if "quadprog" not in qpsolvers.available_solvers:
        raise UserError("strategy 'gem' needs the quadprog QP solver: pip install quadprog==0.1.14")
    plugin = PaddedGEM(patterns_per_experience=cfg.patterns_per_experience,
                       memory_strength=cfg.memory_strength)

    def extra_state() -> dict:
        # the memory as stored (padded tensors) and G: one past-experience gradient per row,
        # one float per parameter
        tensors = [*plugin.memory_x.values(), *plugin.memory_y.values(), plugin.G]
        lengths = [int(x[..., -1].sum()) for x in plugin.memory_x.values()]  # validity channel
        return {"gem": {"utterances": sum(len(x) for x in plugin.memory_x.values()),
                        "seconds": sum(lengths) / 100.0, "tensors": len(tensors),
                        "bytes": sum(t.numel() * t.element_size() for t in tensors)}}

    return StrategyParts(plugins=[plugin], extra_state=extra_state)

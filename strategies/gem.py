"""gem: Gradient Episodic Memory (Lopez-Paz & Ranzato 2017), on Avalanche's GEMPlugin.

`patterns_per_experience` random utterances of each experience are kept. Before every step the
loss gradient g_k of each earlier experience k is computed on its memory; if the current gradient
g has a negative dot product with any g_k, it is replaced by the closest gradient that has none,
found by GEM's dual quadratic program (quadprog via qpsolvers), `memory_strength` as margin.

What differs from the plugin, and why (its constraints and QP are kept):
- Cost. Its g_k is an fp32 forward+backward over k's WHOLE memory per step (6 x 32 utterances per
  16-utterance step at seven_task's end; no default-profile run finished). Here g_k is estimated
  per step on a fresh random `sample_size` of k's memory (A-GEM's estimator, per experience as
  GEM needs; 0 = whole memory) in the run's precision (bf16 on Whisper; fp32 for fp16 runs).
- It copies G (experiences x parameters) to float64 numpy per projection (1.9 GB at 6 x 39 M).
  Here G G^T and G g are float32 products, only the t-variable QP is float64, and G holds only
  trainable parameters (a frozen one's zero column changes no dot product).
- Memory is kept as utterances, collated per step (its `torch.cat` of differently padded
  batches fails on ours); they are the `--resume` checkpoint.
"""
from dataclasses import dataclass, field

import numpy as np
import qpsolvers
import torch
from avalanche.models import avalanche_forward
from avalanche.training.plugins import GEMPlugin

from benchmark.errors import UserError
from benchmark.streams import collate
from benchmark.training.template import autocast
from strategies import StrategyContext, StrategyParts, register_strategy


@dataclass
class GEMConfig:
    patterns_per_experience: int = field(default=32, metadata={
        "help": "utterances kept in memory per experience"})
    sample_size: int = field(default=8, metadata={
        "help": "memory utterances per earlier experience per step (0 = all, as the plugin)"})
    memory_strength: float = field(default=0.5, metadata={
        "help": "margin of the constraints, favouring backward transfer (gamma in the paper)"})


def _flat_grad(params: list) -> torch.Tensor:
    return torch.cat([torch.zeros(p.numel(), device=p.device) if p.grad is None
                      else p.grad.flatten() for p in params])


class SampledGEM(GEMPlugin):
    """GEMPlugin with sampled, autocast memory gradients and a float32 QP set-up."""

    def __init__(self, patterns_per_experience: int, memory_strength: float, sample_size: int):
        super().__init__(patterns_per_experience, memory_strength)
        self.sample_size, self.params = sample_size, []
        self.memory: list[list[tuple]] = []  # per experience: (features, tokens, task) items

    def before_training_iteration(self, strategy, **kwargs):
        if not self.memory:
            return
        self.params = [p for p in strategy.model.parameters() if p.requires_grad]
        rows = []
        for items in self.memory:
            if 0 < self.sample_size < len(items):
                items = [items[i] for i in torch.randperm(len(items))[:self.sample_size]]
            x, y, t = (v.to(strategy.device) for v in collate(items))
            strategy.optimizer.zero_grad()
            with autocast(strategy.device, strategy.precision.replace("fp16", "fp32")):
                loss = strategy._criterion(avalanche_forward(strategy.model, x, t), y)
            loss.backward()
            rows.append(_flat_grad(self.params))
        self.G = torch.stack(rows)  # (earlier experiences, trainable parameters)

    @torch.no_grad()
    def after_backward(self, strategy, **kwargs):
        if not self.memory:
            return
        g = _flat_grad(self.params)
        Gg = self.G @ g
        if not (Gg < 0).any() or not torch.isfinite(g).all():  # fp16: the scaler skips the step
            return
        t = len(self.memory)  # the plugin's solve_quadprog, with float32 products
        P = (self.G @ self.G.T).double().cpu().numpy()
        P = 0.5 * (P + P.T) + np.eye(t) * 1e-3
        v = qpsolvers.solve_qp(P=P, q=Gg.double().cpu().numpy(), G=-np.eye(t),
                               h=-np.full(t, self.memory_strength), solver="quadprog")
        v_star = torch.from_numpy(v).to(self.G) @ self.G + g
        for p, new in zip(self.params, v_star.split([p.numel() for p in self.params])):
            if p.grad is not None:
                p.grad.copy_(new.view_as(p))

    def update_memory(self, dataset, t, batch_size):
        idx = torch.randperm(len(dataset))[:self.patterns_per_experience].tolist()
        self.memory.append([tuple(dataset[i][:3]) for i in idx])


@register_strategy("gem", "gradient episodic memory (Avalanche GEMPlugin; needs quadprog)",
                   GEMConfig)
def build(cfg: GEMConfig, ctx: StrategyContext) -> StrategyParts:
    if "quadprog" not in qpsolvers.available_solvers:
        raise UserError("strategy 'gem' needs the quadprog QP solver: pip install quadprog==0.1.14")
    plugin = SampledGEM(cfg.patterns_per_experience, cfg.memory_strength, cfg.sample_size)

    def extra_state() -> dict:
        # the memory (unpadded utterances; seconds at 100 feature frames per second) and G (one
        # earlier experience's gradient per row, one float per trainable parameter)
        items = [it for m in plugin.memory for it in m]
        tensors = [v for it in items for v in it[:2]] + [plugin.G]
        return {"gem": {"utterances": len(items), "tensors": len(tensors),
                        "seconds": sum(it[0].shape[0] for it in items) / 100.0,
                        "bytes": sum(t.numel() * t.element_size() for t in tensors)}}

    def checkpoint() -> dict:
        return {"memory": [{"feats": [it[0] for it in items], "y": [it[1] for it in items],
                            "task": [int(it[2]) for it in items]} for items in plugin.memory]}

    def restore(sd: dict) -> None:
        plugin.memory = [list(zip(m["feats"], m["y"], m["task"])) for m in sd["memory"]]

    return StrategyParts(plugins=[plugin], extra_state=extra_state, checkpoint=checkpoint,
                         restore=restore, resumable=True)

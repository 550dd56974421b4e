"""si: Synaptic Intelligence (Zenke et al. 2017) through Avalanche's SynapticIntelligencePlugin.

During training the plugin accumulates each weight's contribution to the loss decrease along
its trajectory (gradient x update); at the end of an experience this, divided by the squared
total displacement plus `eps`, becomes the weight's importance (clipped at 0.001 by Avalanche),
and later experiences pay si_lambda/2 * sum(importance * (w - w_end)^2).

What differs from the plugin, and why (two fixes, nothing else):
- It snapshots weights with `param.detach().cpu().flatten()`. On a GPU that is a copy; on the
  CPU it is a VIEW of the live parameter, so the anchor and the "weights before the step" move
  with training: every displacement is 0, the importances stay 0 and the penalty is 0 (measured
  here). The subclass clones those two snapshots right after the plugin takes them.
- It reads `param.grad` of every trainable parameter after every step and fails on a parameter
  without one. Ours has some: the CTC head gets no gradient on batches without an ASR row (the
  criterion adds no CTC term there). Those get a zero gradient first (a zero contribution to the
  path integral, SI's value for a weight that did not move the loss); the next iteration's
  `zero_grad` clears it, so training is unchanged.
"""
from dataclasses import dataclass, field

import torch
from avalanche.training.plugins import SynapticIntelligencePlugin
from avalanche.training.utils import ParamData

from strategies import StrategyContext, StrategyParts, register_strategy


@dataclass
class SIConfig:
    si_lambda: float = field(default=1.0, metadata={"help": "penalty weight (c in the paper)"})
    eps: float = field(default=1e-7, metadata={
        "help": "damping added to the squared displacement (xi in the paper; Avalanche default)"})


def _own(buffers: dict) -> None:
    """Replace each snapshot by a copy (on the CPU the plugin's snapshot aliases the weight)."""
    for d in buffers.values():
        d.data = d.data.clone()


class SequenceSI(SynapticIntelligencePlugin):
    """SynapticIntelligencePlugin with real weight snapshots on the CPU and tolerance of
    parameters without a gradient this step."""

    def before_training_exp(self, strategy, **kwargs):
        super().before_training_exp(strategy, **kwargs)
        _own(self.ewc_data[0])  # the anchor: weights at the start of the experience

    def before_training_iteration(self, strategy, **kwargs):
        super().before_training_iteration(strategy, **kwargs)
        _own(self.syn_data["old_theta"])  # weights before this step

    def after_training_iteration(self, strategy, **kwargs):
        for p in strategy.model.parameters():
            if p.requires_grad and p.grad is None:
                p.grad = torch.zeros_like(p)
        super().after_training_iteration(strategy, **kwargs)


@register_strategy("si", "synaptic intelligence (Avalanche SynapticIntelligencePlugin)", SIConfig)
def build(cfg: SIConfig, ctx: StrategyContext) -> StrategyParts:
    plugin = SequenceSI(si_lambda=cfg.si_lambda, eps=cfg.eps)

    def extra_state() -> dict:
        # five float32 buffers per parameter kept across steps, on CPU: anchor, importance,
        # weights before the step, trajectory, cumulative trajectory (the plugin's per-step
        # scratch copies of the new weights and the gradient are not counted)
        tensors = [d.data for part in plugin.ewc_data for d in part.values()]
        tensors += [d.data for key in ("old_theta", "trajectory", "cum_trajectory")
                    for d in plugin.syn_data[key].values()]
        return {"si": {"tensors": len(tensors),
                       "bytes": sum(t.numel() * t.element_size() for t in tensors)}}

    def checkpoint() -> dict:
        # What outlives an experience: anchor, importance and the cumulative trajectory. The
        # trajectory is zeroed and the weight/gradient snapshots are retaken in the next one.
        anchor, importance = plugin.ewc_data
        return {"anchor": {n: d.data for n, d in anchor.items()},
                "importance": {n: d.data for n, d in importance.items()},
                "cum_trajectory": {n: d.data for n, d in plugin.syn_data["cum_trajectory"].items()}}

    def restore(sd: dict) -> None:
        anchor, importance = plugin.ewc_data
        for store in (anchor, importance, *plugin.syn_data.values()):
            store.clear()
        for n, t in sd["anchor"].items():  # as the plugin's create_syn_data names them
            anchor[n] = ParamData(n, init_tensor=t)
            importance[n] = ParamData(f"imp_{n}", init_tensor=sd["importance"][n])
            for key in ("old_theta", "new_theta", "grad", "trajectory"):
                plugin.syn_data[key][n] = ParamData(f"{key}_{n}", t.shape)
            plugin.syn_data["cum_trajectory"][n] = ParamData(
                f"cum_trajectory_{n}", init_tensor=sd["cum_trajectory"][n])

    return StrategyParts(plugins=[plugin], extra_state=extra_state, checkpoint=checkpoint,
                         restore=restore, resumable=True)

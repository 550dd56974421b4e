"""ewc: Elastic Weight Consolidation through Avalanche's EWCPlugin (Kirkpatrick et al. 2017).

The plugin computes Fisher importances with its own forward pass, `criterion(model(x), y)`. Our
batch contract keeps padding inside x and the criterion decodes y with teacher forcing, so the
plugin works unchanged on sequence outputs.
"""
from dataclasses import dataclass, field
from typing import Literal

from avalanche.training.plugins import EWCPlugin
from avalanche.training.utils import ParamData

from strategies import StrategyContext, StrategyParts, register_strategy


@dataclass
class EWCConfig:
    ewc_lambda: float = field(default=1000.0, metadata={"help": "penalty weight"})
    mode: Literal["separate", "online"] = field(
        default="separate", metadata={"help": "one penalty per past experience, or a running one"})
    decay_factor: float = field(default=0.9, metadata={"help": "online mode: importance decay"})


class TrainableEWC(EWCPlugin):
    """EWCPlugin that stores importances and anchors of trainable parameters only (Whisper's
    frozen 19.9 M-row token table would double the state for a zero penalty). The importances
    are filtered where they are made, so that online mode's update, which pairs old and new
    importances by position, sees the same parameters each time."""

    def compute_importances(self, model, *args, **kwargs):
        importances = super().compute_importances(model, *args, **kwargs)
        return {n: d for n, d in importances.items() if _trainable(model)[n]}

    def after_training_exp(self, strategy, **kwargs):
        super().after_training_exp(strategy, **kwargs)
        trainable = _trainable(strategy.model)
        for params in self.saved_params.values():
            for name in [n for n in params if not trainable[n]]:
                del params[name]


def _trainable(model) -> dict[str, bool]:
    return {n: p.requires_grad for n, p in model.named_parameters()}


@register_strategy("ewc", "elastic weight consolidation (Avalanche EWCPlugin)", EWCConfig)
def build(cfg: EWCConfig, ctx: StrategyContext) -> StrategyParts:
    plugin = TrainableEWC(ewc_lambda=cfg.ewc_lambda, mode=cfg.mode,
                       decay_factor=cfg.decay_factor if cfg.mode == "online" else None)

    def extra_state() -> dict:
        # importances + saved weights: two float tensors per parameter per kept experience
        tensors = [d.data for exp in plugin.importances.values() for d in exp.values()]
        tensors += [d.data for exp in plugin.saved_params.values() for d in exp.values()]
        return {"ewc": {"tensors": len(tensors),
                        "bytes": sum(t.numel() * t.element_size() for t in tensors)}}

    def checkpoint() -> dict:
        return {key: {str(exp): {n: d.data for n, d in params.items()}
                      for exp, params in getattr(plugin, key).items()}
                for key in ("importances", "saved_params")}

    def restore(sd: dict) -> None:
        for key in ("importances", "saved_params"):
            target = getattr(plugin, key)
            target.clear()
            for exp, params in sd[key].items():
                target[int(exp)] = {n: ParamData(n, init_tensor=t) for n, t in params.items()}

    return StrategyParts(plugins=[plugin], extra_state=extra_state, checkpoint=checkpoint,
                         restore=restore, resumable=True)

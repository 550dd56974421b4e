"""naive: fine-tune every weight on each experience; the lower bound that shows forgetting."""
from dataclasses import dataclass

from strategies import StrategyContext, StrategyParts, register_strategy


@dataclass
class NaiveConfig:
    """No options: the template's training schedule is all there is."""


@register_strategy("naive", "fine-tune all weights on each experience (lower bound)", NaiveConfig)
def build(cfg: NaiveConfig, ctx: StrategyContext) -> StrategyParts:
    return StrategyParts(resumable=True)  # no state beyond the model

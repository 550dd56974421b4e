"""joint: after experience i, the model has been trained on the union of experiences 0..i.

This is Avalanche's `Cumulative` strategy expressed as a plugin, so it composes with the same
template. It is the upper bound of the stream: it keeps (and re-trains on) all past data.
"""
from dataclasses import dataclass

from avalanche.core import SupervisedPlugin

from strategies import StrategyContext, StrategyParts, register_strategy


@dataclass
class JointConfig:
    """No options: every past experience is kept in full."""


class CumulativeData(SupervisedPlugin):
    def __init__(self):
        super().__init__()
        self.seen = None
        self.n_seen = 0  # experiences in `seen`; all a resumed run needs to rebuild it

    def after_train_dataset_adaptation(self, strategy, **kw):
        if self.seen is None and self.n_seen:  # resumed: rebuild from the stream itself
            past = strategy.experience.origin_stream[: self.n_seen]
            for exp in past:
                data = exp.dataset.train()
                self.seen = data if self.seen is None else self.seen.concat(data)
        current = strategy.adapted_dataset
        self.seen = current if self.seen is None else self.seen.concat(current)
        self.n_seen += 1
        strategy.adapted_dataset = self.seen


@register_strategy("joint", "train on the union of all experiences so far (upper bound)",
                   JointConfig)
def build(cfg: JointConfig, ctx: StrategyContext) -> StrategyParts:
    data = CumulativeData()

    def extra_state() -> dict:
        n = 0 if data.seen is None else len(data.seen)
        return {"stored_utterances": {"utterances": n}}

    def restore(sd: dict) -> None:
        data.n_seen = int(sd["n_seen"])

    return StrategyParts(plugins=[data], extra_state=extra_state,
                         checkpoint=lambda: {"n_seen": data.n_seen}, restore=restore,
                         resumable=True)

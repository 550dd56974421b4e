"""replay: experience replay through Avalanche's ReplayPlugin with a bounded memory."""
from dataclasses import dataclass, field
from typing import Literal

from avalanche.benchmarks.utils.utils import TaskSet
from avalanche.training.plugins import ReplayPlugin
from avalanche.training.storage_policy import (
    ExperienceBalancedBuffer,
    ParametricBuffer,
    ReservoirSamplingBuffer,
    _ParametricSingleBuffer,
)

from benchmark.streams import dataset_from_items
from strategies import StrategyContext, StrategyParts, register_strategy


class BufferedReplay(ReplayPlugin):
    """Avalanche 0.6.0's ReplayPlugin.after_training_exp calls the storage policy's deprecated
    `update`, which only forwards to `post_adapt` and prints a DeprecationWarning every
    experience (a warnings filter can't stop it: the decorator resets the filter each call).
    Call `post_adapt` directly: the same update, no warning."""

    def after_training_exp(self, strategy, **kwargs):
        self.storage_policy.post_adapt(strategy, strategy.experience)


class TaskBalancedBuffer(ParametricBuffer):
    """groupby="task" on the suite's datasets: Avalanche reads `data.task_set`, which only its
    classification datasets define (AttributeError here); TaskSet needs just the task labels
    every experience carries."""

    def _split_by_task(self, data):
        tasks = TaskSet(data)
        return {t: tasks[t] for t in tasks}


@dataclass
class ReplayConfig:
    mem_size: int = field(default=500, metadata={"help": "utterances kept in memory"})
    storage: Literal["experience", "task"] = field(
        default="experience", metadata={"help": "balance the memory per experience or per task"})
    batch_size_mem: int = field(default=0, metadata={"help": "memory utts per batch (0 = same)"})


@register_strategy("replay", "experience replay with a bounded memory (Avalanche ReplayPlugin)",
                   ReplayConfig)
def build(cfg: ReplayConfig, ctx: StrategyContext) -> StrategyParts:
    if cfg.storage == "experience":
        policy = ExperienceBalancedBuffer(max_size=cfg.mem_size, adaptive_size=True)
    else:
        policy = TaskBalancedBuffer(max_size=cfg.mem_size, groupby="task")
    plugin = BufferedReplay(mem_size=cfg.mem_size, storage_policy=policy,
                          batch_size_mem=cfg.batch_size_mem or None)

    def extra_state() -> dict:
        buf = policy.buffer
        frames = sum(buf[i][0].shape[0] for i in range(len(buf)))  # 100 fbank frames per second
        return {"replay": {"utterances": len(buf), "seconds": frames / 100.0}}

    def checkpoint() -> dict:
        # The buffer's utterances themselves (fbank, tokens, task, class), group by group.
        groups = {}
        for key, group in policy.buffer_groups.items():
            buf = group.buffer
            items = [buf[i] for i in range(len(buf))]
            groups[str(key)] = {
                "feats": [it[0] for it in items], "y": [it[1] for it in items],
                "task": [int(it[2]) for it in items],
                "targets": [int(buf.targets[i]) for i in range(len(buf))],
                "weights": getattr(group, "_buffer_weights", None),
                "max_size": group.max_size}
        return {"groups": groups, "num_exps": getattr(policy, "_num_exps", 0),
                "seen_groups": sorted(getattr(policy, "seen_groups", []))}

    def restore(sd: dict) -> None:
        policy.buffer_groups.clear()
        for key, g in sd["groups"].items():
            if isinstance(policy, ExperienceBalancedBuffer):
                group = ReservoirSamplingBuffer(g["max_size"])
                group._buffer_weights = g["weights"]
            else:
                group = _ParametricSingleBuffer(g["max_size"], policy.selection_strategy)
            group.buffer = dataset_from_items(g["feats"], g["y"], g["task"], g["targets"])
            policy.buffer_groups[int(key)] = group
        if isinstance(policy, ExperienceBalancedBuffer):
            policy._num_exps = sd["num_exps"]
        else:
            policy.seen_groups = set(sd["seen_groups"])

    return StrategyParts(plugins=[plugin], extra_state=extra_state, checkpoint=checkpoint,
                         restore=restore, resumable=True)

"""replay: experience replay through Avalanche's ReplayPlugin with a bounded memory."""
from dataclasses import dataclass, field
from typing import Literal

from avalanche.training.plugins import ReplayPlugin
from avalanche.training.storage_policy import ExperienceBalancedBuffer, ParametricBuffer

from strategies import StrategyContext, StrategyParts, register_strategy


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
        policy = ParametricBuffer(max_size=cfg.mem_size, groupby="task")
    plugin = ReplayPlugin(mem_size=cfg.mem_size, storage_policy=policy,
                          batch_size_mem=cfg.batch_size_mem or None)

    def extra_state() -> dict:
        buf = policy.buffer
        frames = sum(buf[i][0].shape[0] for i in range(len(buf)))  # 100 fbank frames per second
        return {"replay": {"utterances": len(buf), "seconds": frames / 100.0}}

    return StrategyParts(plugins=[plugin], extra_state=extra_state)

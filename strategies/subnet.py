"""subnet: task-specific subnetworks found by iterative magnitude pruning (arXiv 2406.12317).

Each task gets a binary mask over the shared weights; a task is trained and evaluated through
its own mask, so new data for one task only updates that task's subnetwork. The mechanics
(search on a copy, masked training, evaluation views) are in benchmark/training/masked.py.
"""
from dataclasses import dataclass, field
from typing import Literal

from benchmark.training.masked import SubnetStrategy
from benchmark.training.template import make_template as training_template
from strategies import StrategyContext, StrategyParts, register_strategy


@dataclass
class SubnetConfig:
    sparsity: float = field(default=0.36, metadata={
        "help": "target fraction of prunable weights removed per task (paper: 0.36, 0.67)"})
    per_round: float = field(default=0.2, metadata={"help": "fraction pruned per IMP round"})
    scope: Literal["global", "layer"] = field(default="global", metadata={
        "help": "magnitude threshold across all layers or per layer"})
    update: Literal["subnet", "exclusive"] = field(default="subnet", metadata={
        "help": "update the task's whole mask (paper) or only weights no other task uses"})
    search: Literal["copy", "free"] = field(default="copy", metadata={
        "help": "search among all weights (on a copy) or only among weights no mask uses"})
    round_epochs: int = field(default=1, metadata={"help": "epochs of masked training per round"})
    first_round: Literal["dense", "task"] = field(default="dense", metadata={
        "help": "IMP's round 1 prunes the copy trained densely on the whole experience (dense), "
                "or trains it round_epochs on the task's own data first (task); they differ "
                "when an experience holds several tasks, whose round-1 cuts dense makes equal"})
    rewind: bool = field(default=False, metadata={"help": "rewind weights after each prune"})
    freeze_shared: bool = field(default=True, metadata={
        "help": "train norms/biases/embeddings only in the first experience"})
    task_tokens: Literal["frozen", "own"] = field(default="frozen", metadata={
        "help": "with freeze_shared, the embedding rows of prompt tokens one task alone uses "
                "(its task token) freeze too (frozen), or train with that task (own)"})


@register_strategy("subnet", "task-specific subnetworks by iterative magnitude pruning (paper)",
                   SubnetConfig, needs_task_id_at_inference=True)
def build(cfg: SubnetConfig, ctx: StrategyContext) -> StrategyParts:
    if cfg.update == "exclusive" and not cfg.freeze_shared:
        ctx.log("subnet: update=exclusive needs freeze_shared=True for zero interference; set")
        cfg.freeze_shared = True

    def make_template(model, epochs, plugins):  # trains the search copy with the same recipe
        return training_template(model, ctx.tokenizer, ctx.train, ctx.device, epochs=epochs,
                                 plugins=plugins, progress=ctx.progress)

    sub = SubnetStrategy(cfg, ctx, make_template)
    return StrategyParts(plugins=[sub, sub.trainer], eval_context=sub.eval_context,
                         extra_state=sub.extra_state, params_used=sub.params_used,
                         state_dict=sub.masks.state_dict,
                         load_state_dict=sub.masks.load_state_dict, checkpoint=sub.checkpoint,
                         restore=sub.restore, resumable=True)

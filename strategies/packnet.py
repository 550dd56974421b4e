"""packnet: PackNet (Mallya & Lazebnik 2018), built on the suite's task masks.

Per experience:
1. train on the FREE weights only (those no earlier experience owns), with every weight in the
   forward pass: owned weights are used but frozen (`MaskedTraining`, view = all weights,
   update mask = free weights);
2. prune: of the free weights just trained, the `prune_ratio` with the lowest |w| (per layer or
   globally, `scope`) are released and set to 0, the rest become OWNED by this experience;
3. retrain the owned-by-this-experience weights alone for `post_prune_epochs` (on a copy, merged
   back), the released ones staying 0;
4. each task of the experience gets as mask everything owned so far (this experience and all
   earlier ones): PackNet's inference uses all previously owned weights. A task seen again in a
   later experience (the adaptation stream) trains new free weights and its mask grows.
Evaluation of a task runs through its mask (needs the task id at inference). Norms, biases and
embeddings (parameters no mask covers) are trained in the first experience only.

What differs from Avalanche's PackNet, and why: Avalanche's `PackNetModel` wraps each layer and
rejects any module with parameters it does not wrap (LayerNorm included), so it cannot wrap our
Conformer. This file reuses the mask code the subnet strategy uses (`benchmark.masks`,
`MaskedTraining`). Masks are stored as one cumulative bit mask per task (1 bit per prunable
weight) instead of PackNet's uint8 owner per weight; the two encode the same thing.
"""
import copy
from dataclasses import dataclass, field
from typing import Literal

import torch
from avalanche.core import SupervisedPlugin

from benchmark import masks as M
from benchmark.tasks import SUBSETS, TASK_BY_INDEX
from benchmark.training.masked import MaskedTraining, single_experience
from benchmark.training.template import make_template
from strategies import StrategyContext, StrategyParts, register_strategy


@dataclass
class PackNetConfig:
    prune_ratio: float = field(default=0.5, metadata={
        "help": "fraction of an experience's newly trained free weights released after it"})
    post_prune_epochs: int = field(default=1, metadata={
        "help": "epochs of retraining the kept weights after pruning (0 = none)"})
    scope: Literal["layer", "global"] = field(default="layer", metadata={
        "help": "magnitude threshold per layer (PackNet) or across all layers"})


class PackNet(SupervisedPlugin):
    """Sets up free-weight training before an experience; prunes, retrains and assigns after.
    All its state across experiences is `masks` (owned = their union; shared parameters are
    frozen once a mask exists), so `masks.state_dict()` is also its resume checkpoint."""

    def __init__(self, cfg: PackNetConfig, ctx: StrategyContext):
        super().__init__()
        self.cfg, self.ctx = cfg, ctx
        self.masks = M.TaskMasks.for_model(ctx.model)  # per task: all weights it may use
        self.shared = M.unmasked_parameter_names(ctx.model, self.masks.ones())
        self.views = M.TaskMasks.for_model(ctx.model)  # training view: every weight
        self.trainer = MaskedTraining(self.views, seed=ctx.seed, plan=self.plan_experience)

    @staticmethod
    def _tasks(strategy) -> list[str]:
        return [TASK_BY_INDEX[int(i)].id for i in strategy.experience.task_labels]

    def plan_experience(self, strategy) -> tuple[dict, list[str]]:  # MaskedTraining's plan
        free = M.mask_not(self.masks.union())
        for task in self._tasks(strategy):
            self.views.full(task)
        return {task: free for task in self._tasks(strategy)}, self.shared if len(self.masks) else []

    def after_training_exp(self, strategy, **kw):
        model, tasks = strategy.model, self._tasks(strategy)
        self.trainer.switch(model, None)  # merge the experience's training first (idempotent)
        cfg, before = self.cfg, self.masks.union()  # owned by earlier experiences
        keep = M.magnitude_prune(model, M.mask_not(before), cfg.prune_ratio, scope=cfg.scope)
        owned = M.mask_or(before, keep)
        M.materialize(model, owned)  # released weights -> 0 (the backup it returns is not needed)
        if cfg.post_prune_epochs > 0:
            work = copy.deepcopy(model)
            views = M.TaskMasks.for_model(work)
            for task in tasks:
                views.set(task, owned)
            retrain = MaskedTraining(views, {task: keep for task in tasks},
                                     self.shared if len(self.masks) else [], seed=self.ctx.seed)
            make_template(work, self.ctx.tokenizer, self.ctx.train, self.ctx.device,
                          epochs=cfg.post_prune_epochs, plugins=[retrain],
                          progress=self.ctx.progress).train(
                single_experience(strategy.adapted_dataset), eval_streams=[])
            with torch.no_grad():
                model.load_state_dict(work.state_dict())
        for task in tasks:
            self.masks.set(task, owned)
        self.ctx.log(f"packnet: {'+'.join(tasks)} owns {M.mask_count(keep):,} weights; "
                     f"{1 - M.mask_count(owned) / self.masks.total:.3f} of prunable weights free")

    def eval_context(self, subset: str):
        return M.view_of(self.ctx.model, self.masks, SUBSETS[subset])

    def params_used(self, subset: str) -> int | None:
        return M.params_used(self.ctx.model, self.masks, SUBSETS[subset])

    def extra_state(self) -> dict:
        # masks counted in bits: 1 bit per prunable weight per task
        tasks, masks = self.masks.tasks, self.masks
        return {"masks": {"bits": sum(masks.storage_bits(t) for t in tasks), "tasks": len(tasks),
                          "sparsity": {t: masks.sparsity(t) for t in tasks},
                          "free": 1.0 - M.mask_count(masks.union()) / masks.total}}


@register_strategy("packnet", "PackNet: prune after each task, freeze what it keeps "
                   "(on the suite's masks)", PackNetConfig, needs_task_id_at_inference=True)
def build(cfg: PackNetConfig, ctx: StrategyContext) -> StrategyParts:
    pack = PackNet(cfg, ctx)
    sd, load = pack.masks.state_dict, pack.masks.load_state_dict  # masks: all its state
    return StrategyParts(plugins=[pack, pack.trainer], eval_context=pack.eval_context,
                         extra_state=pack.extra_state, params_used=pack.params_used,
                         state_dict=sd, load_state_dict=load, checkpoint=sd, restore=load,
                         resumable=True)

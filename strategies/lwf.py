"""lwf: Learning without Forgetting (Li & Hoiem 2017) on the decoder's token distributions.

After each experience a frozen copy of the model is kept (Avalanche's LwFPlugin does this). On
every batch the loss gains alpha * KL(teacher || student) between the temperature-softened token
distributions of the frozen copy and of the current model, both decoding the current batch's y
with teacher forcing, over content and eos positions only (task token and padding excluded).

What differs from Avalanche's LwFPlugin, and why: its penalty assumes `model(x)` returns class
logits (`out[:, active_units]`); ours returns an EncoderOutput, and the token logits come from
`criterion.decoder_logits`. So `before_backward` is replaced: the per-position logits of the
masked positions are flattened to (N, V) and handed to Avalanche's own `_distillation_loss` (KL
with "batchmean", i.e. averaged over the N token positions, no T^2 factor). `after_training_exp`
keeps the frozen copy but skips the parent's bookkeeping of classes per task (it reads
`dataset.task_set`, which our datasets lack, and class units mean nothing for token outputs), and
puts the teacher in eval mode (Avalanche keeps it in train mode: dropout would make its targets
noisy). The penalty runs under the template's autocast, like the forward pass whose output it
reuses.
"""
import copy
from dataclasses import dataclass, field

import torch
from avalanche.training.plugins import LwFPlugin

from benchmark.training.template import autocast
from strategies import StrategyContext, StrategyParts, register_strategy


@dataclass
class LwFConfig:
    alpha: float = field(default=1.0, metadata={"help": "weight of the distillation penalty"})
    temperature: float = field(default=2.0, metadata={"help": "softmax temperature"})


class DecoderLwF(LwFPlugin):
    """LwFPlugin whose penalty distils the decoder's teacher-forced token distributions."""

    def before_backward(self, strategy, **kwargs):
        prev = self.lwf.prev_model
        if prev is None:  # first experience: nothing to distil from
            return
        crit, x, y = strategy._criterion, strategy.mb_x, strategy.mb_y
        keep = crit.loss_targets(y) != -100  # (B, L-1): content + eos positions
        with autocast(strategy.device, strategy.precision):
            with torch.no_grad():
                teacher = crit.decoder_logits(prev(x), y, model=prev, positions=keep).float()
            student = crit.decoder_logits(strategy.mb_output, y, positions=keep).float()
        units = range(student.size(-1))
        strategy.loss += self.lwf.alpha * self.lwf._distillation_loss(student, teacher, units)

    def after_training_exp(self, strategy, **kwargs):
        # The parent's `post_adapt` also records the classes seen per task through
        # `dataset.task_set`, which our plain AvalancheDatasets lack and token-level
        # distillation does not use; keep only its frozen copy of the model.
        self.lwf.expcount += 1
        self.lwf.prev_model = copy.deepcopy(strategy.model).eval().requires_grad_(False)


@register_strategy("lwf", "learning without forgetting on decoder token distributions "
                   "(Avalanche LwFPlugin, subclassed)", LwFConfig)
def build(cfg: LwFConfig, ctx: StrategyContext) -> StrategyParts:
    plugin = DecoderLwF(alpha=cfg.alpha, temperature=cfg.temperature)

    def extra_state() -> dict:
        # the teacher: one frozen float copy of every parameter (and buffer) of the model
        prev = plugin.lwf.prev_model
        tensors = [] if prev is None else list(prev.state_dict().values())
        return {"lwf": {"tensors": len(tensors),
                        "bytes": sum(t.numel() * t.element_size() for t in tensors)}}

    def checkpoint() -> dict:
        # the teacher's own weights (equal to the model's right after an experience, kept
        # anyway so that restore does not depend on when the checkpoint was taken)
        prev = plugin.lwf.prev_model
        return {"expcount": plugin.lwf.expcount,
                "teacher": {} if prev is None else prev.state_dict()}

    def restore(sd: dict) -> None:
        plugin.lwf.expcount = int(sd["expcount"])
        plugin.lwf.prev_model = None
        if sd["teacher"]:
            prev = copy.deepcopy(ctx.model).eval().requires_grad_(False)
            prev.load_state_dict(sd["teacher"])
            plugin.lwf.prev_model = prev

    return StrategyParts(plugins=[plugin], extra_state=extra_state, checkpoint=checkpoint,
                         restore=restore, resumable=True)

"""mas: Memory Aware Synapses (Aljundi et al. 2018) through Avalanche's MASPlugin.

After each experience, a weight's importance is the mean absolute gradient of the squared L2
norm of the model's output over the experience's data; importances of successive experiences
are blended (alpha * old + (1 - alpha) * new), and later experiences pay
mas_lambda * sum(importance * (w - w_end)^2).

What differs from the plugin, and why: it takes the norm of `model(x)`, which for a classifier is
the logits. Ours returns an EncoderOutput (hidden states + mask), not logits, so the subclass
replaces `_get_importance` to use the decoder's output instead: the squared L2 norm of the
teacher-forced token logits (`criterion.decoder_logits(model(x), y)`), summed over the vocabulary
and averaged over content and eos positions. The labels y are only the decoder's input here (no
loss against them), so the importance stays unsupervised as MAS intends. The loop follows the
plugin's (the experience's data with its collate, train mode, mean over batches); the penalty and
the blending of importances are the plugin's, unchanged.

Scale: the squared norm (MAS's paper) where the plugin takes the plain one makes each importance
about 2 * ||logits|| times the plugin's, and Whisper's token logits have a norm near 730. At
mas_lambda 1 that pins every weight within a fraction of one Adam step of its anchor after the
first experience (`scripts/mas_penalty_scale.py` measures it on a checkpoint), so the default
lambda is untuned for Whisper: it gives stability with no plasticity.
"""
from dataclasses import dataclass, field

from avalanche.training.plugins import MASPlugin
from avalanche.training.utils import ParamData, zerolike_params_dict
from torch.utils.data import DataLoader

from benchmark.training.template import pin_memory_for
from strategies import StrategyContext, StrategyParts, register_strategy


@dataclass
class MASConfig:
    mas_lambda: float = field(default=1.0, metadata={"help": "penalty weight"})
    alpha: float = field(default=0.5, metadata={
        "help": "weight of the old importance when blending in a new experience's"})


class DecoderMAS(MASPlugin):
    """MASPlugin whose importance is the gradient of the decoder's token-logit norm."""

    def _get_importance(self, strategy):
        model, crit = strategy.model, strategy._criterion
        importance = dict(zerolike_params_dict(model))
        data = strategy.experience.dataset
        loader = DataLoader(data, batch_size=strategy.train_mb_size, collate_fn=data.collate_fn,
                            pin_memory=pin_memory_for(strategy.device))
        model.train()
        for x, y, _t in loader:
            x, y = x.to(strategy.device), y.to(strategy.device)
            strategy.optimizer.zero_grad()
            logits = crit.decoder_logits(model(x), y).float()  # (B, L-1, V)
            keep = crit.loss_targets(y) != -100
            logits.pow(2).sum(-1)[keep].mean().backward()
            for name, p in model.named_parameters():
                if p.requires_grad and p.grad is not None:
                    importance[name].data += p.grad.abs()
        for imp in importance.values():
            imp.data /= float(len(loader))
        strategy.optimizer.zero_grad()
        return importance


@register_strategy("mas", "memory aware synapses (Avalanche MASPlugin)", MASConfig)
def build(cfg: MASConfig, ctx: StrategyContext) -> StrategyParts:
    plugin = DecoderMAS(lambda_reg=cfg.mas_lambda, alpha=cfg.alpha)

    def extra_state() -> dict:
        # importances + anchor weights: two float tensors per parameter
        tensors = [d.data for d in (plugin.importance or {}).values()]
        tensors += [d.data for d in (plugin.params or {}).values()]
        return {"mas": {"tensors": len(tensors),
                        "bytes": sum(t.numel() * t.element_size() for t in tensors)}}

    def checkpoint() -> dict:  # blended importances and the anchor weights (None before exp 1)
        return {key: {n: d.data for n, d in (getattr(plugin, key) or {}).items()}
                for key in ("importance", "params")}

    def restore(sd: dict) -> None:
        for key in ("importance", "params"):
            setattr(plugin, key, {n: ParamData(n, init_tensor=t) for n, t in sd[key].items()}
                    or None)

    return StrategyParts(plugins=[plugin], extra_state=extra_state, checkpoint=checkpoint,
                         restore=restore, resumable=True)

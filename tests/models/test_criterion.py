import torch
from slu_helpers import EXAMPLES, make_x, make_y

from benchmark.models import SLUCriterion


def test_loss_is_finite_and_backpropagates(tiny, tokenizer):
    crit = SLUCriterion(tiny, tokenizer)
    x, y = make_x([150, 120, 90, 60, 150, 80, 70, 110]), make_y(tokenizer, EXAMPLES)
    loss = crit(tiny(x), y)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert set(crit.last) == {"ce", "ctc"} and crit.last["ctc"] > 0
    loss.backward()
    for name in ("subsample.out.weight", "encoder.layers.0.attn.q.weight",
                 "decoder.embed.weight", "decoder.proj.weight", "ctc.weight"):
        grad = dict(tiny.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert list(crit.parameters()) == []  # the model is referenced, not owned


def test_batch_without_asr_rows(tiny, tokenizer):
    crit = SLUCriterion(tiny, tokenizer)
    examples = [e for e in EXAMPLES if e[0] != "asr"]
    loss = crit(tiny(make_x([100] * len(examples))), make_y(tokenizer, examples))
    assert torch.isfinite(loss) and crit.last["ctc"] == 0
    loss.backward()
    assert tiny.ctc.weight.grad is None or tiny.ctc.weight.grad.abs().sum() == 0


def test_task_token_and_padding_are_not_in_the_loss(tiny, tokenizer):
    crit = SLUCriterion(tiny, tokenizer, ctc_weight=0.0, label_smoothing=0.0)
    y = make_y(tokenizer, [("er", {"label": "sad"}), ("asr", {"text": "go left"})])
    targets = crit.loss_targets(y)
    assert (targets[:, 0] == -100).all()  # position 0 would predict the task token
    assert targets[0].tolist()[:3] == [-100, tokenizer.ids["em:sad"], tokenizer.eos_id]
    assert (targets[0, 3:] == -100).all()  # padding
    # Changing the task token's logit row cannot change the loss: compare with a manual CE.
    enc = tiny(make_x([100, 100]))
    logits = crit.decoder_logits(enc, y)
    keep = targets != -100
    manual = torch.nn.functional.cross_entropy(logits[keep], targets[keep])
    assert torch.allclose(crit(enc, y), manual)


def test_decoder_logits_with_another_model(tiny, tokenizer):
    import copy

    crit = SLUCriterion(tiny, tokenizer)
    old = copy.deepcopy(tiny)
    y = make_y(tokenizer, EXAMPLES[:2])
    enc = tiny(make_x([80, 80]))
    assert crit.decoder_logits(enc, y, model=old).shape == (2, y.size(1) - 1, len(tokenizer))


def test_criterion_holds_no_weights_and_can_be_repointed(tiny, tokenizer):
    import copy

    crit = SLUCriterion(tiny, tokenizer)
    assert len(crit.state_dict()) == 0
    other = copy.deepcopy(tiny)
    crit.set_model(other)
    assert crit.model is other

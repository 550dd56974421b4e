import pytest
import torch
from slu_helpers import make_x

from benchmark.errors import UserError
from benchmark.models import EncoderOutput, build_model
from benchmark.models.frontend import subsampled_lengths


def test_forward_shapes_and_lengths(tiny):
    lengths = [120, 97, 40, 7]
    out = tiny(make_x(lengths))
    assert isinstance(out, EncoderOutput)
    t_out = subsampled_lengths(torch.tensor([120])).item()
    assert out.hidden.shape == (4, t_out, 64)
    assert out.mask.dtype == torch.bool
    assert out.mask.sum(1).tolist() == [((n - 1) // 2 - 1) // 2 for n in lengths]
    # Padding positions are zeroed, so pooling over them is harmless.
    assert out.hidden[~out.mask].abs().max() == 0


def test_extra_padding_does_not_change_valid_outputs(tiny):
    tiny.eval()
    x = make_x([100, 61])
    longer = torch.cat([x, torch.zeros(2, 37, 81)], dim=1)  # pad every row by 37 more frames
    longer[:, 100:, :80] = 7.0  # garbage in padded frames must not matter either
    with torch.no_grad():
        a, b = tiny(x), tiny(longer)
    for row in range(2):
        n = int(a.mask[row].sum())
        assert torch.allclose(a.hidden[row, :n], b.hidden[row, :n], atol=1e-5)


def test_batch_composition_does_not_change_a_row(tiny):
    tiny.eval()
    x = make_x([100, 61])
    with torch.no_grad():
        alone = tiny(x[1:, :61])
        batched = tiny(x)
    n = int(alone.mask[0].sum())
    assert torch.allclose(alone.hidden[0, :n], batched.hidden[1, :n], atol=1e-5)


def test_very_short_input_still_encodes(tiny):
    out = tiny(make_x([3]))
    assert out.mask.sum().item() == 1 and torch.isfinite(out.hidden).all()


def test_cmvn_is_saved_in_state_dict(tokenizer):
    cmvn = (torch.full((80,), -5.0), torch.full((80,), 3.0))
    model = build_model("tiny", len(tokenizer), cmvn=cmvn)
    state = model.state_dict()
    assert torch.equal(state["cmvn.mean"], torch.full((80,), -5.0))
    fresh = build_model("tiny", len(tokenizer))
    fresh.load_state_dict(state)
    assert torch.equal(fresh.cmvn.std, torch.full((80,), 3.0))


def test_specaugment_only_in_training(tiny):
    x = make_x([150, 150])
    assert tiny.config.dropout == 0.0  # so any train-mode randomness is SpecAugment's
    with torch.no_grad():
        tiny.train()
        assert not torch.equal(tiny(x).hidden, tiny(x).hidden)
        tiny.eval()
        assert torch.equal(tiny(x).hidden, tiny(x).hidden)


def test_unknown_size_lists_valid_sizes():
    with pytest.raises(UserError, match="tiny, small, base"):
        build_model("huge", 10)
    with pytest.raises(UserError, match="d_model"):
        build_model("tiny", 10, d_modl=3)

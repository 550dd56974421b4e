"""The model and criterion work the way Avalanche's templates and plugins call them."""
import torch
from avalanche.models.utils import avalanche_forward
from slu_helpers import EXAMPLES, make_x, make_y

from benchmark.models import SLUCriterion


def test_avalanche_forward_then_criterion(tiny, tokenizer):
    x, y = make_x([100, 60, 80, 90, 70, 50, 65, 75]), make_y(tokenizer, EXAMPLES)
    t = torch.tensor([2, 0, 4, 3, 1, 2, 4, 5])
    out = avalanche_forward(tiny, x, t)
    loss = SLUCriterion(tiny, tokenizer)(out, y)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in tiny.decoder.parameters())

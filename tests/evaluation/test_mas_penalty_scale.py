"""scripts/mas_penalty_scale.py on the checkpoint of a real (tiny) mas run: its equilibrium
distance dw* is where Avalanche's own MAS penalty pulls back exactly as hard as the loss
pushes, so the script's factor of 2 and its lambda are the plugin's."""
from types import SimpleNamespace

import pytest
import torch
from script_helpers import load_script, run_keeping_checkpoints

from benchmark.runner import RunRequest
from strategies import StrategyContext, get_strategy


@pytest.fixture(scope="module")
def scale():
    return load_script("mas_penalty_scale")


@pytest.fixture(scope="module")
def mas_checkpoint(quick_corpus, tiny_whisper_dir, tmp_path_factory):
    """A copy of three_task mas's checkpoint after experience 1, with the run's config.json."""
    out = tmp_path_factory.mktemp("mas_scale")
    _run_dir, copies = run_keeping_checkpoints(RunRequest(
        stream="three_task", strategy="mas", profile="quick", out=str(out / "runs"),
        corpus=str(quick_corpus), progress=False,
        overrides=["epochs=1", "max_train_per_subset=16", "max_eval_per_subset=8",
                   f"model=whisper:{tiny_whisper_dir}", "ctc_weight=0", "precision=fp32",
                   "mas_lambda=3.0"]), out / "kept")
    return copies[1]


def test_at_dw_star_the_plugins_penalty_cancels_the_loss_gradient(scale, mas_checkpoint):
    torch.manual_seed(0)
    m = scale.measure(mas_checkpoint, batches=2)
    assert (m.done, m.subsets, m.lam) == (1, ["ic"], 3.0)
    assert m.loss > 0 and m.logit_norm > 0
    steps = m.steps()
    assert steps.numel() == sum(g.numel() for g in m.grad.values())
    assert bool((steps > 0).any())

    # The run's own MAS plugin, restored from the checkpoint, on weights moved dw* = steps * lr
    # from the anchor in the loss's downhill direction
    ck = torch.load(mas_checkpoint, map_location="cpu", weights_only=True)
    info = get_strategy("mas")
    ctx = StrategyContext(model=None, tokenizer=None, stream=None, train=None, device="cpu")
    parts = info.build(info.config(mas_lambda=m.lam), ctx)  # mas reads nothing from ctx
    parts.restore(ck["strategy"])
    plugin = parts.plugins[0]
    params, offset = {}, 0
    for n, g in m.grad.items():
        k = g.numel()
        dw = steps[offset:offset + k].view_as(g).double() * m.lr * -torch.sign(g)
        # in float64: a dw of 1e-9 on a weight of 0.1 would round away in float32
        params[n] = torch.nn.Parameter(plugin.params[n].data.double() + dw)
        offset += k
    strategy = SimpleNamespace(model=SimpleNamespace(named_parameters=lambda: iter(params.items())),
                               clock=SimpleNamespace(train_exp_counter=1),
                               loss=torch.ones(()))  # the loss term itself adds no gradient
    plugin.before_backward(strategy)
    strategy.loss.backward()
    checked = 0
    for n, g in m.grad.items():
        finite = m.omega[n] > 0
        # the penalty's gradient 2 * lambda * Omega * dw is -g there: the two cancel
        assert torch.allclose(params[n].grad[finite], -g[finite].double(), rtol=1e-4, atol=0), n
        checked += int(finite.sum())
    assert checked > 0.5 * steps.numel()

"""strategies/gem.py: the projection is GEM's QP (Avalanche's solve_quadprog gives the same
gradient), reference gradients come from each earlier experience's memory (whole or sampled),
and the memory survives a torch.save / torch.load(weights_only=True) round trip."""
from __future__ import annotations

import io
from types import SimpleNamespace

import torch
from avalanche.training.plugins import GEMPlugin

from strategies.gem import SampledGEM


class TinyClassifier(torch.nn.Module):
    """(B, T, dim + 1) padded features with a validity channel -> (B, classes) logits."""

    def __init__(self, dim: int = 6, classes: int = 3):
        super().__init__()
        self.lin = torch.nn.Linear(dim, classes)
        self.frozen = torch.nn.Linear(dim, classes).requires_grad_(False)

    def forward(self, x):
        valid = x[..., -1:]
        return self.lin((x[..., :-1] * valid).sum(1) / valid.sum(1))


def _criterion(out, y):
    return torch.nn.functional.cross_entropy(out, y[:, 0])


def _strategy(model):
    return SimpleNamespace(model=model, device="cpu", precision="fp32", _criterion=_criterion,
                           optimizer=torch.optim.SGD(model.parameters(), lr=0.1))


def _items(n: int, task: int, seed: int) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(int(torch.randint(3, 9, (1,), generator=g)), 6, generator=g),
             torch.randint(0, 3, (2,), generator=g), task) for _ in range(n)]


def _grad_on(model, items) -> torch.Tensor:
    from benchmark.streams import collate

    model.zero_grad()
    x, y, _t = collate(items)
    _criterion(model(x), y).backward()
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad])


def test_reference_gradients_are_each_memorys_own():
    torch.manual_seed(0)
    model = TinyClassifier()
    gem = SampledGEM(patterns_per_experience=5, memory_strength=0.5, sample_size=0)
    gem.memory = [_items(5, 0, 1), _items(5, 1, 2)]
    gem.before_training_iteration(_strategy(model))
    assert gem.G.shape == (2, sum(p.numel() for p in model.lin.parameters()))  # frozen: none
    for row, items in zip(gem.G, gem.memory):
        assert torch.allclose(row, _grad_on(model, items))

    gem.sample_size = 2  # a fresh random pair of each memory per step, from torch's generator
    torch.manual_seed(7)
    gem.before_training_iteration(_strategy(model))
    torch.manual_seed(7)
    for row, items in zip(gem.G, gem.memory):
        pick = torch.randperm(len(items))[:2]
        assert torch.allclose(row, _grad_on(model, [items[i] for i in pick]))


def test_projection_is_avalanches_quadprog_solution():
    torch.manual_seed(0)
    model = TinyClassifier(dim=40, classes=10)
    gem = SampledGEM(patterns_per_experience=5, memory_strength=0.5, sample_size=0)
    gem.memory = [[], [], []]  # three earlier experiences (their rows are set below)
    gem.params = [p for p in model.parameters() if p.requires_grad]
    n = sum(p.numel() for p in gem.params)
    gem.G = torch.randn(3, n)
    g = -gem.G[0] + 0.1 * torch.randn(n)  # conflicts with experience 0
    assert (gem.G @ g < 0).any()
    for p, part in zip(gem.params, g.split([p.numel() for p in gem.params])):
        p.grad = part.view_as(p).clone()
    gem.after_backward(_strategy(model))
    got = torch.cat([p.grad.flatten() for p in gem.params])

    ref = GEMPlugin(5, 0.5)
    ref.G = gem.G
    want = ref.solve_quadprog(g)  # float64 throughout
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-5)
    # no earlier experience's loss increases, up to the QP's 1e-3 ridge (here -1e-3 for -362)
    assert (gem.G @ got >= -1e-5 * (gem.G @ g).abs().max()).all()


def test_no_projection_without_conflict():
    model = TinyClassifier()
    gem = SampledGEM(5, 0.5, 0)
    gem.memory, gem.params = [[]], [p for p in model.parameters() if p.requires_grad]
    g = torch.randn(sum(p.numel() for p in gem.params))
    gem.G = g[None].clone()
    for p, part in zip(gem.params, g.split([p.numel() for p in gem.params])):
        p.grad = part.view_as(p).clone()
    gem.after_backward(_strategy(model))
    assert torch.equal(torch.cat([p.grad.flatten() for p in gem.params]), g)


def test_memory_checkpoint_round_trip():
    from strategies import StrategyContext, get_strategy

    info = get_strategy("gem")
    parts = info.build(info.config(), StrategyContext(TinyClassifier(), None, None, None, "cpu"))
    plugin = parts.plugins[0]
    plugin.memory = [_items(4, 0, 1), _items(3, 1, 2)]
    buf = io.BytesIO()
    torch.save(parts.checkpoint(), buf)
    buf.seek(0)
    again = info.build(info.config(), StrategyContext(TinyClassifier(), None, None, None, "cpu"))
    again.restore(torch.load(buf, weights_only=True))
    got = again.plugins[0].memory
    assert [len(m) for m in got] == [4, 3]
    for m_got, m_want in zip(got, plugin.memory):
        for a, b in zip(m_got, m_want):
            assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[2] == b[2]
    assert again.extra_state()["gem"]["utterances"] == 7

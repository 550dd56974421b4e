import copy
import io
import math

import pytest
import torch
from torch import nn

from benchmark import masks as M


class Toy(nn.Module):
    """Embedding -> Conv1d -> LayerNorm -> MultiheadAttention -> Linear: every layer kind."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.conv = nn.Conv1d(8, 8, 3, padding=1)
        self.norm = nn.LayerNorm(8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.fc = nn.Linear(8, 4)

    def forward(self, tokens):
        x = self.embed(tokens)
        x = self.conv(x.transpose(1, 2)).transpose(1, 2)
        x = self.norm(x)
        x, _ = self.attn(x, x, x, need_weights=False)
        return self.fc(x)


PRUNABLE = ["conv.weight", "attn.in_proj_weight", "attn.out_proj.weight", "fc.weight"]


def toy(seed=0):
    torch.manual_seed(seed)
    return Toy()


def tokens(seed=1):
    return torch.randint(0, 10, (3, 5), generator=torch.Generator().manual_seed(seed))


def test_prunable_parameters_default_rule_and_flags():
    m = toy()
    assert list(M.prunable_parameters(m)) == PRUNABLE
    every = M.prunable_parameters(m, include_norms=True, include_biases=True,
                                  include_embeddings=True)
    assert list(every) == [n for n, _ in m.named_parameters()]
    assert "norm.weight" in M.prunable_parameters(m, include_norms=True)
    assert "attn.in_proj_bias" in M.prunable_parameters(m, include_biases=True)
    assert "embed.weight" in M.prunable_parameters(m, include_embeddings=True)


def test_magnitude_prune_exact_count_removes_lowest():
    m = toy()
    mask = M.ones_mask(M.prunable_parameters(m))
    n = M.mask_count(mask)
    new = M.magnitude_prune(m, mask, 0.3)
    assert n - M.mask_count(new) == round(0.3 * n)
    params = dict(m.named_parameters())
    kept = torch.cat([params[k].detach().abs()[v] for k, v in new.items()])
    gone = torch.cat([params[k].detach().abs()[~v] for k, v in new.items()])
    assert gone.max() <= kept.min()
    # pruning again removes 30 % of what remains, never restores a weight
    newer = M.magnitude_prune(m, new, 0.3)
    assert M.mask_count(new) - M.mask_count(newer) == math.floor(0.3 * M.mask_count(new) + 0.5)
    assert all(not (newer[k] & ~new[k]).any() for k in new)


def test_global_and_layer_scope_differ():
    m = toy()
    with torch.no_grad():
        m.fc.weight.mul_(100.0)  # fc survives a global threshold entirely
    mask = M.ones_mask(M.prunable_parameters(m))
    g = M.magnitude_prune(m, mask, 0.5, scope="global")
    layer = M.magnitude_prune(m, mask, 0.5, scope="layer")
    assert g["fc.weight"].all()
    for v in layer.values():
        assert (~v).sum() == math.floor(0.5 * v.numel() + 0.5)
    assert any(not torch.equal(g[k], layer[k]) for k in mask)


def test_ties_broken_by_position_and_candidates():
    lin = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        lin.weight.fill_(1.0)
    mask = {"weight": torch.ones(2, 4, dtype=torch.bool)}
    new = M.magnitude_prune(lin, mask, 0.25)
    assert new["weight"].view(-1).tolist() == [False, False] + [True] * 6
    cand = {"weight": torch.tensor([[True, False, True, False], [True, True, True, True]])}
    new = M.magnitude_prune(lin, mask, 0.5, candidates=cand)  # 6 eligible -> 3 removed
    assert not (new["weight"] & ~cand["weight"]).any()
    assert M.mask_count(new) == 3


def test_rounds_for_target():
    assert M.rounds_for_target(0.36) == pytest.approx([0.2, 0.2])
    r = M.rounds_for_target(0.67)
    assert len(r) == 5 and r[:4] == pytest.approx([0.2] * 4)
    assert math.prod(1 - f for f in r) == pytest.approx(0.33)
    assert M.rounds_for_target(0.0) == []
    with pytest.raises(ValueError):
        M.rounds_for_target(1.0)


def _noisy_train_fn(calls):
    gen = torch.Generator().manual_seed(0)

    def train_fn(model, mask):  # "training" = multiplicative noise on the subnetwork
        calls.append(M.mask_count(mask))
        dense = M.materialize(model, mask)
        with torch.no_grad():
            for p in M.prunable_parameters(model).values():
                p.mul_(1 + 0.1 * torch.randn(p.shape, generator=gen))
        M.restore(model, dense, mask)
    return train_fn


@pytest.mark.parametrize("target,rounds", [(0.36, 2), (0.67, 5)])
def test_imp_reaches_target(target, rounds):
    m = toy()
    calls = []
    mask, hist = M.iterative_magnitude_pruning(m, _noisy_train_fn(calls), target)
    total = M.mask_numel(mask)
    assert abs(M.mask_count(mask) - (1 - target) * total) <= 1
    assert [h["stage"] for h in hist] == ["prune"] * rounds + ["finetune"]
    assert len(calls) == rounds + 1 and calls[-1] == M.mask_count(mask)
    assert hist[-2]["sparsity"] == pytest.approx(target, abs=1 / total)
    assert all(h["train_s"] >= 0 for h in hist)


def test_imp_rewind_and_candidates():
    m = toy()
    start = copy.deepcopy(m.state_dict())
    cand = M.ones_mask(M.prunable_parameters(m))
    cand["fc.weight"][:] = False
    mask, hist = M.iterative_magnitude_pruning(m, _noisy_train_fn([]), 0.5, rewind=True,
                                               candidates=cand, finetune=False)
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in start.items())
    assert not mask["fc.weight"].any()
    assert hist[-1]["pruned_of_start"] == pytest.approx(0.5, abs=1e-3)


def test_task_masks_state_dict_roundtrip_bitpacked():
    m = toy()
    tm = M.TaskMasks.for_model(m)
    tm.full("asr")
    tm.set(3, M.magnitude_prune(m, tm.ones(), 0.37))
    buf = io.BytesIO()
    torch.save(tm.state_dict(), buf)
    raw = buf.tell()
    buf.seek(0)
    tm2 = M.TaskMasks.from_state_dict(torch.load(buf, weights_only=True))
    assert tm2.tasks == ["asr", 3] and tm2.names == PRUNABLE
    for t in tm.tasks:
        assert all(torch.equal(tm.get(t)[k], tm2.get(t)[k]) for k in PRUNABLE)
    packed = tm.state_dict()["packed"]
    assert all(p.dtype == torch.uint8 and p.numel() == math.ceil(tm.total / 8) for p in packed)
    assert tm.storage_bits(3) == tm.total
    assert raw < 2 * tm.total / 8 + 4096  # ~1/8 byte per weight per task, plus pickle overhead


def test_overlap_union_exclusive_on_hand_made_masks():
    tm = M.TaskMasks({"w": (8,)})
    a = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0], dtype=torch.bool)
    b = torch.tensor([0, 0, 1, 1, 1, 1, 0, 0], dtype=torch.bool)
    tm.set("a", {"w": a})
    tm.set("b", {"w": b})
    tm.set("c", {"w": torch.zeros(8, dtype=torch.bool)})
    iou = tm.overlap_matrix()
    assert iou.loc["a", "b"] == pytest.approx(2 / 6)  # |{2,3}| / |{0..5}|
    assert iou.loc["a", "a"] == 1.0 and iou.loc["a", "c"] == 0.0
    assert math.isnan(iou.loc["c", "c"])
    assert tm.union(["a", "b"])["w"].tolist() == [True] * 6 + [False] * 2
    assert tm.owned_exclusively("a")["w"].tolist() == [True, True] + [False] * 6
    s = tm.summary()
    assert s.loc["a", "kept"] == 4 and s.loc["b", "exclusive"] == 2
    assert tm.sparsity("a") == 0.5 and tm.nonzero("c") == 0 and "a" in tm


def test_params_used_counts_every_parameter_no_mask_covers_frozen_ones_too():
    # Whisper's token table is frozen and no mask covers it, yet every task's forward uses it
    m = toy()
    m.embed.weight.requires_grad_(False)
    tm = M.TaskMasks.for_model(m)
    tm.set("er", M.magnitude_prune(m, tm.ones(), 0.37))
    total = sum(p.numel() for p in m.parameters())
    pruned = tm.total - tm.nonzero("er")
    assert pruned > 0 and M.params_used(m, tm, "er") == total - pruned
    assert M.params_used(m, tm, "ic") is None  # no mask: the runner counts the whole model


def test_set_validates_names_and_shapes():
    tm = M.TaskMasks({"w": (2, 2)})
    with pytest.raises(KeyError):
        tm.set(0, {"v": torch.ones(2, 2, dtype=torch.bool)})
    with pytest.raises(ValueError):
        tm.set(0, {"w": torch.ones(4, dtype=torch.bool)})


def _adamw_steps(model, mask, update_mask, steps=3, enforce=None):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    for i in range(steps):
        model(tokens(i)).pow(2).mean().backward()
        M.mask_gradients(model, update_mask)
        opt.step()
        opt.zero_grad()
        if enforce is not None:
            M.enforce_view(model, enforce, mask, update_mask)


def test_subnetwork_training_leaves_other_weights_bit_identical():
    m = toy()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    mask = M.magnitude_prune(m, M.ones_mask(M.prunable_parameters(m)), 0.5)
    dense = M.materialize(m, mask)
    _adamw_steps(m, mask, mask)
    params = dict(m.named_parameters())
    for k, v in mask.items():  # fresh optimizer: masked-out weights stay exactly 0
        assert (params[k][~v] == 0).all()
    M.restore(m, dense, mask)
    for k, v in mask.items():
        assert torch.equal(params[k][~v], before[k][~v])
        assert (params[k][v] != before[k][v]).float().mean() > 0.9


def test_update_mask_subset_and_enforce_view():
    m = toy()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    mask = M.ones_mask(M.prunable_parameters(m))
    upd = M.magnitude_prune(m, mask, 0.75)  # only a quarter is trainable
    dense = M.materialize(m, mask)
    _adamw_steps(m, mask, upd)
    params = dict(m.named_parameters())
    drifted = any(not torch.equal(params[k][~v], before[k][~v]) for k, v in upd.items())
    assert drifted  # weight decay moves zero-grad weights during the experience...
    M.restore(m, dense, mask, upd)
    for k, v in upd.items():  # ...but the merge puts them back exactly
        assert torch.equal(params[k][~v], before[k][~v])

    m = toy()
    dense = M.materialize(m, mask)
    _adamw_steps(m, mask, upd, enforce=dense)
    params = dict(m.named_parameters())
    for k, v in upd.items():  # enforce_view keeps them exact during training too
        assert torch.equal(params[k][~v], before[k][~v])


def test_task_view_mha_and_deepcopy():
    m = toy().eval()
    x = tokens()
    ref = m(x)
    sd = {k: v.clone() for k, v in m.state_dict().items()}
    mask = M.ones_mask(M.prunable_parameters(m))
    mask["attn.in_proj_weight"][: 8] = False  # drop the query projection only
    with torch.no_grad(), M.task_view(m, mask):
        assert (m.attn.in_proj_weight[:8] == 0).all()
        out = m(x)
        clone = copy.deepcopy(m)  # plain parameters: deepcopy and state_dict keys unchanged
        assert list(clone.state_dict()) == list(sd)
    assert not torch.allclose(out, ref)
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in sd.items())
    assert torch.equal(m(x), ref)


def test_freeze_unmasked_grads():
    m = toy()
    mask = M.ones_mask(M.prunable_parameters(m))
    m(tokens()).sum().backward()
    M.freeze_unmasked_grads(m, mask)
    for n, p in m.named_parameters():
        assert (p.grad is None) == (n not in mask)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_model_with_cpu_and_cuda_masks():
    m = toy().cuda()
    x = tokens().cuda()
    tm = M.TaskMasks.for_model(m)
    assert tm.device.type == "cuda"
    before = {k: v.clone() for k, v in m.state_dict().items()}
    mask = M.magnitude_prune(m, tm.ones(), 0.4)
    assert M.mask_count(tm.ones()) - M.mask_count(mask) == math.floor(0.4 * tm.total + 0.5)
    cpu_mask = {k: v.cpu() for k, v in mask.items()}
    assert all(torch.equal(cpu_mask[k], v.cpu())
               for k, v in M.magnitude_prune(m, cpu_mask, 0.0).items())
    dense = M.materialize(m, cpu_mask)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-2, weight_decay=0.1)
    for _ in range(2):
        m(x).pow(2).mean().backward()
        M.mask_gradients(m, cpu_mask)
        opt.step()
        opt.zero_grad()
    M.restore(m, dense, mask)
    params = dict(m.named_parameters())
    for k, v in mask.items():
        assert torch.equal(params[k][~v], before[k][~v])
    tm.set("a", mask)
    tm2 = M.TaskMasks.from_state_dict(tm.state_dict(), device="cuda")
    assert all(torch.equal(tm2.get("a")[k], v) for k, v in mask.items())
    mask2, hist = M.iterative_magnitude_pruning(m, lambda model, mk: None, 0.36)
    assert mask2["fc.weight"].device.type == "cuda" and len(hist) == 3

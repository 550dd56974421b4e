"""Every registered strategy's mechanism, shown working (timm style: parametrized over the
registry).

tests/test_strategies.py shows that every strategy runs end to end, but a strategy that does
nothing passes it. Here each strategy has a check in MECHANISM_CHECKS that plain fine-tuning
(naive) would fail: a regulariser's penalty reaches the loss and its importances are non-zero,
replayed utterances are in the minibatches, gradients are projected, masks confine training and
evaluation. A strategy registered without a check fails `test_every_strategy_has_a_check`.

Each check runs the strategy on a small in-memory er -> ic -> asr stream (cl_harness.py: the
quick profile's conformer-tiny, 16 utterances per experience in batches of 8) and reads what
the strategy's plugins did through spy plugins and the plugins' own state; nothing is
re-implemented. A check returns the run it inspected; every strategy but naive must also end
with weights that differ from naive's with the same seed (naive's own check shows that a
second naive run is bit-identical, so that difference is not noise).
"""
from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable

import pytest
import torch
from avalanche.training.plugins import (
    AGEMPlugin,
    EWCPlugin,
    GEMPlugin,
    LwFPlugin,
    MASPlugin,
    ReplayPlugin,
    SynapticIntelligencePlugin,
)
from cl_harness import RunRecord, fingerprint, run_strategy

from benchmark import masks as M
from benchmark.training.masked import SubnetStrategy
from strategies import list_strategies
from strategies.packnet import PackNet

MECHANISM_CHECKS: dict[str, Callable] = {}


def mechanism(name: str):
    def deco(check: Callable) -> Callable:
        MECHANISM_CHECKS[name] = check
        return check

    return deco


# -- helpers ------------------------------------------------------------------------------------
def trained_ids(rec: RunRecord, experience: int) -> Counter:
    """How often each utterance was in a training minibatch of `experience`."""
    return Counter(i for s in rec.steps_of(experience) for i in s.ids)


def train_ids(rec: RunRecord, experiences) -> Counter:
    return Counter(i for e in experiences for i in rec.train[e].ids())


def n_experiences(rec: RunRecord) -> int:
    return len(rec.train)


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def assert_penalty_after_first_experience(rec: RunRecord) -> None:
    """The strategy adds nothing to the loss in experience 0 (nothing to protect yet) and a
    positive, finite term on every later experience's steps but the first. (At an experience's
    first step the weights are still those at the end of the previous one, where a penalty on
    the distance to them is exactly 0, and where LwF's student equals its teacher.)"""
    assert all(s.penalty == 0 for s in rec.steps_of(0)), [s.penalty for s in rec.steps_of(0)]
    for e in range(1, n_experiences(rec)):
        steps = rec.steps_of(e)
        assert len(steps) >= 2
        pens = [s.penalty for s in steps[1:]]
        assert all(math.isfinite(p) and p > 0 for p in pens), (e, pens)


def nonzero_fraction(tensors) -> float:
    tensors = list(tensors)
    return sum(int((t != 0).sum()) for t in tensors) / sum(t.numel() for t in tensors)


def strategy_plugin(strategy, cls):
    return next(p for p in strategy.plugins if isinstance(p, cls))


# -- the checks ---------------------------------------------------------------------------------
@mechanism("naive")
def check_naive(runs) -> RunRecord:
    rec = runs.get("naive")
    for e in range(n_experiences(rec)):
        # each experience trains on its own utterances, each once (epochs=1), and nothing else
        assert trained_ids(rec, e) == train_ids(rec, [e])
        before = rec.initial if e == 0 else rec.weights[e - 1]
        assert not same_weights(before, rec.weights[e])
    assert all(s.penalty == 0 for s in rec.steps)
    # the reference is reproducible: "differs from naive" below is the strategy, not noise
    again = run_strategy("naive")
    assert same_weights(again.weights[-1], rec.weights[-1])
    assert not same_weights(runs.get("joint").weights[-1], rec.weights[-1])
    return rec


@mechanism("joint")
def check_joint(runs) -> RunRecord:
    rec = runs.get("joint")
    for e in range(n_experiences(rec)):
        # experience e trains on the union of experiences 0..e, each utterance once
        assert trained_ids(rec, e) == train_ids(rec, range(e + 1))
    return rec


@mechanism("replay")
def check_replay(runs) -> RunRecord:
    mem = 6  # smaller than one experience (16), so the buffer is a bounded sample

    def buffer_ids(strategy):
        policy = strategy_plugin(strategy, ReplayPlugin).storage_policy
        return {fingerprint(policy.buffer[i][0]) for i in range(len(policy.buffer))}

    rec = run_strategy("replay", [f"mem_size={mem}"], probe=buffer_ids)
    assert trained_ids(rec, 0) == train_ids(rec, [0])
    for e in range(1, n_experiences(rec)):
        current = rec.train[e].ids()
        for step in rec.steps_of(e):
            buffer = step.probe
            assert 0 < len(buffer) <= mem
            assert buffer <= set(train_ids(rec, range(e)))  # the buffer holds past utterances
            old = [i for i in step.ids if i not in current]
            # every minibatch mixes current utterances with replayed ones, all from the buffer
            assert old and len(old) < len(step.ids)
            assert set(old) <= buffer
        # ... and every earlier experience is replayed
        replayed = {i for s in rec.steps_of(e) for i in s.ids if i not in current}
        for past in range(e):
            assert replayed & rec.train[past].ids(), (e, past)
    assert all(s.penalty == 0 for s in rec.steps)
    return rec


@mechanism("ewc")
def check_ewc(runs) -> RunRecord:
    rec = runs.get("ewc")
    plugin = rec.plugin(EWCPlugin)
    assert_penalty_after_first_experience(rec)
    # mode "separate" keeps experience 0's anchor: experience 2 pays from its first step
    assert rec.steps_of(2)[0].penalty > 0
    last = n_experiences(rec) - 1
    for e in range(last + 1):  # mode "separate": one importance and one anchor per experience
        imp = plugin.importances[e]
        assert nonzero_fraction(d.data for d in imp.values()) > 0.5, e
        assert all(float(d.data.min()) >= 0 for d in imp.values())  # squared gradients
        for name, saved in plugin.saved_params[e].items():  # the weights at the experience's end
            assert torch.equal(saved.data, rec.weights[e][name]), (e, name)
    return rec


@mechanism("si")
def check_si(runs) -> RunRecord:
    rec = runs.get("si")
    plugin = rec.plugin(SynapticIntelligencePlugin)
    assert_penalty_after_first_experience(rec)
    anchors, importances = plugin.ewc_data
    assert nonzero_fraction(d.data for d in importances.values()) > 0.5
    final = rec.weights[-1]
    for name, anchor in anchors.items():  # anchored at the end of the last experience
        assert torch.equal(anchor.data, final[name].flatten()), name
    return rec


@mechanism("mas")
def check_mas(runs) -> RunRecord:
    rec = runs.get("mas")
    plugin = rec.plugin(MASPlugin)
    assert_penalty_after_first_experience(rec)
    assert nonzero_fraction(d.data for d in plugin.importance.values()) > 0.5
    assert all(float(d.data.min()) >= 0 for d in plugin.importance.values())  # |gradients|
    final = rec.weights[-1]
    for name, anchor in plugin.params.items():
        assert torch.equal(anchor.data, final[name]), name
    return rec


@mechanism("lwf")
def check_lwf(runs) -> RunRecord:
    rec = runs.get("lwf")
    # distillation against the frozen copy, once the student has left the teacher
    assert_penalty_after_first_experience(rec)
    teacher = rec.plugin(LwFPlugin).lwf.prev_model
    assert teacher is not None and not teacher.training
    final = rec.weights[-1]
    for name, p in teacher.named_parameters():  # a copy of the model at the last experience's end
        assert not p.requires_grad and torch.equal(p, final[name]), name
        assert p.data_ptr() != dict(rec.model.named_parameters())[name].data_ptr()
    return rec


@mechanism("agem")
def check_agem(runs) -> RunRecord:
    def reference(strategy):
        return strategy_plugin(strategy, AGEMPlugin).reference_gradients.clone()

    rec = run_strategy("agem", grads=True, probe=reference)
    for s in rec.steps_of(0):  # no memory yet: the gradient is the loss gradient
        assert torch.equal(s.grad_first, s.grad_last)
    projected = 0
    for e in range(1, n_experiences(rec)):
        for s in rec.steps_of(e):
            ref, raw, out = s.probe, s.grad_first, s.grad_last
            assert ref.shape == raw.shape and float(ref.norm()) > 0  # the memory was used
            if float(raw @ ref) >= 0:
                assert torch.equal(raw, out)  # no conflict with the memory: left alone
            else:
                projected += 1  # conflict: projected onto the plane orthogonal to ref
                assert not torch.equal(raw, out)
                assert abs(float(out @ ref)) <= 1e-4 * float(raw.norm() * ref.norm())
    assert projected > 0
    assert len(rec.plugin(AGEMPlugin).buffers) == n_experiences(rec)
    return rec


@mechanism("gem")
def check_gem(runs) -> RunRecord:
    def constraints(strategy):
        return strategy_plugin(strategy, GEMPlugin).G.clone()

    rec = run_strategy("gem", grads=True, probe=constraints)
    plugin = rec.plugin(GEMPlugin)
    assert len(plugin.memory) == n_experiences(rec)
    for s in rec.steps_of(0):
        assert torch.equal(s.grad_first, s.grad_last)
    projected = 0
    for e in range(1, n_experiences(rec)):
        for s in rec.steps_of(e):
            G, raw, out = s.probe, s.grad_first, s.grad_last
            # one memory gradient per past experience, each non-zero
            assert G.shape == (e, raw.numel()) and bool((G.norm(dim=1) > 0).all())
            if bool((G @ raw >= 0).all()):
                assert torch.equal(raw, out)
            else:
                projected += 1  # the QP's gradient increases no past experience's memory loss
                assert not torch.equal(raw, out)
                tol = 1e-2 * G.norm(dim=1) * out.norm()
                assert bool((G @ out >= -tol).all()), (G @ raw, G @ out)
    assert projected > 0
    return rec


def _masked_training_checks(rec: RunRecord, masks: M.TaskMasks, shared: list[str],
                            update_of: Callable[[int], dict]) -> None:
    """Experiences after the first change masked weights only inside their update mask, and no
    shared (unmasked) parameter; evaluation of a task zeroes the weights outside its mask and
    restores them afterwards."""
    stream = [u.subset for u in rec.train]
    for e in range(1, n_experiences(rec)):
        before, after = rec.weights[e - 1], rec.weights[e]
        update = update_of(e)
        changed_inside = 0
        for name, m in update.items():
            moved = before[name] != after[name]
            assert not bool((moved & ~m).any()), (stream[e], name)
            changed_inside += int((moved & m).sum())
        assert changed_inside > 0, stream[e]
        for name in shared:
            assert torch.equal(before[name], after[name]), (stream[e], name)
    params = dict(rec.model.named_parameters())
    dense = {n: p.detach().clone() for n, p in params.items()}
    masked_away = 0
    for subset in stream:
        mask = masks.get(subset)
        assert M.mask_count(mask) < masks.total  # a real subnetwork, not the whole model
        with rec.parts.eval_context(subset):
            for name, m in mask.items():
                assert torch.equal(params[name].detach(), dense[name] * m), (subset, name)
        assert same_weights({n: p.detach() for n, p in params.items()}, dense)  # restored
        # where the mask hides non-zero weights, the outputs seen at evaluation are the masked
        # model's, not the dense one's
        if any(bool(dense[n][~m].any()) for n, m in mask.items()):
            masked_away += 1
            rec.model.eval()
            with torch.no_grad():
                x, y, _t = rec.test[subset].batch()
                dense_out = rec.template._criterion.decoder_logits(rec.model(x), y)
            rec.model.train()
            assert not torch.equal(rec.outputs(subset), dense_out), subset
    assert masked_away > 0


@mechanism("subnet")
def check_subnet(runs) -> RunRecord:
    rec = runs.get("subnet")
    sub = rec.plugin(SubnetStrategy)
    masks = sub.masks
    stream = [u.subset for u in rec.train]
    assert masks.tasks == stream
    # update="subnet" (the default): a task's experience updates its own mask only
    _masked_training_checks(rec, masks, sub.frozen_names, lambda e: masks.get(stream[e]))
    return rec


@mechanism("packnet")
def check_packnet(runs) -> RunRecord:
    rec = runs.get("packnet")
    pack = rec.plugin(PackNet)
    masks = pack.masks
    stream = [u.subset for u in rec.train]
    # masks are cumulative: each task's mask holds every earlier task's
    for a, b in itertools.pairwise(stream):
        ma, mb = masks.get(a), masks.get(b)
        assert all(bool((ma[n] <= mb[n]).all()) for n in ma)
        assert M.mask_count(mb) > M.mask_count(ma)
    # an experience trains only weights no earlier experience owns (its update mask = free)
    _masked_training_checks(rec, masks, pack.shared,
                            lambda e: M.mask_not(masks.get(stream[e - 1])))
    # after each experience, the weights it released (free, not kept) are exactly 0
    for e, subset in enumerate(stream):
        owned = masks.get(subset)
        for name, m in owned.items():
            assert not bool(rec.weights[e][name][~m].any()), (subset, name)
    return rec


# -- the tests ----------------------------------------------------------------------------------
def test_every_strategy_has_a_check():
    missing = sorted(set(list_strategies()) - set(MECHANISM_CHECKS))
    assert not missing, (f"registered strategies without a mechanism check: {missing}; add a "
                         f"check to MECHANISM_CHECKS in {__file__}")
    stale = sorted(set(MECHANISM_CHECKS) - set(list_strategies()))
    assert not stale, f"mechanism checks of strategies no longer registered: {stale}"


@pytest.mark.parametrize("strategy", list_strategies())
def test_strategy_mechanism(strategy, runs):
    if strategy not in MECHANISM_CHECKS:
        pytest.fail(f"strategy '{strategy}' has no mechanism check in MECHANISM_CHECKS")
    rec = MECHANISM_CHECKS[strategy](runs)
    assert rec.strategy == strategy
    assert all(math.isfinite(s.loss_last) for s in rec.steps)
    if strategy != "naive":
        assert not same_weights(rec.weights[-1], runs.get("naive").weights[-1]), \
            f"{strategy} ends with the same weights as naive (same seed)"

"""`benchmark compress` end to end on the quick corpus: the IMP chain per task and its control."""
from __future__ import annotations

import hashlib
import json

import pytest
import torch

from benchmark.errors import UserError
from benchmark.runner.compression import CompressionRequest, run_compression


@pytest.mark.parametrize("family", ["conformer", "whisper"])
def test_compression_chain_and_dense_control(family, quick_corpus, tiny_whisper_dir, tmp_path):
    logs: list[str] = []
    model = [f"model=whisper:{tiny_whisper_dir}", "ctc_weight=0"] if family == "whisper" else []
    out = run_compression(CompressionRequest(
        stream="three_task", target=0.36, per_round=0.2, profile="quick", out=str(tmp_path),
        corpus=str(quick_corpus), overrides=["epochs=1", "max_eval_per_subset=24", *model],
        progress=False), log=logs.append)
    res = json.loads((out / "compression.json").read_text())
    assert set(res) == {"er"}  # the tasks of experience 0 (adaptation's has er, ic and asr)
    r = res["er"]
    s = r["sparsity"]
    assert s[0] == 0.0 and s == sorted(s) and abs(s[-1] - 0.36) < 0.01
    assert r["unpruned"] == r["metric"][0] and len(r["metric"]) == len(s) == 3
    assert r["metric_name"] == "accuracy"
    ctrl = r["dense_control"]
    # the control starts from the same unpruned base and gets one epoch per IMP round
    assert ctrl["extra_epochs"] == [0, 1, 2] and ctrl["metric"][0] == r["unpruned"]
    assert all(0 <= m <= 1 for m in r["metric"] + ctrl["metric"])
    assert any("dense control +2 epochs" in m for m in logs)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["request"]["control"] is True and cfg["base_seconds"] > 0
    assert cfg["peak_rss_mib"] > 0
    env = json.loads((out / "environment.json").read_text())  # provenance, like a run's
    assert set(env["code"]) == {"commit", "dirty", "source_sha256", "version"} and env["torch_threads"] >= 1

    # a second study into the same folder is refused before any training, leaving the first
    before = (out / "compression.json").read_bytes()
    with pytest.raises(UserError, match="already holds a compression study; pass --overwrite"):
        run_compression(CompressionRequest(stream="three_task", profile="quick", out=str(out),
                                           corpus=str(quick_corpus), progress=False))
    assert (out / "compression.json").read_bytes() == before


def test_compression_rejects_bad_requests(tmp_path):
    with pytest.raises(UserError, match="target sparsity must be in"):
        run_compression(CompressionRequest(target=1.5, profile="quick", out=str(tmp_path)))


def _without_times(x):
    """A study's numbers without its timings (seconds, prune_s), which no rerun repeats."""
    if isinstance(x, dict):
        return {k: _without_times(v) for k, v in x.items()
                if k != "seconds" and not k.endswith("_s")}
    return [_without_times(v) for v in x] if isinstance(x, list) else x


def _rng_digest() -> str:
    """Python's, numpy's and torch's RNG states in full (a tensor's repr elides its middle)."""
    from benchmark.runner.checkpoint import rng_state

    state = rng_state()
    h = hashlib.sha256(repr(state["python"]).encode())
    h.update(state["torch"].numpy().tobytes())
    h.update(state["numpy"].pop("key").numpy().tobytes())
    h.update(repr(state["numpy"]).encode())
    return h.hexdigest()


def test_an_interrupted_study_resumes_to_the_uninterrupted_result(quick_corpus, tmp_path,
                                                                  monkeypatch):
    from benchmark import masks as M
    from benchmark.runner import compression

    # Each task's chain, as it starts (the RNG state) and as it ends (its pruned weights). The
    # metrics alone would not show a lost RNG state: on 16 eval utterances the quick model
    # scores the same whichever order its 24 training utterances came in.
    chains: list[tuple] = []
    real_imp = M.iterative_magnitude_pruning

    def recording_imp(model, *args, **kwargs):
        rng = _rng_digest()
        out = real_imp(model, *args, **kwargs)
        chains.append((rng, [p.detach().clone() for p in model.parameters()]))
        return out

    monkeypatch.setattr(M, "iterative_magnitude_pruning", recording_imp)

    def study(out, **kw):
        kw = {"target": 0.2, **kw}
        return run_compression(CompressionRequest(
            stream="adaptation", per_round=0.2, profile="quick", out=str(out),
            corpus=str(quick_corpus), progress=False, overrides=[
                "epochs=1", "max_train_per_subset=24", "max_eval_per_subset=16"], **kw),
            log=logs.append)

    logs: list[str] = []
    whole = json.loads((study(tmp_path / "whole") / "compression.json").read_text())
    assert set(whole) == {"er", "ic", "asr"}
    whole_chains = chains[:]
    assert len(whole_chains) == 3 and whole_chains[1][0] != whole_chains[2][0]

    # stopped during the second task's dense control, as a session's end would stop it
    real_control, calls = compression.dense_control, {"n": 0}

    def stop_in_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_control(*args, **kwargs)

    monkeypatch.setattr(compression, "dense_control", stop_in_second)
    part = tmp_path / "part"
    with pytest.raises(KeyboardInterrupt):
        study(part)
    monkeypatch.setattr(compression, "dense_control", real_control)
    assert (part / "progress.pt").exists() and not (part / "compression.json").exists()
    with pytest.raises(UserError, match="unfinished compression study; pass --resume"):
        study(part)
    with pytest.raises(UserError, match="other settings or another version"):
        study(part, resume=True, target=0.36)

    logs.clear()
    chains.clear()
    resumed = json.loads((study(part, resume=True) / "compression.json").read_text())
    assert any("resuming" in m and "base and er done" in m for m in logs), logs
    assert _without_times(resumed) == _without_times(whole)
    # ic and asr start from the RNG state they had uninterrupted, and train to the same weights
    assert [rng for rng, _ in chains] == [rng for rng, _ in whole_chains[1:]]
    for (_, got), (_, want) in zip(chains, whole_chains[1:]):
        assert all(torch.equal(g, w) for g, w in zip(got, want))
    assert not (part / "progress.pt").exists()
    env = json.loads((part / "environment.json").read_text())
    assert [s["from_experience"] for s in env["sessions"]] == [0, 2]  # base, then from ic

"""Provenance: runs record the code that made them, a checkpoint resumes only with the same
code, the reference results/ take runs from a clean tree only, and reports refuse to mix code
revisions, thread counts, precisions, processors or a variant's settings unless asked (and then
say so)."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import benchmark
from benchmark import provenance as P
from benchmark.errors import UserError
from benchmark.reporting import build_report
from benchmark.runner.compression import CompressionRequest, run_compression


def test_source_hash_changes_with_any_source_file(tmp_path, monkeypatch):
    for d in ("benchmark", "strategies"):
        shutil.copytree(P.PACKAGE_ROOT / d, tmp_path / d,
                        ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(P, "PACKAGE_ROOT", tmp_path)
    P.source_sha256.cache_clear()
    try:
        before = P.source_sha256()
        assert len(before) == 64 and before == P.source_sha256.__wrapped__()
        (tmp_path / "strategies" / "naive.py").write_text(
            (tmp_path / "strategies" / "naive.py").read_text() + "\n# edited\n")
        assert P.source_sha256.__wrapped__() != before
    finally:
        P.source_sha256.cache_clear()


def test_resume_fingerprint_includes_the_source(monkeypatch):
    from benchmark.runner.checkpoint import fingerprint

    config = {"run": {"stream": "three_task", "strategy": "naive", "seed": 0,
                      "profile": "quick", "order": None, "overrides": []}, "train": {}}
    a = fingerprint(config)
    monkeypatch.setattr(P, "source_sha256", lambda: "0" * 64)
    assert fingerprint(config) != a


def test_resume_fingerprint_counts_settings_not_the_spelling_of_overrides():
    from benchmark.runner.checkpoint import fingerprint

    def config(overrides, sparsity):
        return {"run": {"stream": "adaptation", "strategy": "subnet", "seed": 0,
                        "profile": "default", "order": None, "overrides": overrides},
                "train": {"threads": 1}, "strategy": {"first_round": "dense",
                                                      "sparsity": sparsity}}

    made = fingerprint(config(["threads=1"], 0.36))
    assert fingerprint(config(["first_round=dense", "threads=1"], 0.36)) == made
    assert fingerprint(config(["threads=1", "sparsity=0.67"], 0.67)) != made


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(cwd)})


def test_reference_results_need_a_clean_tree(tmp_path, monkeypatch):
    (tmp_path / "benchmark").mkdir()
    (tmp_path / "benchmark" / "x.py").write_text("x = 1\n")
    (tmp_path / "results").mkdir()
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "benchmark/x.py")
    _git(tmp_path, "commit", "-qm", "x")
    monkeypatch.setattr(P, "PACKAGE_ROOT", tmp_path)
    P.source_sha256.cache_clear()
    try:
        reference = tmp_path / "results" / "seven_task" / "naive" / "seed0"
        P.check_reference_tree(reference, allow_dirty=False)  # clean: fine
        rev = P.code_revision()
        assert rev["dirty"] is False and len(rev["commit"]) == 40
        (tmp_path / "benchmark" / "x.py").write_text("x = 2\n")
        with pytest.raises(UserError, match="uncommitted changes.*--allow-dirty") as err:
            P.check_reference_tree(reference, allow_dirty=False)
        assert "\n" not in str(err.value)
        P.check_reference_tree(reference, allow_dirty=True)
        P.check_reference_tree(tmp_path / "elsewhere", allow_dirty=False)  # not reference
        # `benchmark compress` refuses too, before it loads any data
        study = tmp_path / "results" / "compression" / "adaptation" / "seed0"
        with pytest.raises(UserError, match="uncommitted changes.*--allow-dirty"):
            run_compression(CompressionRequest(profile="quick", out=str(study),
                                               corpus=str(tmp_path / "no-corpus")))
        assert P.code_revision()["dirty"] is True
        assert P.revision_label(P.code_revision()).endswith(
            "-dirty:" + P.code_revision()["source_sha256"][:8])
    finally:
        P.source_sha256.cache_clear()


def test_runs_record_their_revision_and_reports_refuse_mixing(small_runs, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(small_runs, runs)
    env = json.loads((runs / "three_task/naive/seed0/environment.json").read_text())
    assert set(env["code"]) == {"commit", "dirty", "source_sha256", "version"}
    assert env["code"]["source_sha256"] == P.source_sha256()
    assert env["code"]["version"] == benchmark.__version__
    out = build_report([runs], tmp_path / "r1" / "three_task", log=lambda *a: None)
    assert "Provenance: code" in (out.out / "report.md").read_text()

    # seed 1 of naive "made by other code, at another thread count"
    p = runs / "three_task/naive/seed1/environment.json"
    other = dict(env, code=dict(env["code"], source_sha256="f" * 64, dirty=True))
    p.write_text(json.dumps(other))
    c = runs / "three_task/naive/seed1/config.json"
    cfg = json.loads(c.read_text())
    cfg["train"]["threads"] = 1
    cfg["train"]["lr"] = 0.5
    c.write_text(json.dumps(cfg))
    with pytest.raises(UserError, match="code revisions .*thread counts 1, 2.*train.lr") as err:
        build_report([runs], tmp_path / "r2" / "three_task", log=lambda *a: None)
    assert "--allow-mixed" in str(err.value)
    mixed = build_report([runs], tmp_path / "r3" / "three_task", log=lambda *a: None,
                         allow_mixed=True)
    assert "MIXED PROVENANCE" in (mixed.out / "report.md").read_text()
    assert "Mixed provenance" in (mixed.out / "index.md").read_text()


def test_reports_refuse_runs_of_other_precisions_or_processors(small_runs, tmp_path):
    """A bf16 profile trains in fp32 on a CPU without native bf16, and other processors run other
    kernels: either changes the numbers, so a report refuses to average such runs."""
    from benchmark.environment import SESSION_KEYS

    runs = tmp_path / "runs"
    shutil.copytree(small_runs, runs)
    p = runs / "three_task/naive/seed1/environment.json"
    env = json.loads(p.read_text())
    first = {"from_experience": 0, **{k: env[k] for k in SESSION_KEYS}}
    assert env["sessions"] == [first] and env["precision_used"] == "fp32"  # the quick profile
    build_report([runs], tmp_path / "same" / "three_task", log=lambda *a: None)

    p.write_text(json.dumps(dict(env, precision_used="bf16",
                                 sessions=[dict(first, precision_used="bf16")])))
    with pytest.raises(UserError, match="precisions used bf16, fp32"):
        build_report([runs], tmp_path / "r1" / "three_task", log=lambda *a: None)

    resumed = dict(first, from_experience=1, cpu_capability="OTHER", cpu_native_bf16=True)
    p.write_text(json.dumps(dict(env, sessions=[first, resumed])))
    with pytest.raises(UserError, match="processors .*runs resumed on another processor or "
                                        "precision: .*seed1"):
        build_report([runs], tmp_path / "r2" / "three_task", log=lambda *a: None)
    mixed = build_report([runs], tmp_path / "r3" / "three_task", log=lambda *a: None,
                         allow_mixed=True)
    assert "OTHER CPU (native bf16)" in (mixed.out / "report.md").read_text()


def test_a_run_records_the_variables_that_hold_its_kernels_to_a_lower_isa(monkeypatch):
    """An AVX-512 CPU held to AVX2 kernels reproduces an AVX2 CPU's numbers; the run says so
    (torch reads ATEN_CPU_CAPABILITY at start-up, so here the record alone is checked)."""
    from benchmark.environment import DISPATCH_VARS, SESSION_KEYS, environment

    for v in DISPATCH_VARS:
        monkeypatch.delenv(v, raising=False)
    assert environment("cpu")["dispatch_env"] == {}
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert environment("cpu")["dispatch_env"] == {"ONEDNN_MAX_CPU_ISA": "AVX2"}
    assert "dispatch_env" in SESSION_KEYS  # a resumed run may be held in one session only

"""The committed reference runs come from one code state: the commit results/README.md names,
a clean tree, one thread per run, the default profile and a complete run, trained in fp32 on one
processor kind. A set is made across sessions and lands run by run, so this guards every folder
that is added. The same holds for the bf16 set it replaced (results/ablation_bf16_batch16/, at
its own commit, in bf16) and for a set being made to replace it (results/next_reference/, when
there is one)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

RESULTS = Path(__file__).resolve().parents[2] / "results"
# Folders results/README.md labels as not reference runs, never aggregated: suite 0.1's, and
# ablations made at another commit or precision (each folder's README says how).
# The replaced bf16 set and a next set are checked as sets of their own (SETS).
NOT_REFERENCE = {"ablation_conformer", "quick", "ablation_first_round", "ablation_plasticity",
                 "ablation_ewc_lambda", "ablation_bf16_batch16", "next_reference"}
BF16 = RESULTS / "ablation_bf16_batch16"
NEXT = RESULTS / "next_reference"
_no_next = pytest.mark.skipif(not (NEXT / "README.md").exists(), reason="no next reference set")
FP32_SETS = [pytest.param(RESULTS, id="current"), pytest.param(NEXT, id="next", marks=_no_next)]
SETS = [*FP32_SETS, pytest.param(BF16, id="bf16")]


def reference_commit(root: Path = RESULTS) -> str:
    text = (root / "README.md").read_text()
    found = re.search(r"reference commit is `([0-9a-f]{7,40})`", text)
    assert found, f"{root.relative_to(RESULTS.parent)}/README.md must name the reference commit"
    return found.group(1)


def reference_runs(root: Path = RESULTS) -> list[Path]:
    """Every run folder (one that holds metrics.json) of the set; each must have its
    environment.json, or nothing here could check where it came from."""
    runs = []
    for metrics in root.rglob("metrics.json"):
        if root != RESULTS or metrics.relative_to(RESULTS).parts[0] not in NOT_REFERENCE:
            assert (metrics.parent / "environment.json").is_file(), \
                f"{metrics.parent.relative_to(RESULTS)}: no environment.json (its provenance)"
            runs.append(metrics.parent)
    return sorted(runs)


@pytest.mark.parametrize("root", SETS)
def test_every_reference_run_is_at_the_reference_commit_clean_and_single_threaded(root):
    commit = reference_commit(root)
    for run in reference_runs(root):
        env = json.loads((run / "environment.json").read_text())
        where = run.relative_to(RESULTS)
        assert env["code"]["commit"].startswith(commit), f"{where}: made at another commit"
        assert env["code"]["dirty"] is False, f"{where}: made from a dirty tree"
        for session in env.get("sessions") or [env]:  # a resumed run: each session's own
            assert session["torch_threads"] == 1, f"{where}: threads={session['torch_threads']}"
        config = json.loads((run / "config.json").read_text())
        request = config.get("run") or config["request"]  # a run's, or `benchmark compress`'s
        assert request["profile"] == "default", f"{where}: profile {request['profile']}"
        if (run / "metrics.json").exists():
            assert json.loads((run / "metrics.json").read_text())["complete"], \
                f"{where}: an incomplete run was committed"


@pytest.mark.parametrize("root", SETS)
def test_the_compression_study_is_single_threaded_like_the_runs(root):
    # `benchmark compress` at the bf16 set's commit writes no environment.json: its
    # config.json is the only record of its thread count (the Makefile passes threads=1, as the
    # sweeps do)
    for study in root.glob("compression/*/seed*/compression.json"):
        config = json.loads((study.parent / "config.json").read_text())
        where = study.parent.relative_to(RESULTS)
        assert config["train"]["threads"] == 1, f"{where}: threads={config['train']['threads']}"
        assert config["request"]["profile"] == "default", f"{where}: another profile"


@pytest.mark.parametrize("root", SETS)
def test_the_reference_runs_share_one_source_hash(root):
    hashes = {json.loads((r / "environment.json").read_text())["code"]["source_sha256"]
              for r in reference_runs(root)}
    assert len(hashes) <= 1, f"reference runs from {len(hashes)} different package sources"


@pytest.mark.parametrize("root", FP32_SETS)
def test_the_set_trains_in_fp32_on_one_processor_kind(root):
    # asked for fp32 (the Makefile's REF) and trained so in every session of every run, on
    # AVX2 kernels (scripts/reference_worktree.sh holds an AVX-512 CPU to them)
    for run in reference_runs(root):
        where = run.relative_to(RESULTS)
        config = json.loads((run / "config.json").read_text())
        assert config["train"]["precision"] == "fp32", f"{where}: asked for another precision"
        env = json.loads((run / "environment.json").read_text())
        for session in env.get("sessions") or [env]:
            assert session["precision_used"] == "fp32", f"{where}: trained in another precision"
            assert session["cpu_capability"] == "AVX2", f"{where}: {session['cpu_capability']}"


@pytest.mark.parametrize("root", FP32_SETS)
def test_the_compression_study_is_at_its_named_commit_in_fp32_on_avx2(root):
    # the one exception to the set's commit: df89bee's `compress` cannot resume, and a study
    # takes longer than a session (the README says which commit, and why)
    for study in root.glob("compression/*/seed*/compression.json"):
        where = study.parent.relative_to(RESULTS)
        found = re.search(r"compression commit is `([0-9a-f]{7,40})`",
                          (root / "README.md").read_text())
        assert found, f"{root.relative_to(RESULTS.parent)}/README.md must name the compression commit"
        env = json.loads((study.parent / "environment.json").read_text())
        assert env["code"]["commit"].startswith(found.group(1)), f"{where}: another commit"
        assert env["code"]["dirty"] is False, f"{where}: made from a dirty tree"
        config = json.loads((study.parent / "config.json").read_text())
        assert config["train"]["precision"] == "fp32", f"{where}: asked for another precision"
        for session in env.get("sessions") or [env]:
            assert session["torch_threads"] == 1, f"{where}: threads={session['torch_threads']}"
            assert session["precision_used"] == "fp32", f"{where}: trained in another precision"
            assert session["cpu_capability"] == "AVX2", f"{where}: {session['cpu_capability']}"


@_no_next
def test_the_next_sets_status_table_is_generated_from_its_runs():
    from benchmark.reporting import readme
    stale = readme.main(["--check", "--readme", str(NEXT / "README.md"), "--results", str(NEXT)])
    assert stale == 0, ("results/next_reference/README.md is stale: python -m "
                        "benchmark.reporting.readme --readme results/next_reference/README.md "
                        "--results results/next_reference")
    assert "<!-- generated:runs -->" in (NEXT / "README.md").read_text()


def test_the_aggregate_report_covers_every_committed_reference_run():
    # `make report` is rerun whenever runs land, so the README's tables cannot lag behind them:
    # the summaries are rebuilt here from the runs and must equal the committed ones
    from benchmark.reporting.runs import load_runs
    from benchmark.reporting.tables import summary_csv, summary_frame
    folders = [RESULTS / f for f in ("seven_task", "three_task", "adaptation", "update_exclusive")]
    folders = [f for f in folders if f.is_dir()]
    if not folders:
        return
    runs, skipped = load_runs(folders)
    assert not skipped, f"unfinished or duplicate reference runs: {skipped}"
    for group in sorted({r.group for r in runs}):
        path = RESULTS / "report" / group / "summary.csv"
        assert path.is_file(), f"no {path.relative_to(RESULTS)}: run `make report`"
        committed = pd.read_csv(path, index_col=0)
        rebuilt = summary_csv(summary_frame([r for r in runs if r.group == group]))
        assert list(committed.index) == list(rebuilt.index), f"{group}: run `make report`"
        for col in ("ACC mean", "ACC std", "BWT mean", "forgetting mean", "forgetting std",
                    "wall s mean", "seeds"):
            pd.testing.assert_series_equal(committed[col], rebuilt[col].astype(committed[col].dtype),
                                           check_names=False, rtol=1e-6, obj=f"{group} {col}")

"""The README's results section is generated from the committed results/ and cannot go stale;
the claim verdicts follow their stated rules."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from benchmark.reporting import readme


def test_readme_matches_the_committed_results():
    assert readme.main(["--check"]) == 0, "README.md is stale: python -m benchmark.reporting.readme"


def _study(direction, metric_by_sparsity):
    sparsity = [0.0, 0.2, 0.36, 0.488, 0.59, 0.67]
    metric = [metric_by_sparsity.get(s, 0.5) for s in sparsity]
    return {"direction": direction, "sparsity": sparsity, "metric": metric,
            "unpruned": metric[0]}


def _metrics(R):
    return {"eval_subsets": ["er", "ic", "asr", "asr_new", "ic_new"], "score": {"R": R}}


def test_claim_verdicts_follow_their_rules(tmp_path):
    comp = tmp_path / "compression" / "adaptation" / "seed0"
    comp.mkdir(parents=True)
    study = {"er": _study("higher", {0.0: 0.90, 0.36: 0.905, 0.67: 0.895}),
             "ic": _study("higher", {0.0: 0.80, 0.36: 0.80, 0.67: 0.81}),
             "asr": _study("lower", {0.0: 0.10, 0.36: 0.12, 0.67: 0.20})}
    (comp / "compression.json").write_text(json.dumps(study))
    row = readme.claim_compression(tmp_path)[0]
    assert row.endswith("| holds |") and "er 90.0 -> 90.5 / 89.5" in row
    study["ic"] = _study("higher", {0.0: 0.80, 0.36: 0.78, 0.67: 0.81})  # IC loses 2 points
    (comp / "compression.json").write_text(json.dumps(study))
    assert "partly: ER/IC not kept, ASR most sensitive" in readme.claim_compression(tmp_path)[0]

    steady = [[90, 80, 70, 0, 0], [89.5, 80, 70, 50, 0], [89.5, 80, 69.5, 50, 60]]
    forget = [[90, 80, 70, 0, 0], [40, 30, 70, 50, 0], [10, 80, 20, 50, 60]]
    for folder, R in (("adaptation/subnet", steady), ("update_exclusive/adaptation/subnet",
                                                        steady), ("adaptation/naive", forget)):
        d = tmp_path / folder / "seed0"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps(_metrics(R)))
    row = readme.claim_adaptation(tmp_path)[0]
    assert "subnet: worst -0.5" in row and "naive: worst -50.0" in row
    assert row.endswith("| holds |")
    (tmp_path / "adaptation/subnet/seed0/metrics.json").write_text(json.dumps(_metrics(forget)))
    assert readme.claim_adaptation(tmp_path)[0].endswith(
        "| holds only with update=exclusive (update=subnet costs another task 50.0 points) |")
    # asr_new, learned in step 1, is one of step 2's other tasks
    lost_new = [[90, 80, 70, 0, 0], [89.5, 80, 70, 50, 0], [89.5, 80, 70, 45, 60]]
    (tmp_path / "update_exclusive/adaptation/subnet/seed0/metrics.json").write_text(
        json.dumps(_metrics(lost_new)))
    row = readme.claim_adaptation(tmp_path)[0]
    assert "subnet exclusive: worst -5.0" in row and row.endswith(
        "| does not hold: update=subnet costs another task 50.0 points; update=exclusive costs "
        "another task 5.0 points |")
    # protecting the other tasks by not learning the new data is not adapting: ic_new ends
    # 10 points below naive's 60
    unlearned = [[90, 80, 70, 0, 0], [90, 80, 70, 48, 0], [90, 80, 70, 48, 50]]
    (tmp_path / "update_exclusive/adaptation/subnet/seed0/metrics.json").write_text(
        json.dumps(_metrics(unlearned)))
    row = readme.claim_adaptation(tmp_path)[0]
    assert "subnet exclusive: worst +0.0, mean +0.0, new data learned to asr_new 48.0, " \
           "ic_new 50.0" in row
    assert row.endswith("| does not hold: update=subnet costs another task 50.0 points; "
                        "update=exclusive learns the new data up to 10.0 points below naive |")
    # the rule needs only update=subnet and naive: a failing subnet is said, not hidden
    (tmp_path / "update_exclusive/adaptation/subnet/seed0/metrics.json").unlink()
    assert readme.claim_adaptation(tmp_path)[0].endswith(
        "| does not hold with update=subnet (costs another task 50.0 points; update=exclusive "
        "not run yet) |")
    (tmp_path / "adaptation/naive/seed0/metrics.json").unlink()
    assert readme.claim_adaptation(tmp_path)[0].endswith("| not measured yet |")
    # naive must lose more than subnet: with both steady the claim does not hold
    for folder in ("adaptation/subnet", "adaptation/naive"):
        (tmp_path / folder / "seed0" / "metrics.json").write_text(json.dumps(_metrics(steady)))
    assert readme.claim_adaptation(tmp_path)[0].endswith(
        "| does not hold with update=subnet (naive loses no more; update=exclusive not run "
        "yet) |")
    (tmp_path / "adaptation/naive/seed0/metrics.json").write_text(json.dumps(_metrics(lost_new)))
    assert readme.claim_adaptation(tmp_path)[0].endswith("| holds |")


def test_run_status_has_one_row_per_finished_run_with_its_own_numbers(small_runs):
    text = readme.run_status(small_runs)
    assert "4 finished run(s)" in text and "**three_task**" in text
    for strategy in ("naive", "subnet"):
        for seed in (0, 1):
            m = json.loads((small_runs / "three_task" / strategy / f"seed{seed}" /
                            "metrics.json").read_text())
            s = m["score"]["summary"]
            own = " / ".join(f"{s['plasticity_per_task'][t]:.1f}" for t in m["eval_subsets"])
            final = " / ".join(f"{v:.1f}" for v in m["score"]["R"][-1])
            row = next(ln for ln in text.splitlines() if ln.startswith(f"| {strategy} seed {seed} "))
            assert row.split(" | ")[1:6] == [f"{s['acc']:.1f}", f"{s['bwt']:.1f}",
                                             f"{s['forgetting']:.1f}", own, final], row
    rows = [ln for ln in text.splitlines() if " seed " in ln]
    assert [r.split(" |")[0] for r in rows] == ["| naive seed 0", "| naive seed 1",
                                                "| subnet seed 0", "| subnet seed 1"]


def test_run_status_lists_left_out_runs_and_needs_its_results_folder(small_runs, tmp_path,
                                                                    monkeypatch):
    src = small_runs / "three_task" / "naive" / "seed0"
    shutil.copytree(src, tmp_path / "three_task" / "naive" / "seed0")
    stopped = tmp_path / "three_task" / "naive" / "seed1"
    shutil.copytree(src, stopped)
    m = json.loads((stopped / "metrics.json").read_text())
    m.update(complete=False, incomplete_reason="interrupted by the user")
    (stopped / "metrics.json").write_text(json.dumps(m))
    text = readme.run_status(tmp_path)
    assert text.startswith("1 finished run(s)")
    monkeypatch.chdir(tmp_path)  # as `reference_worktree.sh collect` passes it: relative
    assert readme.run_status(Path(".")) == text
    assert text.endswith("Left out: `three_task/naive/seed1` (incomplete: interrupted by the user)")
    other = tmp_path / "README.md"
    other.write_text("<!-- generated:runs -->\nold\n<!-- /generated:runs -->\n")
    with pytest.raises(SystemExit):  # another README's runs are not results/'s
        readme.main(["--readme", str(other)])
    assert readme.main(["--readme", str(other), "--results", str(tmp_path)]) == 0
    assert readme.run_status(tmp_path) in other.read_text()


def test_claim_compression_with_a_missing_point_or_task_does_not_hold(tmp_path):
    comp = tmp_path / "compression" / "adaptation" / "seed0"
    comp.mkdir(parents=True)
    er = _study("higher", {0.0: 0.90, 0.36: 0.905, 0.67: 0.895})
    er["sparsity"], er["metric"] = er["sparsity"][:3], er["metric"][:3]  # stopped before 67 %
    asr = _study("lower", {0.0: 0.10, 0.36: 0.12, 0.67: 0.20})
    (comp / "compression.json").write_text(json.dumps({"er": er, "asr": asr}))
    row = readme.claim_compression(tmp_path)[0]
    assert "er 90.0 -> 90.5 / –" in row and "ER/IC not kept" in row


def test_the_headline_figure_is_linked_from_the_readmes_own_folder(tmp_path):
    # a README beside results outside the repository (a user's own sweep) links its figure from
    # its own folder; the link used to be taken relative to the repository, and raised
    committed = Path(readme.ROOT) / "results" / "report"
    results = tmp_path / "runs" / "results"
    for part in ("index.md", "seven_task/summary.csv", "seven_task/plots/acc_vs_cost.png"):
        (results / "report" / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(committed / part, results / "report" / part)
    doc = tmp_path / "doc" / "README.md"
    doc.parent.mkdir()
    doc.write_text("# mine\n<!-- generated:headline -->\nold\n<!-- /generated:headline -->\n")
    assert readme.main(["--readme", str(doc), "--results", str(results)]) == 0
    link = doc.read_text().split("](")[1].split(")")[0]
    assert link == "../runs/results/report/seven_task/plots/acc_vs_cost.png"
    assert (doc.parent / link).is_file()
    assert readme.main(["--check", "--readme", str(doc), "--results", str(results)]) == 0


def test_the_headline_measures_what_shared_the_cores_where_the_runs_recorded_it():
    # runs that recorded CPU time give the share of their core they had; older runs keep the
    # lanes the reference sets were made in
    df = pd.DataFrame({"wall s mean": [600.0, 900.0], "cpu/wall mean": [0.97, 0.84]},
                      index=["naive", "subnet"])
    assert readme._wall_time_note(df) == ("Wall time: threads=1 per run; CPU time / wall time "
                                          "0.84-0.97 over the strategies' means (1.00: a run had "
                                          "its core to itself; each run's own is in its "
                                          "report.md).")
    df.loc["subnet", "cpu/wall mean"] = float("nan")
    assert "two runs at a time" in readme._wall_time_note(df)
    assert "two runs at a time" in readme._wall_time_note(df.drop(columns="cpu/wall mean"))

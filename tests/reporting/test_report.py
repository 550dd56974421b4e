"""`benchmark report` over small real runs: numbers equal mean/std of the metrics.json files,
every table and figure is written, incomplete runs are skipped and listed."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.errors import UserError
from benchmark.reporting import build_report, write_run_report
from benchmark.reporting.tables import (
    cpu_per_wall,
    fmt,
    fwt_caveat,
    mean_std_over_seeds,
    negative_score_caveat,
    to_latex,
    to_markdown,
)


def _metrics(root, strategy):
    return [json.loads((root / "three_task" / strategy / f"seed{s}" / "metrics.json").read_text())
            for s in (0, 1)]


@pytest.fixture(scope="module")
def report(small_runs, tmp_path_factory):
    # an --out named after the stream gets the stream's files directly (the sweep's layout)
    out = tmp_path_factory.mktemp("report") / "three_task"
    return build_report([small_runs], out, log=lambda *a: None)


def test_summary_numbers_are_mean_and_std_over_seeds(small_runs, report):
    csv = pd.read_csv(report.out / "summary.csv", index_col=0)
    assert list(csv.index) == ["naive", "subnet"]
    for strategy in ("naive", "subnet"):
        ms = _metrics(small_runs, strategy)
        row = csv.loc[strategy]
        for col, key in (("ACC", "acc"), ("BWT", "bwt"), ("FWT", "fwt"),
                         ("forgetting", "forgetting")):
            vals = np.array([m["score"]["summary"][key] for m in ms])
            assert row[f"{col} mean"] == pytest.approx(vals.mean())
            assert row[f"{col} std"] == pytest.approx(vals.std(ddof=1))
        for subset, metric, label in (("er", "accuracy", "accuracy %"),
                                      ("ic", "accuracy", "accuracy %"), ("asr", "wer", "WER %")):
            vals = np.array([100 * m["per_task"][subset][metric][-1] for m in ms])
            assert row[f"{subset} {label} mean"] == pytest.approx(vals.mean())
            assert row[f"{subset} {label} std"] == pytest.approx(vals.std(ddof=1))
        wall = np.array([m["wall_seconds"]["total"] for m in ms])
        assert row["wall s mean"] == pytest.approx(wall.mean())
        used = np.mean([np.mean(list(m["params"]["used_per_task"][-1].values())) for m in ms])
        assert row["params used/task mean"] == pytest.approx(used)
        assert row["seeds"] == 2
    # the subnet runs keep masks: storage in bits is reported, and fewer parameters per task
    assert csv.loc["subnet", "mask bits mean"] == _metrics(small_runs, "subnet")[0][
        "params"]["extra_state"][-1]["masks"]["bits"]
    assert csv.loc["subnet", "params used/task mean"] < csv.loc["naive", "params used/task mean"]
    # the markdown shows the same numbers as "mean ± std"
    md = (report.out / "summary.md").read_text()
    acc = np.array([m["score"]["summary"]["acc"] for m in _metrics(small_runs, "naive")])
    assert f"{acc.mean():.1f} ± {acc.std(ddof=1):.1f}" in md


def test_matrix_tables_are_mean_and_std_of_R(small_runs, report):
    for strategy in ("naive", "subnet"):
        R = np.array([m["score"]["R"] for m in _metrics(small_runs, strategy)])
        csv = pd.read_csv(report.out / f"R_{strategy}.csv", index_col=0)
        assert list(csv.index) == ["after er", "after ic", "after asr"]
        means = csv[[c for c in csv.columns if c.endswith(" mean")]].to_numpy()
        stds = csv[[c for c in csv.columns if c.endswith(" std")]].to_numpy()
        np.testing.assert_allclose(means, R.mean(axis=0))
        np.testing.assert_allclose(stds, R.std(axis=0, ddof=1))
        assert "asr [100·(1 − WER)] mean" in csv.columns  # the metric is named
        tex = (report.out / f"R_{strategy}.tex").read_text()
        assert r"\begin{tabular}" in tex and r"$\pm$" in tex


def test_every_file_is_written(report):
    out = report.out
    for base in ("summary", "R_naive", "R_subnet"):
        for ext in ("md", "csv", "tex"):
            assert (out / f"{base}.{ext}").stat().st_size > 0
    for fig in ("R_naive", "R_subnet", "task_curves", "forgetting", "mask_iou_subnet",
                "acc_vs_cost"):
        for ext in ("png", "pdf"):
            assert (out / "plots" / f"{fig}.{ext}").stat().st_size > 1000, fig
    text = (out / "report.md").read_text()
    assert "![R heatmap: subnet](plots/R_subnet.png)" in text
    assert (out / "index.md").exists()


def test_mask_accounting_file_and_overlap_plot_without_checkpoints(small_runs, tmp_path):
    import torch

    from benchmark.masks import TaskMasks
    from benchmark.reporting.plots import mask_overlap
    from benchmark.reporting.runs import load_runs

    run_dir = small_runs / "three_task" / "subnet" / "seed0"
    summary = json.loads((run_dir / "masks.json").read_text())
    masks = TaskMasks.from_state_dict(
        torch.load(run_dir / "model.pt", weights_only=True)["strategy"])
    assert summary["tasks"] == ["er", "ic", "asr"]
    assert {t: v["kept"] for t, v in summary["per_task"].items()} == \
        {t: masks.nonzero(t) for t in ("er", "ic", "asr")}
    assert summary["per_task"]["er"]["storage_bits"] == masks.storage_bits("er")
    np.testing.assert_allclose(summary["iou"], masks.overlap_matrix(["er", "ic", "asr"]))
    assert np.diag(summary["iou"]).tolist() == [1.0, 1.0, 1.0]
    assert not (small_runs / "three_task" / "naive" / "seed0" / "masks.json").exists()
    # a fresh clone has no model.pt: the overlap comes from masks.json; a run made before
    # masks.json existed has only model.pt: computed from it. Both give the same numbers.
    src, old = tmp_path / "runs", tmp_path / "old_runs"
    for root, drop in ((src, "model.pt"), (old, "masks.json")):
        shutil.copytree(small_runs / "three_task" / "subnet", root / "three_task" / "subnet")
        for path in root.rglob(drop):
            path.unlink()
    from_json = mask_overlap(load_runs([src])[0])
    from_checkpoint = mask_overlap(load_runs([old])[0])
    pd.testing.assert_frame_equal(from_json[0], from_checkpoint[0])
    pd.testing.assert_frame_equal(from_json[1], from_checkpoint[1])
    assert from_json[2] == pytest.approx(from_checkpoint[2])
    build_report([src], tmp_path / "out", formats=["csv"], log=lambda *a: None)
    assert (tmp_path / "out" / "three_task" / "plots" / "mask_iou_subnet.png").exists()


def test_incomplete_runs_are_skipped_and_listed(small_runs, tmp_path):
    src = tmp_path / "runs"
    shutil.copytree(small_runs, src)
    bad = src / "three_task" / "naive" / "seed1" / "metrics.json"
    m = json.loads(bad.read_text())
    bad.write_text(json.dumps(dict(m, complete=False, incomplete_reason="interrupted by the user")))
    rep = build_report([src / "three_task" / "naive", src / "three_task" / "subnet"],
                       tmp_path / "out", formats=["csv"], log=lambda *a: None)
    assert [(p, why) for p, why in rep.skipped] == [
        (bad.parent.resolve(), "incomplete: interrupted by the user")]
    csv = pd.read_csv(tmp_path / "out" / "three_task" / "summary.csv", index_col=0)
    assert csv.loc["naive", "seeds"] == 1 and csv.loc["subnet", "seeds"] == 2
    seed0 = json.loads((src / "three_task" / "naive" / "seed0" / "metrics.json").read_text())
    assert csv.loc["naive", "ACC mean"] == pytest.approx(seed0["score"]["summary"]["acc"])
    index = (tmp_path / "out" / "index.md").read_text()
    assert "interrupted by the user" in index and str(bad.parent.resolve()) in index
    # only the formats asked for
    assert not (tmp_path / "out" / "three_task" / "summary.md").exists()


def test_no_complete_run_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no complete run"):
        build_report([tmp_path / "empty"], tmp_path / "out", log=lambda *a: None)
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert capsys.readouterr().err.startswith("error: no complete run")


def test_cli_report_and_compression_plot(small_runs, tmp_path):
    # a compression.json in the schema `benchmark compress` writes (values made up for the plot)
    comp = tmp_path / "compression" / "three_task" / "seed0"
    comp.mkdir(parents=True)
    (comp / "compression.json").write_text(json.dumps({"er": {
        "sparsity": [0.0, 0.2, 0.36], "metric": [0.5, 0.5, 0.25], "metric_name": "accuracy",
        "unpruned": 0.5}}))
    out = tmp_path / "rep"
    assert main(["report", str(small_runs), str(tmp_path / "compression"), "--out", str(out),
                 "--format", "md"]) == 0
    assert (out / "three_task" / "plots" / "compression.png").exists()
    assert (out / "three_task" / "summary.md").exists()
    assert not (out / "three_task" / "summary.csv").exists()
    assert main(["report", str(small_runs), "--format", "xls"]) == 2


def test_write_run_report(small_runs, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(small_runs / "three_task" / "subnet" / "seed0", run_dir)
    out = write_run_report(run_dir)
    assert out == run_dir / "report"
    text = (out / "report.md").read_text()
    assert "| after er |" in text and "ACC (score)" in text
    assert (out / "R.png").exists() and (out / "R.pdf").exists()


def test_a_quantity_missing_for_some_seeds_is_shown_missing():
    """Intransigence needs joint's run of the same seed: without it for seed 1, the mean over
    seeds 0-2 is missing, not seeds 0 and 2's mean under "3 seeds"."""
    df = pd.DataFrame({"label": ["subnet"] * 3, "seed": [0, 1, 2], "acc": [50.0, 60.0, 70.0],
                       "intransigence": [1.0, np.nan, 3.0]})
    out = mean_std_over_seeds(df)
    assert out.loc["subnet", ("acc", "mean")] == 60.0 and out.loc["subnet", ("seeds", "n")] == 3
    assert fmt(out.loc["subnet", ("intransigence", "mean")],
               out.loc["subnet", ("intransigence", "std")]) == "–"


def test_cpu_per_wall_is_cpu_time_over_wall_time_of_training_and_evaluation():
    wall = {"train": [5.0, 2.5], "eval": [1.0, 1.5], "total": 10.0}  # total: setup included
    m = {"wall_seconds": wall, "cpu_seconds": {"train": [4.0, 2.0], "eval": [1.0, 1.0]}}
    assert cpu_per_wall(m) == 8.0 / 10.0
    assert cpu_per_wall({"wall_seconds": wall}) is None  # a run made before it was recorded


def test_writers_escape():
    df = pd.DataFrame({"a|b": ["1 ± 2"], "c_%": ["x"]}, index=pd.Index(["r"], name="k"))
    assert "a\\|b" in to_markdown(df)
    tex = to_latex(df)
    assert r"c\_\%" in tex and r"1 $\pm$ 2" in tex


def test_extra_memory_counts_every_strategys_state():
    from benchmark.reporting.runs import (
        REPLAY_BYTES_PER_SECOND,
        extra_memory_bytes,
        extra_state_numbers,
    )
    from benchmark.reporting.tables import extra_state_text

    def summary_row(numbers):
        return pd.Series({(k, "mean"): v for k, v in numbers.items()})

    # agem: a memory of utterances (counted as cached features) plus its reference gradient
    agem = extra_state_numbers({"agem": {"utterances": 10, "seconds": 30.0, "bytes": 4000}})
    assert extra_memory_bytes(agem) == 30.0 * REPLAY_BYTES_PER_SECOND + 4000
    assert extra_state_text(summary_row(agem)) == "agem 10 utts / 30 s + 4.0 kB"
    # gem: the padded memory is already inside its bytes, so seconds are not added again
    gem = extra_state_numbers({"gem": {"utterances": 10, "seconds": 30.0, "bytes": 9000,
                                       "tensors": 3}})
    assert extra_memory_bytes(gem) == 9000
    # importances only (si/mas/lwf/ewc), masks at 1 bit per weight, and nothing at all
    assert extra_memory_bytes(extra_state_numbers({"si": {"bytes": 512, "tensors": 4}})) == 512
    masks = extra_state_numbers({"masks": {"bits": 800, "tasks": 2}})
    assert extra_memory_bytes(masks) == 100
    assert extra_state_text(summary_row(masks)) == "masks 800 bit"
    assert extra_memory_bytes(extra_state_numbers({})) == 0
    assert extra_state_text(summary_row({})) == "none"
    # joint keeps all past data: not a countable extra memory
    joint = extra_state_numbers({"stored_utterances": {"utterances": 1500}})
    assert extra_memory_bytes(joint) is None
    assert extra_state_text(summary_row(joint)) == "all past data (1500 utts)"


def test_fwt_caveat_when_the_untrained_model_scores_below_zero(tmp_path):
    # A committed reference run: the pretrained Whisper, before training, decodes ASR to the
    # length cap (WER ~700 %, score ~-600; -630 in the bf16 set, -616 in the fp32 one), which
    # dominates FWT; the report must say so, with the run's own number.
    committed = Path(__file__).resolve().parents[2] / "results/seven_task/naive/seed0"
    run_dir = tmp_path / "run"
    shutil.copytree(committed, run_dir, ignore=shutil.ignore_patterns("report"))
    text = (write_run_report(run_dir) / "report.md").read_text()
    m = json.loads((run_dir / "metrics.json").read_text())
    asr = m["score"]["baseline"][m["eval_subsets"].index("asr")]
    assert asr < -500, f"this test needs a run whose untrained ASR score is far below zero: {asr}"
    assert "FWT caveat" in text and f"asr {asr:.0f}" in text
    assert fwt_caveat([m]).startswith("FWT caveat: the model before any training scores below "
                                      f"zero on asr {asr:.0f} ")
    m["score"]["baseline"] = [0.0] * len(m["eval_subsets"])
    assert fwt_caveat([m]) is None


def test_score_caveat_when_a_trained_model_scores_below_zero(tmp_path):
    # after training every committed reference score is >= 0; a WER of 145 % (score -45) after
    # the last experience makes that column outweigh the bounded ones, and the report says so
    committed = Path(__file__).resolve().parents[2] / "results/seven_task/naive/seed0"
    run_dir = tmp_path / "run"
    shutil.copytree(committed, run_dir, ignore=shutil.ignore_patterns("report"))
    m = json.loads((run_dir / "metrics.json").read_text())
    assert negative_score_caveat([m]) is None
    assert "Score caveat" not in (write_run_report(run_dir) / "report.md").read_text()
    m["score"]["R"][-1][m["eval_subsets"].index("asr")] = -45.0
    (run_dir / "metrics.json").write_text(json.dumps(m))
    assert negative_score_caveat([m]).startswith("Score caveat: after training, scores fall "
                                                 "below zero on asr -45 ")
    assert "Score caveat" in (write_run_report(run_dir) / "report.md").read_text()


def test_params_used_of_a_masked_run_is_counted_from_its_masks(bf16_set):
    # The reference runs at aebfc7e recorded, for masked strategies, a count that left out the
    # frozen token table; the report counts every parameter less the weights each mask prunes.
    from benchmark.reporting.runs import load_runs

    run_dir = bf16_set / "seven_task" / "subnet" / "seed0"
    (run,), _ = load_runs([run_dir])
    masks = json.loads((run_dir / "masks.json").read_text())["per_task"]
    total = run.metrics["params"]["total"]
    used = run.params_used_per_task()
    for subset, n in used.items():
        assert n == total - (masks[subset]["total"] - masks[subset]["kept"])
    recorded = run.metrics["params"]["used_per_task"][-1]
    assert all(used[s] > recorded[s] for s in used)  # the frozen table is counted now


def test_the_index_states_the_recipe_the_runs_were_trained_with(small_runs, report):
    # a profile's defaults change between versions (the default's batch went from 16 to 8), so
    # the README's headline, which quotes this line, must say what its runs were trained with
    train = json.loads((small_runs / "three_task" / "naive" / "seed0" / "config.json")
                       .read_text())["train"]
    index = (report.out / "index.md").read_text()
    assert (f"batch {train['batch_size']}, {train['epochs']} epoch(s) per experience, "
            f"trained in {train['precision']}.") in index


def test_the_recipe_joins_values_that_differ_between_runs():
    from benchmark.reporting.runs import Run, recipe

    runs = [Run(Path(f"run{b}"), {}, {"train": {"batch_size": b, "epochs": 1,
                                                 "precision": "fp32"}}) for b in (8, 16)]
    assert recipe(runs) == "batch 16 + 8, 1 epoch(s) per experience, trained in fp32"


def test_the_compression_plot_zooms_to_its_points_within_the_metric_range():
    from benchmark.reporting.plots import _zoom

    lo, hi = _zoom([95.3, 100.0, 99.7, 98.3])  # claim 1's differences are ~1 point
    assert lo < 95.3 and 100.0 < hi <= 100.5 and hi - lo < 10
    lo, hi = _zoom([98.0, 98.3])  # a flat line is still drawn at least 5 points tall
    assert hi - lo >= 5 and lo < 98.0 and 98.3 < hi <= 100.5
    lo, hi = _zoom([1.4, 0.5, 0.9], upper=None)  # WER: no ceiling, no axis below 0
    assert -0.5 < lo < 0.5 and hi >= 5
    lo, hi = _zoom([120.0, 130.0], upper=None)  # WER above 100 (decoding to the length cap)
    assert lo < 120.0 and 130.0 < hi
    lo, hi = _zoom([0.0, 100.0])  # the whole range: both ends within the margin
    assert -6 < lo < 0 and 100 < hi < 106
    assert _zoom([float("nan")]) == (0.0, 100.0)

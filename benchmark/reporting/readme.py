"""The README's results section, generated from the committed reference results.

Every number in the README's "Results at a glance" comes from here, between markers
`<!-- generated:NAME -->` and `<!-- /generated:NAME -->`:
- headline: seven_task, one row per strategy (mean ± std over seeds), from the aggregate report's
  summary.csv, and its ACC-vs-cost figure;
- claims: the paper's claims next to this suite's measurement (compression study, adaptation
  runs, seven_task runs), with a verdict computed by the rules stated in the table.
A set still being made (results/next_reference/README.md) has one more block, `runs`: one row per
finished run (`--readme results/next_reference/README.md --results results/next_reference`).

    python -m benchmark.reporting.readme            # rewrite the blocks of README.md
    python -m benchmark.reporting.readme --check    # exit 1 if a block is stale (a test runs it)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path

import pandas as pd

from benchmark.reporting.runs import load_runs, mixing
from benchmark.reporting.tables import ordered_labels

ROOT = Path(__file__).resolve().parents[2]
SCORE_PTS = "score points (100 x accuracy, 100 x (1 - WER), 100 x entity F1)"


# The seven_task variants that `make results` makes, and their number of seeds; the headline
# says which are not in yet while the set is being made.
SEVEN_TASK_VARIANTS = {**dict.fromkeys(("naive", "ewc", "replay", "subnet",
                                        "subnet (update=exclusive)", "joint", "packnet"), 3),
                       **dict.fromkeys(("lwf", "si", "mas", "agem", "gem"), 1)}


def _pm(row: pd.Series, col: str, digits: int = 1) -> str:
    mean, std = row.get(f"{col} mean"), row.get(f"{col} std")
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if std is None or (isinstance(std, float) and math.isnan(std)) or row.get("seeds", 1) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _wall_time_note(df: pd.DataFrame) -> str:
    """How the wall times were made: measured from the runs' CPU time where they recorded it
    (runs made since it is recorded), else as the reference sets were made: two lanes of one
    thread each."""
    ratio = df["cpu/wall mean"] if "cpu/wall mean" in df else pd.Series(dtype=float)
    if len(ratio) and ratio.notna().all():
        return (f"Wall time: threads=1 per run; CPU time / wall time {ratio.min():.2f}-"
                f"{ratio.max():.2f} over the strategies' means (1.00: a run had its core to "
                "itself; each run's own is in its report.md).")
    return "Wall time: threads=1 per run, two runs at a time on 2 cores."


def headline(results: Path, base: Path = ROOT) -> str:
    """The headline table; its figure is linked relative to `base`, the README's folder."""
    summary = results / "report" / "seven_task" / "summary.csv"
    if not summary.is_file():
        return ("*Not generated yet: no aggregate report of the reference runs "
                "(`results/report/seven_task/summary.csv`; `make results`).*")
    df = pd.read_csv(summary, index_col=0)
    intro = ("**seven_task** (er -> ic -> asr -> scr -> ner -> lid -> acc), default profile "
             "(Whisper tiny.en), mean ± std over seeds. ACC, BWT and forgetting in "
             f"{SCORE_PTS}; higher ACC and BWT, lower forgetting are better.")
    header = ("| strategy | ACC | BWT | forgetting | params used / task | extra state | "
              "wall (min) | seeds |")
    lines = [intro, "", header, "|---|---:|---:|---:|---:|---|---:|---:|"]
    for label, row in df.iterrows():
        used = row.get("params used/task mean")
        wall = row.get("wall s mean")
        lines.append(
            f"| {label} | {_pm(row, 'ACC')} | {_pm(row, 'BWT')} | {_pm(row, 'forgetting')} | "
            f"{used / 1e6:.1f} M | {row.get('extra state', '') or 'none'} | "
            f"{wall / 60:.0f} | {row.get('seed list', row.get('seeds'))} |")
    missing = [v for v in SEVEN_TASK_VARIANTS if v not in df.index]
    short = [f"{label} ({int(row['seeds'])} of {SEVEN_TASK_VARIANTS[label]} seeds)"
             for label, row in df.iterrows()
             if row["seeds"] < SEVEN_TASK_VARIANTS.get(label, 0)]
    if missing or short:
        lines += ["", "**Partial: the reference set is still being made** (`make results`, "
                  "run by run across sessions). Not in yet: "
                  + ", ".join(missing + short) + "."]
    provenance = (results / "report" / "index.md").read_text().splitlines()
    note = next((ln for ln in provenance if ln.startswith(("All runs:", "**Mixed"))), "")
    lines += ["", f"{note} {_wall_time_note(df)}", ""]
    fig = results / "report" / "seven_task" / "plots" / "acc_vs_cost.png"
    if fig.is_file():
        link = Path(os.path.relpath(fig.resolve(), Path(base).resolve())).as_posix()
        lines.append(f"![final ACC vs parameters and extra memory]({link})")
    return "\n".join(lines)


def _metric_at(study: dict, sparsity: float) -> float | None:
    for s, m in zip(study["sparsity"], study["metric"], strict=True):
        if abs(s - sparsity) < 0.01:
            return m
    return None


def _points(study: dict, value: float | None) -> float | None:
    """A metric as score points (100 x accuracy, or 100 x (1 - WER))."""
    if value is None:
        return None
    return 100 * (1 - value) if study["direction"] == "lower" else 100 * value


def claim_compression(results: Path) -> list[str]:
    path = results / "compression" / "adaptation" / "seed0" / "compression.json"
    claim = ("(1) Subnetworks at 36 % and 67 % sparsity keep ER and IC within 1 point of the "
             "unpruned model or better; ASR is the sensitive task")
    if not path.is_file():
        return [f"| {claim} | not measured yet (`benchmark compress --stream adaptation`) | – |"]
    study = json.loads(path.read_text())
    cells, drops = [], {}
    for task in ("er", "ic", "asr"):
        if task not in study:
            continue
        s = study[task]
        base = _points(s, s["unpruned"])
        at = {p: _points(s, _metric_at(s, p)) for p in (0.36, 0.67)}
        drops[task] = {p: (v - base if v is not None else None) for p, v in at.items()}
        cells.append(f"{task} {base:.1f} -> {_point(at[0.36])} / {_point(at[0.67])}")
    # a study without ER, IC or a sparsity point of the claim does not show that they keep
    keeps = all(d is not None and d >= -1 for t in ("er", "ic")
                for d in drops.get(t, {None: None}).values())
    asr_worst = min((d for d in drops.get("asr", {}).values() if d is not None), default=None)
    others_worst = min((d for t in ("er", "ic") for d in drops.get(t, {}).values()
                        if d is not None), default=None)
    sensitive = asr_worst is not None and others_worst is not None and asr_worst < others_worst
    verdict = ("holds" if keeps and sensitive else
               "partly: " + ("ER/IC kept" if keeps else "ER/IC not kept") + ", " +
               ("ASR most sensitive" if sensitive else "ASR not the most sensitive"))
    return [f"| {claim} | score, unpruned -> 36 % / 67 %: {'; '.join(cells)} | {verdict} |"]


def _row(metrics: dict, i: int, subset: str) -> float:
    return metrics["score"]["R"][i][metrics["eval_subsets"].index(subset)]


def claim_adaptation(results: Path) -> list[str]:
    claim = ("(2) Adapting to new ASR data, then new IC data, through the task's subnetwork "
             "costs the other tasks <= 1 point; naive fine-tuning costs much more")
    rows: list[str] = []
    worst: dict[str, float] = {}
    learned: dict[str, tuple[float, float]] = {}
    for label, folder in (("subnet", "adaptation/subnet"),
                          ("subnet exclusive", "update_exclusive/adaptation/subnet"),
                          ("naive", "adaptation/naive")):
        path = results / folder / "seed0" / "metrics.json"
        if not path.is_file():
            rows.append(f"{label}: not run yet")
            continue
        m = json.loads(path.read_text())
        # the other tasks of each adaptation step: asr_new leaves er, ic; ic_new leaves er, asr
        # and asr_new (ASR's new domain, learned in the step before)
        costs = [_row(m, 1, s) - _row(m, 0, s) for s in ("er", "ic")]
        costs += [_row(m, 2, s) - _row(m, 1, s) for s in ("er", "asr", "asr_new")]
        worst[label], mean = min(costs), sum(costs) / len(costs)
        learned[label] = (_row(m, 1, "asr_new"), _row(m, 2, "ic_new"))
        rows.append(f"{label}: worst {worst[label]:+.1f}, mean {mean:+.1f}, new data learned "
                    f"to asr_new {learned[label][0]:.1f}, ic_new {learned[label][1]:.1f}")
    measured = f"change of the other tasks' scores per adaptation step, seed 0: {'; '.join(rows)}"
    return [f"| {claim} | {measured} | {_adaptation_verdict(worst, learned)} |"]


def _adaptation_verdict(worst: dict[str, float], learned: dict[str, tuple[float, float]]) -> str:
    """The rule: no other task loses more than 1 point, naive loses more, and each step's new
    data is learned to within 5 points of naive's score on it (a variant that protects the
    other tasks by not learning has not adapted); first with update=subnet (the paper's),
    then with update=exclusive."""
    def why_not(label: str) -> str | None:
        if worst[label] < -1:
            return f"costs another task {-worst[label]:.1f} points"
        if worst["naive"] >= worst[label]:
            return "naive loses no more"
        gap = max(n - v for v, n in zip(learned[label], learned["naive"], strict=True))
        return f"learns the new data up to {gap:.1f} points below naive" if gap > 5 else None
    if not {"subnet", "naive"} <= worst.keys():
        return "not measured yet"
    subnet = why_not("subnet")
    if subnet is None:
        return "holds"
    if "subnet exclusive" not in worst:
        return f"does not hold with update=subnet ({subnet}; update=exclusive not run yet)"
    exclusive = why_not("subnet exclusive")
    if exclusive is None:
        return f"holds only with update=exclusive (update=subnet {subnet})"
    return f"does not hold: update=subnet {subnet}; update=exclusive {exclusive}"


def claim_seven(results: Path) -> list[str]:
    claim = "(3) The method extends to seven tasks"
    summary = results / "report" / "seven_task" / "summary.csv"
    if not summary.is_file():
        return [f"| {claim} | not measured yet (no aggregate report: `make report`) | – |"]
    df = pd.read_csv(summary, index_col=0)
    have = [s for s in ("subnet", "naive", "joint") if s in df.index]
    cells = [f"{s} ACC {_pm(df.loc[s], 'ACC')}, forgetting {_pm(df.loc[s], 'forgetting')}"
             for s in have]
    if not {"subnet", "naive"} <= set(have):
        return [f"| {claim} | {'; '.join(cells)} | not measured yet |"]
    better = (df.loc["subnet", "forgetting mean"] < df.loc["naive", "forgetting mean"]
              and df.loc["subnet", "ACC mean"] > df.loc["naive", "ACC mean"])
    verdict = "holds against naive" if better else "does not hold against naive"
    return [f"| {claim} | seven_task: {'; '.join(cells)} | {verdict} |"]


def claims(results: Path) -> str:
    header = ("| paper's claim | this suite's measurement (SynthSLU-7, Whisper tiny.en) | "
              "verdict |")
    lines = [header, "|---|---|---|"]
    lines += claim_compression(results) + claim_adaptation(results) + claim_seven(results)
    rules = ("Verdict rules: (1) ER and IC lose at most 1 score point at both sparsities, "
             "and ASR's worst change is below theirs (it loses the most, or gains the "
             "least); (2) no other task loses more than 1 point in either "
             "adaptation step with update=subnet (else: with update=exclusive), naive "
             "loses more, and the step's new data is learned to within 5 points of naive's "
             "score on it (asr_new after its step, ic_new after its); the other tasks are ER "
             "and IC in the asr_new step, ER, ASR and asr_new in the ic_new step; (3) subnet "
             "ends with higher ACC and lower forgetting than naive.")
    lines += ["", rules]
    return "\n".join(lines)


def _point(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def _scores(values) -> str:
    return " / ".join(map(_point, values))


def run_status(results: Path) -> str:
    """One row per finished run of a set that is still being made (`results/next_reference/`
    README's block): its CL numbers, each task's score right after its own experience and at
    the end, and its wall time. Numbers from each run's metrics.json; runs left out
    (unfinished, unreadable, duplicates) and any mixing of code or settings are listed."""
    runs, skipped = load_runs([results])
    lines = [(f"{len(runs)} finished run(s), in {SCORE_PTS}. The final row is the last row "
              "of the run's score matrix R."), ""]
    header = ("| run | ACC | BWT | forgetting | right after its own experience | final row "
              "| wall |")
    for group in sorted({r.group for r in runs}):
        members = [r for r in runs if r.group == group]
        lines += [f"**{group}** (tasks {' / '.join(members[0].subsets)})", "", header,
                  "|---|---:|---:|---:|---|---|---:|"]
        order = ordered_labels(r.label for r in members)
        for r in sorted(members, key=lambda r: (order.index(r.label), r.seed)):
            s = r.metrics["score"]["summary"]
            own = [s["plasticity_per_task"].get(t) for t in r.subsets]
            lines.append(f"| {r.label} seed {r.seed} | {_point(s['acc'])} | "
                         f"{_point(s['bwt'])} | {_point(s['forgetting'])} | {_scores(own)} | "
                         f"{_scores(r.R[-1])} | {r.metrics['wall_seconds']['total']:,.0f} s |")
        lines.append("")
    mixed = mixing(runs)
    if mixed:
        lines += ["**Mixed:** " + "; ".join(mixed), ""]
    if skipped:  # load_runs gives resolved paths; `results` may be relative
        lines += ["Left out: " + "; ".join(f"`{p.relative_to(Path(results).resolve())}` ({why})"
                                           for p, why in skipped), ""]
    return "\n".join(lines[:-1])


_MARK = re.compile(r"(<!-- generated:(\w+) -->\n)(.*?)(\n<!-- /generated:\2 -->)", re.DOTALL)


def render(readme_text: str, results: Path, base: Path = ROOT) -> str:
    """`readme_text` with every generated block replaced by its current content; `base` is the
    README's folder, which its links are relative to."""
    blocks = {"headline": lambda: headline(results, base),  # its figure link needs `base`
              "claims": lambda: claims(results),
              "runs": lambda: run_status(results)}
    return _MARK.sub(lambda m: m[1] + blocks[m[2]]() + m[4], readme_text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    ap.add_argument("--readme", default=str(ROOT / "README.md"))
    ap.add_argument("--results", help="the folder of the runs (default: results/, for "
                    "README.md only)")
    args = ap.parse_args(argv)
    if args.results is None:
        if Path(args.readme).resolve() != ROOT / "README.md":
            ap.error("--readme other than README.md needs --results: the folder of its runs")
        args.results = str(ROOT / "results")
    readme = Path(args.readme)
    text = readme.read_text()
    new = render(text, Path(args.results), readme.resolve().parent)
    if args.check:
        if new != text:
            print(f"{readme} is stale: run `python -m benchmark.reporting.readme --readme "
                  f"{args.readme} --results {args.results}`")
            return 1
        return 0
    readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())

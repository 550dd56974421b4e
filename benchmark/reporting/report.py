"""`benchmark report RUN_DIR...`: tables and figures over finished runs, seeds aggregated.

Layout of the output folder (one sub-folder per stream, `<stream>-<profile>` when a report
mixes profiles):
  index.md                       the streams reported and every run left out, with the reason
  <stream>/report.md             everything below in one page (tables inline, figures linked)
  <stream>/summary.{md,csv,tex}  one row per strategy: CL metrics, final task metrics, parameters
  <stream>/R_<strategy>.{md,csv,tex}   the score matrix, mean ± std over seeds
  <stream>/plots/*.png|pdf       R heatmaps, per-task curves, forgetting bars, mask IoU, ACC vs cost,
                                 and metric vs sparsity when compression.json files are found
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.errors import UserError
from benchmark.evaluation.cl_metrics import CONVENTIONS
from benchmark.evaluation.scores import SCORE_DEFINITION
from benchmark.io import atomic_write_text
from benchmark.reporting import plots, tables
from benchmark.reporting.runs import (
    Run,
    check_mixing,
    common_settings,
    joined,
    load_runs,
    mixing,
    recipe,
)

FORMATS = ("md", "csv", "tex")


@dataclass
class Report:
    out: Path
    runs: list[Run]
    skipped: list[tuple[Path, str]]
    files: list[Path] = field(default_factory=list)


def safe_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", label).strip("_")


def parse_formats(text: str) -> list[str]:
    fmts = [f.strip() for f in text.split(",") if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise UserError(f"unknown table format {bad[0] if bad else text!r}; "
                        f"choose from {','.join(FORMATS)}")
    return fmts


def _rel(path: Path, start: Path) -> str:
    return path.relative_to(start).as_posix()


def report_group(group: str, runs: list[Run], out: Path, formats: list[str],
                 compression: list[tuple[str, dict]] | None = None) -> list[Path]:
    """Tables and figures of one stream (group) into `out`; returns the files written."""
    files: list[Path] = []
    settings = common_settings(runs)
    summary = tables.summary_frame(runs)
    labels = list(summary.index)
    by_label = {lab: [r for r in runs if r.label == lab] for lab in labels}
    mixed = mixing(runs)  # only non-empty when the caller allowed mixing
    provenance = (f"MIXED PROVENANCE (--allow-mixed): {'; '.join(mixed)}" if mixed else
                  f"code {runs[0].revision}, threads={runs[0].threads}, trained in "
                  f"{joined(runs[0].precisions_used)} on "
                  f"{joined(runs[0].processors) or 'a processor not recorded'}")
    caption = (f"{group}: mean ± std over seeds ({settings}; {provenance}). ACC in score %, "
               "BWT/FWT/forgetting/intransigence in score points; final task metrics in their "
               "own units.")
    files += tables.write_table(out / "summary", tables.summary_display(summary),
                                tables.summary_csv(summary), formats, caption)
    md = [f"# {group}", "", f"Runs: {len(runs)} ({settings}).", "", f"Provenance: {provenance}.",
          "",
          "## Summary (mean ± std over seeds)", "", tables.to_markdown(
              tables.summary_display(summary)), "",
          (f"Score: {SCORE_DEFINITION}. ACC = mean final score; BWT, FWT, forgetting "
          "(max-based, Chaudhry et al. 2018) and intransigence (I_k = joint R[k][k] − R[k][k], "
          "same stream and seed) are in score points. Final task metrics: accuracy %, WER % "
          "(lower is better), entity F1 %. 'params used/task': nonzero parameters the model "
          "uses for a task after the last experience, mean over tasks. Std: sample std "
          "(ddof=1) over seeds; one seed shows the mean only."), "",
          *([caveat, ""] if (caveat := tables.fwt_caveat([r.metrics for r in runs])) else []),
          *([caveat, ""] if (caveat := tables.negative_score_caveat([r.metrics for r in runs]))
            else []),
          "<details><summary>Metric definitions</summary>", "", "```", CONVENTIONS, "```", "",
          "</details>", "", "## Score matrices R[i][j]", ""]
    plot_dir = out / "plots"
    figures: list[tuple[str, list[Path] | None]] = []
    for lab, rs in by_label.items():
        mean, std, display = tables.matrix_frames(rs)
        numeric = pd.concat({"mean": mean, "std": std}, axis=1).swaplevel(axis=1)
        numeric = numeric[[(c, s) for c in mean.columns for s in ("mean", "std")]]
        numeric.columns = [f"{c} {s}" for c, s in numeric.columns]
        seeds = ",".join(str(r.seed) for r in rs)
        over = f"mean ± std over seeds {seeds}" if len(rs) > 1 else f"seed {seeds} only"
        cap = (f"{group} / {lab}: R[i][j] = score on task j after experience i, {over} "
               "(score %, higher is better)")
        files += tables.write_table(out / f"R_{safe_name(lab)}", display, numeric, formats, cap)
        md += [f"### {lab}", "", cap + ".", "", tables.to_markdown(display), ""]
        figures.append((f"R heatmap: {lab}", plots.plot_matrix(
            rs, f"{group}: {lab}, R[i][j], mean over {len(rs)} seed(s)",
            plot_dir / f"R_{safe_name(lab)}")))
    figures.append(("per-task metric over experiences", plots.plot_task_curves(
        by_label, f"{group}: each task's metric after every experience",
        plot_dir / "task_curves")))
    per_run = tables.per_run_frame(runs)
    subsets = runs[0].subsets
    for c in [f"forgetting:{s}" for s in subsets if f"forgetting:{s}" not in per_run]:
        per_run[c] = np.nan
    figures.append(("forgetting per task", plots.plot_forgetting_bars(
        per_run, subsets, labels, f"{group}: forgetting per task (mean ± std over seeds)",
        plot_dir / "forgetting")))
    for lab in [x for x in labels if x.split(" ")[0] == "subnet"]:
        figures.append((f"mask overlap: {lab}", plots.plot_mask_overlap(
            by_label[lab], f"{group}: {lab}, task-mask overlap (IoU), "
            f"mean over {len(by_label[lab])} seed(s)", plot_dir / f"mask_iou_{safe_name(lab)}")))
    figures.append(("final ACC vs cost", plots.plot_acc_vs_cost(
        summary, f"{group}: final ACC vs parameters and extra memory",
        plot_dir / "acc_vs_cost")))
    if compression:
        figures.append(("task metric vs sparsity (compression study)", plots.plot_compression(
            compression, f"{group}: task subnetworks, metric vs sparsity",
            plot_dir / "compression", order=subsets)))
    md += ["## Figures", ""]
    for title, paths in figures:
        if not paths:
            continue
        files += paths
        png = next(p for p in paths if p.suffix == ".png")
        md += [f"### {title}", "", f"![{title}]({_rel(png, out)})", ""]
    report_md = out / "report.md"
    atomic_write_text(report_md, "\n".join(md))
    return files + [report_md]


def build_report(paths: list[str | Path], out: str | Path,
                 formats: list[str] | tuple[str, ...] = FORMATS, log=print,
                 allow_mixed: bool = False) -> Report:
    """Report every complete run under `paths` into `out` (see the module docstring).
    Incomplete runs are skipped and listed. Raises UserError if no run is complete, or if the
    runs differ in code revision, thread count or a variant's settings (benchmark.reporting.runs
    .mixing) and `allow_mixed` is False."""
    out = Path(out)
    runs, skipped = load_runs(paths)
    mixed = check_mixing(runs, allow_mixed)
    for path, why in skipped:
        log(f"skipped {path}: {why}")
    compression = plots.load_compression(paths)
    if not runs and not compression:
        raise UserError(f"no complete run under {', '.join(map(str, paths))} "
                        f"({len(skipped)} skipped); finish a run with `benchmark run` first")
    report = Report(out, runs, skipped)
    groups = sorted({r.group for r in runs})
    only_comp = sorted(set(compression) - {r.stream for r in runs})
    single = len(groups) + len(only_comp) == 1

    def gdir(g: str) -> Path:
        return out if single and _is_group_dir(out, g) else out / g

    for g in groups:
        members = [r for r in runs if r.group == g]
        report.files += report_group(g, members, gdir(g), list(formats),
                                     compression.get(members[0].stream))
    for stream in only_comp:  # a compression study without runs of its stream
        from benchmark.streams import STREAMS

        order = [s for e in STREAMS.get(stream, []) for s in e]
        paths_ = plots.plot_compression(compression[stream],
                                        f"{stream}: task subnetworks, metric vs sparsity",
                                        gdir(stream) / "plots" / "compression", order=order)
        report.files += paths_ or []
    index = ["# Report", ""]
    if mixed:
        index += [f"**Mixed provenance (allowed with --allow-mixed):** {'; '.join(mixed)}.", ""]
    elif runs:
        line = f"All runs: code {runs[0].revision}, threads={runs[0].threads}; {recipe(runs)}."
        index += [line, ""]
    index += ["| stream | strategies | runs | report |", "|---|---|---:|---|"]
    for g in groups:
        members = [r for r in runs if r.group == g]
        labels = tables.ordered_labels(r.label for r in members)
        link = _rel(gdir(g) / "report.md", out)
        index.append(f"| {g} | {', '.join(labels)} | {len(members)} | [{link}]({link}) |")
    for stream in only_comp:
        link = _rel(gdir(stream) / "plots" / "compression.png", out)
        index.append(f"| {stream} | compression study only | 0 | [{link}]({link}) |")
    index += ["", f"## Runs left out ({len(skipped)})", ""]
    index += [f"- `{p}`: {why}" for p, why in skipped] or ["none"]
    atomic_write_text(out / "index.md", "\n".join(index) + "\n")
    report.files.append(out / "index.md")
    log(f"report: {len(runs)} runs in {len(groups)} stream(s), {len(skipped)} skipped -> {out}")
    return report


def _is_group_dir(out: Path, group: str) -> bool:
    """True when `out` is already named after the group (`--out .../report/three_task`): the
    stream's files then go straight into it instead of a nested `three_task/three_task`."""
    return out.name == group


def _peak_rss(m: dict) -> str:
    rss = [v for v in m.get("peak_rss_mib") or [] if v is not None]
    return f", peak RSS {max(rss):,.0f} MiB" if rss else ""


def _cpu_per_wall(m: dict) -> str:
    ratio = tables.cpu_per_wall(m)
    return "" if ratio is None else f", CPU time / wall time {ratio:.2f}"


def write_run_report(run_dir: str | Path) -> Path:
    """A small report of one run in `run_dir`/report/: report.md (score matrix and CL summary
    as markdown tables) and R.png / R.pdf (the annotated score-matrix heatmap). Works on an
    incomplete run too (the rows written so far, no summary)."""
    run_dir = Path(run_dir)
    mp = run_dir / "metrics.json"
    if not mp.exists():
        raise UserError(f"no metrics.json in {run_dir}; is it a run folder?")
    m = json.loads(mp.read_text())
    out = run_dir / "report"
    run = Run(run_dir, m)
    name = f"{m['stream']}/{m['strategy']}/seed{m['seed']}"
    md = [f"# {name}", "", (f"profile {m.get('profile')}, "
          f"{'complete' if m.get('complete') else 'incomplete: ' + str(m.get('incomplete_reason'))}"
          f", wall time {m['wall_seconds']['total']:.1f} s{_peak_rss(m)}{_cpu_per_wall(m)}"), ""]
    files = [out / "report.md"]
    if run.R:
        partial = Run(run_dir, dict(m, experiences=m["experiences"][: len(run.R)]))
        _, _, display = tables.matrix_frames([partial])
        md += ["## Score matrix R[i][j]", "", f"{SCORE_DEFINITION}.", "",
               tables.to_markdown(display), ""]
        files += plots.plot_matrix([partial], f"{name}: R[i][j]", out / "R")
        md += ["![R](R.png)", ""]
    s = m["score"].get("summary")
    if s:
        rows = {"ACC (score)": s.get("acc"), "BWT (pts)": s.get("bwt"),
                "FWT (pts)": s.get("fwt"), "forgetting (pts, max-based)": s.get("forgetting")}
        df = pd.DataFrame({"value": [tables.fmt(v, float("nan"), 2) if v is not None else "–"
                                     for v in rows.values()]}, index=list(rows))
        df.index.name = "metric"
        md += ["## Continual-learning summary", "", tables.to_markdown(df)]
        if s.get("fwt") is not None and (caveat := tables.fwt_caveat([m])):
            md += ["", caveat]
        if caveat := tables.negative_score_caveat([m]):
            md += ["", caveat]
    atomic_write_text(out / "report.md", "\n".join(md) + "\n")
    return out

"""Tables of a report: numbers per run, mean ± std over seeds, and md / csv / tex writers.

Units. "score" is the matrix R of every run (benchmark.evaluation.scores): 100·accuracy,
100·(1 − WER) or 100·entity F1, higher is better. ACC is a mean final score; BWT, FWT,
forgetting and intransigence are differences of scores in points (definitions in
benchmark.evaluation.cl_metrics.CONVENTIONS; forgetting is max-based, Chaudhry et al. 2018).
Final per-task columns are in each task's own metric: accuracy %, WER % (lower is better),
entity F1 %. Aggregation over seeds: mean and sample standard deviation (ddof=1); with one
seed only the mean is shown (std is NaN in the csv).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.evaluation.cl_metrics import intransigence_per_task
from benchmark.evaluation.scores import KINDS
from benchmark.io import atomic_write_text
from benchmark.reporting.runs import (
    Run,
    extra_memory_bytes,
    extra_state_numbers,
    task_kind,
)

STRATEGY_ORDER = ("naive", "ewc", "replay", "subnet", "joint")
CL_COLUMNS = ("ACC", "BWT", "FWT", "forgetting", "intransigence")


def final_metric_column(subset: str) -> str:
    return f"{subset} {KINDS[task_kind(subset)].metric_label}"


def per_task_values(summary_entry: dict, subsets: list[str]) -> dict[str, float | None]:
    """A cl_summary per-task dict keyed by subset name: runs that saved it keyed by column index
    ("0", "1", ...; older runs) are mapped to names; named keys (the runner passes the subset
    names now) are passed through."""
    if all(str(k).isdigit() for k in summary_entry):
        return {subsets[int(k)]: v for k, v in summary_entry.items()}
    return dict(summary_entry)


def _schedule(run: Run) -> dict:
    """The run's resolved training schedule (config.json "train"), without `threads`."""
    return {k: v for k, v in run.config.get("train", {}).items() if k != "threads"}


def joint_for(run: Run, runs: list[Run]) -> Run | None:
    """The `joint` run that is `run`'s reference for intransigence: same group, seed, tasks,
    experiences and training schedule (strategy options may differ), if any."""
    for j in runs:
        if (j.strategy == "joint" and j.group == run.group and j.seed == run.seed
                and j.subsets == run.subsets and j.experiences == run.experiences
                and _schedule(j) == _schedule(run)):
            return j
    return None


def run_numbers(run: Run, runs: list[Run]) -> dict[str, float]:
    """Every number of the summary table for one run (see the module docstring for units)."""
    m = run.metrics
    s = m["score"]["summary"]
    row: dict[str, float] = {"ACC": s.get("acc"), "BWT": s.get("bwt"), "FWT": s.get("fwt"),
                             "forgetting": s.get("forgetting")}
    joint = joint_for(run, runs)
    if joint is not None:
        it = intransigence_per_task(run.R, joint.R, True, m["trained_at"])
        vals = [v for v in it if v is not None]
        row["intransigence"] = float(np.mean(vals)) if vals else None
    for subset, f in per_task_values(s.get("forgetting_per_task", {}), run.subsets).items():
        row[f"forgetting:{subset}"] = f
    for subset in run.subsets:
        key = KINDS[task_kind(subset)].metric
        series = m["per_task"].get(subset, {}).get(key)
        row[final_metric_column(subset)] = 100.0 * series[-1] if series else None
    params = m["params"]
    row["params total"] = params["total"]
    used = run.params_used_per_task()
    row["params used/task"] = float(np.mean(list(used.values()))) if used else None
    extra = extra_state_numbers((params.get("extra_state") or [{}])[-1])
    row.update(extra)
    mem = extra_memory_bytes(extra)
    row["extra memory MB"] = None if mem is None else mem / 1e6
    row["wall s"] = m["wall_seconds"]["total"]
    row["cpu/wall"] = cpu_per_wall(m)
    return {k: (np.nan if v is None else float(v)) for k, v in row.items()}


def cpu_per_wall(m: dict) -> float | None:
    """The run's CPU time over its wall time, train and eval (None for runs made before the
    suite recorded CPU time). About `threads` when the run had its cores to itself, less when
    something else shared them."""
    cpu, wall = m.get("cpu_seconds"), m["wall_seconds"]
    if not cpu:
        return None
    seconds = sum(wall["train"]) + sum(wall["eval"])
    return (sum(cpu["train"]) + sum(cpu["eval"])) / seconds if seconds else None


def _order_key(label: str) -> tuple:
    name = label.split(" ")[0]
    return (STRATEGY_ORDER.index(name) if name in STRATEGY_ORDER else len(STRATEGY_ORDER), label)


def ordered_labels(labels) -> list[str]:
    return sorted(set(labels), key=_order_key)


def per_run_frame(runs: list[Run]) -> pd.DataFrame:
    """One row per run: group, label, seed, path and every number of `run_numbers`."""
    rows = [{"group": r.group, "label": r.label, "seed": r.seed, "path": str(r.path),
             **run_numbers(r, runs)} for r in runs]
    return pd.DataFrame(rows)


def summary_frame(runs: list[Run]) -> pd.DataFrame:
    """Mean and std over seeds for one group: index = variant label, columns = a MultiIndex
    (quantity, "mean" | "std"), plus ("seeds", "n")."""
    return mean_std_over_seeds(per_run_frame(runs).drop(columns=["group", "path"]))


def mean_std_over_seeds(df: pd.DataFrame) -> pd.DataFrame:
    """`summary_frame` of a per-run frame (label, seed and numeric columns)."""
    numeric = df.drop(columns=["seed"])
    g = numeric.groupby("label", sort=False)
    # skipna=False: a quantity missing for some seeds (intransigence without joint runs of those
    # seeds) is shown as missing, not as the mean of the others under the full seed count
    out = pd.concat({"mean": g.mean(skipna=False), "std": g.std(ddof=1, skipna=False)},
                    axis=1).swaplevel(axis=1)
    cols = [c for c in numeric.columns if c != "label"]
    out = out[[(c, stat) for c in cols for stat in ("mean", "std")]]
    out[("seeds", "n")] = g.size()
    out[("seeds", "list")] = df.groupby("label", sort=False)["seed"].apply(
        lambda s: ",".join(map(str, sorted(s))))
    out = out.loc[ordered_labels(out.index)]
    out.index.name = "strategy"
    return out


def fmt(mean: float, std: float, digits: int = 1) -> str:
    """'mean ± std' ('mean' alone with one seed, '–' when missing)."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if std is None or math.isnan(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _si(x: float, unit: str) -> str:
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.1f} {prefix}{unit}"
    return f"{x:.0f} {unit}"


def extra_state_text(row: pd.Series) -> str:
    """The strategy's extra state in words, from the mean numbers of a summary row:
    'replay 500 utts / 1234 s', 'ewc 12.3 MB', 'agem 800 utts / 1630 s + 1.0 MB',
    'masks 0.7 Mbit', 'all past data (1500 utts)'."""
    def get(name):
        v = row.get((name, "mean"), np.nan)
        return None if pd.isna(v) else float(v)

    names = dict.fromkeys(c.rpartition(" ")[0] for c, _ in row.index
                          if c.rpartition(" ")[2] in ("utterances", "seconds", "bytes"))
    parts = []
    for name in names:
        if name in ("stored", "") or all(get(f"{name} {f}") is None
                                         for f in ("utterances", "seconds", "bytes")):
            continue
        pieces = []
        if get(f"{name} utterances") is not None:
            pieces.append(f"{get(f'{name} utterances'):.0f} utts / "
                          f"{get(f'{name} seconds') or 0:.0f} s")
        if get(f"{name} bytes") is not None:
            pieces.append(_si(get(f"{name} bytes"), "B"))
        parts.append(f"{name} {' + '.join(pieces)}")
    if get("mask bits") is not None:
        parts.append(f"masks {_si(get('mask bits'), 'bit')}")
    if get("stored utterances") is not None:
        parts.append(f"all past data ({get('stored utterances'):.0f} utts)")
    return "; ".join(parts) or "none"


def summary_display(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as strings for md / tex: one column per quantity with its unit."""
    present = {c for c, _ in summary.columns}
    cols: dict[str, list[str]] = {}

    def add(title: str, name: str, digits: int = 1) -> None:
        if name in present and summary[(name, "mean")].notna().any():
            cols[title] = [fmt(summary.at[i, (name, "mean")], summary.at[i, (name, "std")],
                               digits) for i in summary.index]

    add("ACC (score)", "ACC")
    add("BWT (pts)", "BWT")
    add("FWT (pts)", "FWT")
    add("forgetting (pts)", "forgetting")
    add("intransigence vs joint (pts)", "intransigence")
    for name in [c for c, _ in summary.columns if c.endswith("%")]:
        cols[f"final {name}"] = [fmt(summary.at[i, (name, "mean")],
                                     summary.at[i, (name, "std")]) for i in summary.index]
    cols["params total"] = [f"{summary.at[i, ('params total', 'mean')]:,.0f}"
                            for i in summary.index]
    cols["params used/task (mean)"] = [f"{summary.at[i, ('params used/task', 'mean')]:,.0f}"
                                       for i in summary.index]
    cols["extra state"] = [extra_state_text(summary.loc[i]) for i in summary.index]
    add("wall time (s)", "wall s", 0)
    add("CPU time / wall time", "cpu/wall", 2)
    cols["seed ids"] = [str(summary.at[i, ("seeds", "list")]) for i in summary.index]
    return pd.DataFrame(cols, index=summary.index)


def summary_csv(summary: pd.DataFrame) -> pd.DataFrame:
    """Flat numeric columns '<quantity> mean' / '<quantity> std' for the csv."""
    flat = summary.copy()
    flat.columns = [f"{c} {s}" if s in ("mean", "std") else
                    ("seeds" if s == "n" else "seed list") for c, s in summary.columns]
    flat.insert(len(flat.columns) - 2, "extra state",
                [extra_state_text(summary.loc[i]) for i in summary.index])
    return flat


def matrix_frames(runs: list[Run]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """R over the seeds of one variant: (mean, std, display). Rows 'after <experience>',
    columns '<subset> [<score>]'; std is NaN with one seed."""
    stack = np.array([r.R for r in runs], dtype=float)
    ref = runs[0]
    index = ["after " + "+".join(e) for e in ref.experiences]
    columns = [f"{s} [{KINDS[task_kind(s)].score_name}]" for s in ref.subsets]
    mean = pd.DataFrame(stack.mean(axis=0), index=index, columns=columns)
    std = pd.DataFrame(stack.std(axis=0, ddof=1) if len(runs) > 1 else np.full_like(
        stack[0], np.nan), index=index, columns=columns)
    display = pd.DataFrame([[fmt(mean.iat[i, j], std.iat[i, j]) for j in range(mean.shape[1])]
                            for i in range(mean.shape[0])], index=index, columns=columns)
    for f in (mean, std, display):
        f.index.name = "R[i][j]"
    return mean, std, display


# ----------------------------------------------------------------------------------------------
# writers (markdown and LaTeX by hand: pandas' to_markdown needs tabulate, to_latex jinja2)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub pipe table of `df` with its index as the first column."""
    def cell(x) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    head = [df.index.name or ""] + [cell(c) for c in df.columns]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] + ["---:"] * len(df.columns)) + "|"]
    for idx, row in df.iterrows():
        lines.append("| " + " | ".join([cell(idx)] + [cell(v) for v in row]) + " |")
    return "\n".join(lines) + "\n"


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
        "±": r"$\pm$", "·": r"$\cdot$", "−": "$-$", "–": "--"}


def tex_escape(s) -> str:
    return "".join(_TEX.get(ch, ch) for ch in str(s))


def to_latex(df: pd.DataFrame, caption: str = "") -> str:
    """A booktabs `tabular` of `df` (index first), in a table float with `caption`."""
    spec = "l" + "r" * len(df.columns)
    rows = [" & ".join([tex_escape(df.index.name or "")] + [tex_escape(c) for c in df.columns])
            + r" \\", r"\midrule"]
    rows += [" & ".join([tex_escape(i)] + [tex_escape(v) for v in r]) + r" \\"
             for i, r in df.iterrows()]
    body = "\n".join([r"\begin{tabular}{" + spec + "}", r"\toprule", *rows, r"\bottomrule",
                      r"\end{tabular}"])
    cap = f"\\caption{{{tex_escape(caption)}}}\n" if caption else ""
    return (f"% needs \\usepackage{{booktabs}}\n\\begin{{table}}[t]\n\\centering\n"
            f"\\resizebox{{\\linewidth}}{{!}}{{%\n{body}}}\n{cap}\\end{{table}}\n")


def write_table(base: Path, display: pd.DataFrame, numeric: pd.DataFrame, formats: list[str],
                caption: str = "") -> list[Path]:
    """Write `base`.md / .tex (from `display`) and .csv (from `numeric`); returns the paths."""
    written = []
    for f in formats:
        path = base.with_suffix(f".{f}")
        if f == "md":
            text = (f"{caption}\n\n" if caption else "") + to_markdown(display)
        elif f == "tex":
            text = to_latex(display, caption)
        elif f == "csv":
            text = numeric.to_csv()
        else:
            raise ValueError(f"unknown table format {f!r}")
        atomic_write_text(path, text)
        written.append(path)
    return written


def _lowest_below_zero(pairs) -> str | None:
    """'subset score, ...' for each subset's lowest score below zero among (subset, score)
    pairs, in first-seen order; None when no score is below zero."""
    lowest: dict[str, float] = {}
    for subset, v in pairs:
        if v is not None and v < 0:
            lowest[subset] = min(lowest.get(subset, v), v)
    return ", ".join(f"{s} {v:.0f}" for s, v in lowest.items()) if lowest else None


def fwt_caveat(metrics: list[dict]) -> str | None:
    """A warning when FWT's reference, the model before any training, scores below zero on a
    task (WER above 100 %). A pretrained Whisper with untrained task tokens decodes ASR to the
    length cap (WER ~730 % measured), so b_asr ~ -630 and FWT, which subtracts b, is dominated by
    that one task whatever the strategy. None when every reference score is >= 0."""
    worst = _lowest_below_zero((subset, b) for m in metrics
                               for subset, b in zip(m["eval_subsets"],
                                                    m["score"].get("baseline") or []))
    if worst is None:
        return None
    return (f"FWT caveat: the model before any training scores below zero on {worst} (lowest "
            "over these runs; WER above 100 %: more words out than spoken, as when decoding runs to "
            "the length cap), and FWT subtracts "
            "that score, so FWT mostly says that earlier training stopped those outputs, not "
            "that knowledge transferred. Compare strategies on ACC, BWT and forgetting.")


def negative_score_caveat(metrics: list[dict]) -> str | None:
    """A warning when a trained model scores below zero on a task (WER above 100 %): the score
    has no floor there, so that one column can outweigh the bounded classification scores in
    ACC, BWT and forgetting. None when every score after training is >= 0."""
    worst = _lowest_below_zero((subset, v) for m in metrics for row in m["score"]["R"]
                               for subset, v in zip(m["eval_subsets"], row))
    if worst is None:
        return None
    return (f"Score caveat: after training, scores fall below zero on {worst} (lowest over "
            "these runs; WER above 100 %). A WER-based score has no floor, so such a column "
            "can weigh more in ACC, BWT and forgetting than a classification task (0-100) can; "
            "read the per-task tables too.")


def summary_table(metrics_path: Path) -> str:
    """The score matrix and the CL summary of one run as text (printed at its end)."""
    m = json.loads(Path(metrics_path).read_text())
    rows = ["after " + "+".join(e) for e in m["experiences"]]
    df = pd.DataFrame(m["score"]["R"], index=rows[: len(m["score"]["R"])],
                      columns=m["eval_subsets"]).round(1)
    s = m["score"]["summary"] or {}
    lines = [f"score matrix R[i][j] ({m['score']['definition']})", df.to_string(), ""]
    for key in ("acc", "bwt", "fwt", "forgetting"):
        if s.get(key) is not None:
            lines.append(f"{key.upper():>10}: {s[key]:.2f}")
    if s.get("fwt") is not None and (caveat := fwt_caveat([m])):
        lines.append(caveat)
    if caveat := negative_score_caveat([m]):
        lines.append(caveat)
    lines.append(f"wall time: {m['wall_seconds']['total']:.1f} s")
    return "\n".join(lines)

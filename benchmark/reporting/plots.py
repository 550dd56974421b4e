"""Figures of a report (matplotlib, Agg backend). Every figure is saved as PNG and PDF.

Units as in benchmark.reporting.tables: the matrix R is in score points (100·accuracy,
100·(1 − WER), 100·entity F1; higher is better), per-task curves in each task's own metric.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from benchmark.errors import UserError
from benchmark.evaluation.scores import KINDS, SCORE_LABEL
from benchmark.io import atomic_write
from benchmark.reporting.runs import Run, task_kind

METRIC_AXIS = {"accuracy": "accuracy (%)", "wer": "WER (%, lower is better)",
               "entity_f1": "entity F1 (%)", "cer": "CER (%, lower is better)",
               "uar": "UAR (%)", "macro_f1": "macro F1 (%)"}


def save(fig, base: Path) -> list[Path]:
    """Write `base`.png (150 dpi) and `base`.pdf, atomically; close the figure."""
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in ("png", "pdf"):
        path = base.with_suffix(f".{ext}")
        # no creation date in the PDF, so an unchanged figure is an unchanged file in git
        meta = {"CreationDate": None} if ext == "pdf" else {}
        atomic_write(path, lambda tmp, ext=ext, meta=meta: fig.savefig(
            tmp, format=ext, dpi=150, bbox_inches="tight", metadata=meta))
        out.append(path)
    plt.close(fig)
    return out


def colors_for(labels: list[str]) -> dict[str, tuple]:
    # tab10 repeats after 10 labels (11 strategies made naive and si the same blue); tab20 then
    cmap = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20")
    return {lab: cmap(i % cmap.N) for i, lab in enumerate(labels)}


# marker and dash per variant, so that lines lying on top of each other stay distinguishable
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
DASHES = ("-", "--", "-.", ":")


def _rotate(labels: list[str]) -> bool:
    return len(labels) > 4 and max(len(str(x)) for x in labels) > 4


def _text_color(rgba) -> str:
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def annotated_heatmap(values: np.ndarray, row_labels: list[str], col_labels: list[str],
                      cbar_label: str, title: str, base: Path, std: np.ndarray | None = None,
                      vmin: float = 0.0, vmax: float = 100.0, digits: int = 1,
                      xlabel: str = "", ylabel: str = "", cmap: str = "viridis") -> list[Path]:
    """A matrix as an annotated heatmap ('mean' or 'mean\\n± std' per cell) with a colorbar."""
    n_r, n_c = values.shape
    fig, ax = plt.subplots(figsize=(1.7 + 1.05 * n_c, 1.2 + 0.75 * n_r), layout="constrained")
    im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    below, above = np.nanmin(values) < vmin, np.nanmax(values) > vmax
    extend = {(True, True): "both", (True, False): "min", (False, True): "max"}.get(
        (bool(below), bool(above)), "neither")
    cb = fig.colorbar(im, ax=ax, shrink=0.9, extend=extend)
    cb.set_label(cbar_label)
    rot = _rotate(col_labels)
    ax.set_xticks(range(n_c), col_labels, rotation=30 if rot else 0,
                  ha="right" if rot else "center")
    ax.set_yticks(range(n_r), row_labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    small = n_c > 5
    for i in range(n_r):
        for j in range(n_c):
            v = values[i, j]
            if np.isnan(v):
                continue
            text = f"{v:.{digits}f}"
            if std is not None and not np.isnan(std[i, j]):
                text += f"\n±{std[i, j]:.{digits}f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8 if small else 9,
                    color=_text_color(im.cmap(im.norm(v))))
    return save(fig, base)


def plot_matrix(runs: list[Run], title: str, base: Path) -> list[Path]:
    """R heatmap of one variant, mean (± std) over its seeds."""
    stack = np.array([r.R for r in runs], dtype=float)
    mean = stack.mean(axis=0)
    std = stack.std(axis=0, ddof=1) if len(runs) > 1 else None
    rows = ["after " + "+".join(e) for e in runs[0].experiences]
    # colours span 0..100; a score below 0 (WER > 100 %) takes the lowest colour and the
    # colorbar gets an arrow, the cell text keeps the true value
    return annotated_heatmap(mean, rows, runs[0].subsets, SCORE_LABEL, title, base, std=std,
                             vmin=0.0, vmax=100.0,
                             xlabel="evaluated task", ylabel="model after training experience")


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 4)
    return math.ceil(n / cols), cols


def plot_task_curves(by_label: dict[str, list[Run]], title: str, base: Path) -> list[Path]:
    """One subplot per task: its own metric after every experience, one line per variant
    (mean over seeds, shaded ± std); a dotted line marks where the task is trained."""
    labels = list(by_label)
    colors = colors_for(labels)
    first = next(iter(by_label.values()))[0]
    subsets = first.subsets
    same_order = all(r.experiences == first.experiences for rs in by_label.values() for r in rs)
    n_exp = len(first.experiences)
    xt = ["+".join(e) for e in first.experiences] if same_order else \
        [str(i + 1) for i in range(n_exp)]
    nr, nc = _grid(len(subsets))
    fig, axes = plt.subplots(nr, nc, figsize=(3.3 * nc, 2.7 * nr + 0.6), squeeze=False,
                             layout="constrained")
    for k, subset in enumerate(subsets):
        ax = axes.flat[k]
        key = KINDS[task_kind(subset)].metric
        top = 0.0
        for n, (lab, rs) in enumerate(by_label.items()):
            if subset not in rs[0].subsets:
                continue
            ys = np.array([[100.0 * v for v in r.metrics["per_task"][subset][key]] for r in rs])
            x = np.arange(ys.shape[1])
            mu = ys.mean(axis=0)
            sd = ys.std(axis=0, ddof=1) if len(rs) > 1 else np.zeros_like(mu)
            top = max(top, float(np.nanmax(mu + sd)))
            ax.plot(x, mu, marker=MARKERS[n % len(MARKERS)], ms=4, mfc="none",
                    ls=DASHES[n % len(DASHES)], color=colors[lab], label=lab)
            if len(rs) > 1:
                ax.fill_between(x, mu - sd, mu + sd, color=colors[lab], alpha=0.15, lw=0)
        if same_order:
            ax.axvline(first.metrics["trained_at"][k], color="grey", ls=":", lw=1)
        # the full percent range, so that tasks and figures compare at a glance
        ax.set_ylim(-3, 103) if key != "wer" else ax.set_ylim(0, 1.05 * max(100.0, top))
        ax.set_title(f"{subset}", fontsize=10)
        ax.set_ylabel(METRIC_AXIS.get(key, key))
        rot = _rotate(xt) or n_exp > 5
        ax.set_xticks(range(n_exp), xt, rotation=45 if rot else 0,
                      ha="right" if rot else "center", fontsize=8)
        ax.set_xlabel("after training on" if same_order else "after experience")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(subsets):]:
        ax.set_visible(False)
    handles, labs = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labs, loc="outside right upper", frameon=False, title="strategy")
    fig.suptitle(title + "\n(mean over seeds, band ± std; dotted line: experience that "
                 "trains the task)", fontsize=10)
    return save(fig, base)


def plot_forgetting_bars(per_run: pd.DataFrame, subsets: list[str], labels: list[str],
                         title: str, base: Path) -> list[Path] | None:
    """Grouped bars: max-based forgetting per task (columns 'forgetting:<subset>' of
    `per_run`), one bar per variant, mean ± std over seeds. None if no task can forget."""
    tasks = [s for s in subsets if per_run[f"forgetting:{s}"].notna().any()]
    if not tasks:
        return None
    colors = colors_for(labels)
    width = 0.8 / len(labels)
    # wider with more bars, but capped: past ~14 in the figure no longer fits a page or screen
    w = min(14.0, max(5.0, 1.0 + 0.35 * len(labels) * len(tasks)))
    fig, ax = plt.subplots(figsize=(w, 3.6 + 0.1 * len(labels)), layout="constrained")
    x = np.arange(len(tasks))
    for i, lab in enumerate(labels):
        sel = per_run[per_run["label"] == lab]
        mu = [sel[f"forgetting:{s}"].mean() for s in tasks]
        sd = [sel[f"forgetting:{s}"].std(ddof=1) if len(sel) > 1 else 0.0 for s in tasks]
        bars = ax.bar(x - 0.4 + width * (i + 0.5), mu, width, yerr=sd, capsize=2,
                      color=colors[lab], label=lab)
        if len(labels) * len(tasks) <= 24:  # values on the bars (a 0 bar is otherwise invisible)
            ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, tasks)
    ax.set_xlabel("task (the last task cannot be forgotten and is left out)")
    ax.set_ylabel("forgetting (score points, > 0 = dropped)\nmax-based, Chaudhry et al. 2018")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="strategy")
    ax.grid(axis="y", alpha=0.3)
    return save(fig, base)


def mask_overlap(runs: list[Run]) -> tuple[pd.DataFrame, pd.DataFrame, dict] | None:
    """Mean (and std) IoU of kept weights between task masks over the subnet `runs`
    (from masks.json or model.pt), and the mean sparsity per task. None if no run has masks."""
    mats, sparsity = [], {}
    for r in runs:
        summary = r.mask_accounting
        if summary is None:
            continue
        tasks = summary["tasks"]
        iou = np.array(summary["iou"], dtype=float)  # None (both masks empty) -> nan
        mats.append(pd.DataFrame(iou, index=tasks, columns=tasks))
        for t in tasks:
            sparsity.setdefault(t, []).append(summary["per_task"][str(t)]["sparsity"])
    if not mats:
        return None
    stack = np.array([m.to_numpy() for m in mats])
    idx = mats[0].index
    std = stack.std(axis=0, ddof=1) if len(mats) > 1 else np.full(stack[0].shape, np.nan)
    return (pd.DataFrame(stack.mean(axis=0), index=idx, columns=idx),
            pd.DataFrame(std, index=idx, columns=idx),
            {t: float(np.mean(v)) for t, v in sparsity.items()})


def plot_mask_overlap(runs: list[Run], title: str, base: Path) -> list[Path] | None:
    res = mask_overlap(runs)
    if res is None:
        return None
    mean, std, sparsity = res
    names = [f"{t}\n({100 * sparsity[t]:.0f}% pruned)" for t in mean.index]
    return annotated_heatmap(mean.to_numpy(), names, names, "IoU of kept weights |A∩B| / |A∪B|",
                             title, base, std=std.to_numpy() if len(runs) > 1 else None,
                             vmin=0.0, vmax=1.0, digits=2, cmap="magma")


def load_compression(paths: list[str | Path]) -> dict[str, list[tuple[str, dict]]]:
    """compression.json files under `paths`, by stream: {stream: [(label, results)]}. Stream
    and seed come from the sibling config.json (request.stream / request.seed), else from the
    folder names (<stream>/seed<N>/compression.json)."""
    out: dict[str, list[tuple[str, dict]]] = {}
    for p in map(Path, paths):
        files = [p] if p.is_file() else sorted(p.rglob("compression.json"))
        for f in files:
            if f.name != "compression.json":
                continue
            try:
                data = json.loads(f.read_text())
                cfg = json.loads((f.parent / "config.json").read_text()) \
                    if (f.parent / "config.json").exists() else {}
            except (OSError, json.JSONDecodeError) as exc:
                raise UserError(f"cannot read {f} or its config.json ({exc}); repair or delete "
                                "that compression study") from exc
            request = cfg.get("request", {}) if isinstance(cfg, dict) else {}
            stream = request.get("stream") or f.parent.parent.name
            label = f"seed {request['seed']}" if "seed" in request else f.parent.name
            out.setdefault(stream, []).append((label, data))
    return out


def plot_compression(results: list[tuple[str, dict]], title: str, base: Path,
                     order: list[str] | None = None) -> list[Path] | None:
    """Task metric vs sparsity: one subplot per task (in `order`, else sorted), one line per
    compression.json, dashed: its unpruned model, dotted: the dense control (the unpruned model
    trained on the task for as many extra epochs as the IMP round). Sparsity = fraction of prunable
    weights removed (benchmark.masks); metrics ×100 in their own units (WER: lower is better)."""
    found = {t for _, r in results for t, v in r.items() if isinstance(v, dict)
             and "sparsity" in v and "metric" in v}
    tasks = [t for t in (order or []) if t in found] + sorted(found - set(order or []))
    if not tasks:
        return None
    nr, nc = _grid(len(tasks))
    fig, axes = plt.subplots(nr, nc, figsize=(3.4 * nc, 2.8 * nr + 0.4), squeeze=False,
                             layout="constrained")
    cmap = plt.get_cmap("tab10")
    for ax, task in zip(axes.flat, tasks):
        name, shown = None, []
        for i, (label, res) in enumerate(results):
            if task not in res:
                continue
            cur = res[task]
            name = cur.get("metric_name", "metric")
            y = 100 * np.asarray(cur["metric"], dtype=float)
            shown += [*y, *([100 * cur["unpruned"]] if cur.get("unpruned") is not None else [])]
            ax.plot(100 * np.asarray(cur["sparsity"]), y, marker=MARKERS[i % len(MARKERS)],
                    ms=4, mfc="none", color=cmap(i % 10), label=label)
            if cur.get("unpruned") is not None:
                ax.axhline(100 * cur["unpruned"], color=cmap(i % 10), ls="--", lw=0.8,
                           label=f"{label}, unpruned")
            ctrl = cur.get("dense_control")
            if ctrl and len(ctrl["metric"]) == len(cur["sparsity"]):
                # drawn at the sparsity of the IMP round with the same number of extra epochs
                yc = 100 * np.asarray(ctrl["metric"], dtype=float)
                shown += list(yc)
                ax.plot(100 * np.asarray(cur["sparsity"]), yc, ls=":", marker="x", ms=4,
                        color=cmap(i % 10), label=f"{label}, dense, same extra epochs")
        ax.set_ylim(*_zoom(shown, None if name in ("wer", "cer") else 100.0))
        ax.set_title(task, fontsize=10)
        ax.set_ylabel(METRIC_AXIS.get(name, f"{name} (×100)"))
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(tasks):]:
        ax.set_visible(False)
    handles, labs = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labs, loc="outside right upper", frameon=False)
    fig.supxlabel("sparsity (% of prunable weights removed, all tasks)", fontsize=10)
    fig.suptitle(title, fontsize=10)
    return save(fig, base)


def _zoom(values: list[float], upper: float | None = 100.0,
          least_span: float = 5.0) -> tuple[float, float]:
    """y-limits around the values, at least `least_span` points tall, slid to stay within the
    metric's range [0, upper] plus a small margin. The paper's claim 1 is about differences of
    about 1 point, which a 0-100 axis draws as one line; the floor keeps a difference of a few
    test utterances from filling the panel."""
    vals = np.asarray(values, dtype=float)
    vals = vals[np.isfinite(vals)]
    if not vals.size:
        return 0.0, 100.0
    mid, half = (vals.max() + vals.min()) / 2, 1.15 * max(vals.max() - vals.min(), least_span) / 2
    lo, hi = mid - half, mid + half
    pad = 0.1 * half
    if upper is not None and hi > upper + pad:
        lo, hi = lo - (hi - upper - pad), upper + pad
    if lo < -pad:
        lo, hi = -pad, hi + (-pad - lo)
    return lo, hi if upper is None else min(hi, upper + pad)


def _merge_close(pts: list[tuple[str, float, float]], ax) -> list[tuple[str, float, float]]:
    """Points that (nearly) coincide share one label 'a, b, c': within 1.5 % of the data range
    in x as the axis scales it (linear or log) and in y."""
    if not pts:
        return []
    xs = ax.xaxis.get_transform().transform(np.array([p[1] for p in pts], dtype=float))
    ys = np.array([p[2] for p in pts])
    dx = max(float(np.ptp(xs)), 1e-12) * 0.015
    dy = max(float(np.ptp(ys)), 1e-12) * 0.015
    groups: list[list[int]] = []
    for i in range(len(pts)):
        for g in groups:
            if abs(xs[g[0]] - xs[i]) <= dx and abs(ys[g[0]] - ys[i]) <= dy:
                g.append(i)
                break
        else:
            groups.append([i])
    return [(", ".join(pts[j][0] for j in g), pts[g[0]][1], pts[g[0]][2]) for g in groups]


# label offsets in points, tried in order: right, left, above, below, then further out (those
# get a thin leader line to their point)
_LABEL_OFFSETS = [(6, 5), (6, -12), (-6, 5), (-6, -12), (0, 9), (0, -16),
                  (6, 16), (6, -24), (-6, 16), (-6, -24), (0, 24), (0, -30),
                  (20, 26), (20, -34), (-20, 26), (-20, -34)]


def _overlap_area(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0)


def place_labels(ax, pts: list[tuple[str, float, float]]) -> None:
    """Annotate each (text, x, y) at the first offset whose text box stays inside the axes and
    overlaps no label placed before it and comes near no other point; if every offset collides,
    at the one that collides least. Greedy, in display space, so it runs last."""
    fig = ax.figure
    fig.canvas.draw()  # the renderer gives real text extents; limits are fixed by now
    renderer = fig.canvas.get_renderer()
    ax.set_xlim(ax.get_xlim()), ax.set_ylim(ax.get_ylim())  # freeze autoscale
    markers = [ax.transData.transform((x, y)) for _, x, y in pts]
    taken = []
    for i, (text, x, y) in enumerate(pts):
        best = None
        for k, (dx, dy) in enumerate(_LABEL_OFFSETS):
            ha = "right" if dx < 0 else ("center" if dx == 0 else "left")
            leader = {"arrowstyle": "-", "lw": 0.5, "color": "0.4"} if k >= 6 else None
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points",
                              fontsize=8, ha=ha, arrowprops=leader)
            box = ann.get_window_extent(renderer).expanded(1.05, 1.15)
            # a label next to another point reads as that point's label
            near = box.padded(8)
            cost = sum(_overlap_area(box, t) for t in taken) + 400.0 * sum(
                near.contains(mx, my) for j, (mx, my) in enumerate(markers) if j != i)
            if not (ax.bbox.contains(box.x0, box.y0) and ax.bbox.contains(box.x1, box.y1)):
                cost += 1e6
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, ann, box)
            else:
                ann.remove()
            if cost == 0:
                break
        taken.append(best[2])


def plot_acc_vs_cost(summary: pd.DataFrame, title: str, base: Path) -> list[Path]:
    """Final ACC (mean ± std over seeds) vs parameters used per task (left) and vs extra
    memory kept besides the model (right), one labelled point per variant."""
    labels = list(summary.index)
    colors = colors_for(labels)
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.8), layout="constrained", sharey=True)
    acc = summary[("ACC", "mean")]
    acc_sd = summary[("ACC", "std")].fillna(0.0)
    panels = [("params used/task", 1e6, "parameters used per task (millions, mean over tasks)"),
              ("extra memory MB", 1.0,
               ("extra memory besides the model (MB, log above 1 MB): importances,\n"
               "gradients, teacher, masks at 1 bit/weight, stored utterances as features"))]
    to_label = []
    for ax, (col, div, xlabel) in zip(axes, panels):
        pts = [(lab, summary.at[lab, (col, "mean")] / div, acc[lab]) for lab in labels
               if not pd.isna(summary.at[lab, (col, "mean")])]
        for lab, x, y in pts:
            ax.errorbar(x, y, yerr=acc_sd[lab], fmt="o", color=colors[lab], capsize=3)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.margins(x=0.3, y=0.2)
        if col == "extra memory MB":
            # 0 (naive) to hundreds of MB (ewc): a linear axis piles masks, lwf and replay
            # into one corner, so the axis is linear below 1 MB and logarithmic above
            ax.set_xscale("symlog", linthresh=1.0)
            hi = max([x for _, x, _ in pts], default=1.0) or 1.0
            ax.set_xlim(-0.5, 4 * hi)
            if "joint" in labels:
                ax.set_title("joint keeps all past data: not shown", fontsize=8)
        to_label.append((ax, _merge_close(pts, ax)))
    axes[0].set_ylabel("final ACC (score %, mean over tasks)")
    fig.suptitle(title, fontsize=10)
    for ax, merged in to_label:  # last, once every element that shapes the layout exists
        place_labels(ax, merged)
    return save(fig, base)

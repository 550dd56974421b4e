"""Continual-learning metrics from a results matrix R.

R[i][j] is the score on evaluated task (column) j after training experience (row) i; T rows,
T' columns (T' = T in the usual one-task-per-experience stream). Rows and columns are 0-based
here; the final row is F = T - 1. A NaN cell means "not evaluated" and is skipped.

Direction: every summary number except ACC and plasticity is computed on *goodness*
g = R if higher is better, g = -R if lower is better (WER, CER). So for any metric:
BWT < 0 means forgetting, forgetting > 0 means the task got worse, FWT > 0 means learning
earlier experiences helped, intransigence > 0 means worse than the joint model -- all in the
metric's own units (points of WER for WER). ACC and plasticity are plain scores in the metric's
units (mean final WER for WER).

"Learned at" l_j: the experience after which task j's reference score is taken. Default l_j = j.
In streams that train a task in several experiences (adaptation: exp 0 trains er+ic+asr, exp 1
new asr data, exp 2 new ic data) pass `train_exp_of_task`, normally the LAST experience that
trained the task (`learned_at_from_stream(..., which="last")`), so BWT/forgetting measure the
change since the task's most recent training. Columns never trained (None) are excluded from
every metric, ACC and plasticity included.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np

CONVENTIONS = """\
R[i][j] = score on task j after training experience i (T experiences, final row T).
Goodness g = R for higher-is-better metrics (accuracy, F1) and g = -R for lower-is-better ones
(WER, CER). ACC and plasticity are reported in the metric's own units; BWT, FWT, forgetting and
intransigence are differences of goodness, in the metric's units, so their sign means the same
for every metric: BWT < 0 = forgetting, forgetting > 0 = worse than the task's best, FWT > 0 =
helped by earlier experiences, intransigence > 0 = worse than the joint model.
  ACC           = (1/T) sum_j R[T][j]
  BWT           = 1/(T-1) sum_{j<T} (g[T][j] - g[j][j])                 (Lopez-Paz & Ranzato 2017)
  FWT           = 1/(T-1) sum_{j>1} (g[j-1][j] - b_j), b = untrained model's scores      (GEM)
  forgetting    = mean_{j<T} f_j, f_j = max_{j<=l<T} g[l][j] - g[T][j]   (Chaudhry et al. 2018)
  intransigence = mean_k I_k, I_k = g*_k - g[k][k], g* = joint model    (Chaudhry et al. 2018)
  plasticity    = R[j][j] per task, and its mean
Forgetting is max-based (Chaudhry), not Avalanche's first-minus-last (which is -BWT per task).
Where a task is trained in several experiences, "j" in R[j][j] is the last experience that
trained it, except in FWT, where g[j-1][j] is taken before the first. NaN (not evaluated)
cells are skipped."""


def _as_matrix(R: Any) -> tuple[np.ndarray, list | None]:
    names = None
    if hasattr(R, "columns") and hasattr(R, "to_numpy"):  # pandas DataFrame
        names = list(R.columns)
        R = R.to_numpy(dtype=float)
    R = np.asarray(R, dtype=float)
    if R.ndim != 2 or R.shape[0] == 0 or R.shape[1] == 0:
        raise ValueError(f"R must be a non-empty 2-D matrix (experiences x tasks), got {R.shape}")
    return R, names


def goodness(R: Any, higher_is_better: bool = True) -> np.ndarray:
    """g = R if higher is better, else -R (as a float array)."""
    R, _ = _as_matrix(R)
    return R if higher_is_better else -R


def _learned_at(R: np.ndarray, train_exp_of_task: Sequence[int | None] | None) -> list[int | None]:
    T, Tp = R.shape
    if train_exp_of_task is None:
        if T != Tp:
            raise ValueError(f"R is {T}x{Tp}: pass train_exp_of_task (one experience index per "
                             "column) when columns are not one task per experience")
        return list(range(T))
    la = list(train_exp_of_task)
    if len(la) != Tp:
        raise ValueError(f"train_exp_of_task has {len(la)} entries, R has {Tp} columns")
    for x in la:
        if x is not None and not 0 <= x < T:
            raise ValueError(f"train_exp_of_task entry {x} is not an experience index 0..{T - 1}")
    return la


def _mean(values: Iterable[float]) -> float | None:
    vals = [v for v in values if v is not None and not np.isnan(v)]
    return float(np.mean(vals)) if vals else None


def _f(x: float) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


def learned_at_from_stream(experience_tasks: Sequence[Iterable[Hashable]],
                           tasks: Sequence[Hashable], which: str = "last") -> list[int | None]:
    """Experience index at which each of `tasks` is learned, from the tasks each experience
    trains. which="last" (default, what BWT/forgetting should use) or "first"; None if never.

    [{"er", "ic", "asr"}, {"asr"}, {"ic"}], ["er", "ic", "asr"] -> [0, 2, 1] (last).
    """
    if which not in ("first", "last"):
        raise ValueError(f"which must be 'first' or 'last', got {which!r}")
    out: list[int | None] = []
    for t in tasks:
        hits = [i for i, exp in enumerate(experience_tasks) if t in set(exp)]
        out.append((hits[-1] if which == "last" else hits[0]) if hits else None)
    return out


def acc(R: Any, higher_is_better: bool = True,
        train_exp_of_task: Sequence[int | None] | None = None) -> float | None:
    """ACC = (1/T) sum_j R[F][j]: mean final score over trained tasks, in the metric's units
    (direction does not matter here; the argument is accepted for symmetry)."""
    R, _ = _as_matrix(R)
    la = _learned_at(R, train_exp_of_task)
    return _mean(R[-1, j] for j, lj in enumerate(la) if lj is not None)


def bwt_per_task(R: Any, higher_is_better: bool = True,
                 train_exp_of_task: Sequence[int | None] | None = None) -> list[float | None]:
    """g[F][j] - g[l_j][j] for tasks learned before the final experience (l_j < F), else None.
    Its negation is Avalanche's "forgetting" (first evaluation after learning minus last)."""
    R, _ = _as_matrix(R)
    g = goodness(R, higher_is_better)
    F = R.shape[0] - 1
    return [_f(g[F, j] - g[lj, j]) if lj is not None and lj < F else None
            for j, lj in enumerate(_learned_at(R, train_exp_of_task))]


def bwt(R: Any, higher_is_better: bool = True,
        train_exp_of_task: Sequence[int | None] | None = None) -> float | None:
    """BWT = 1/(T-1) sum_{j<T} (g[T][j] - g[j][j]) (GEM; Lopez-Paz & Ranzato 2017), in goodness
    units (negative = forgetting). Generalised: j ranges over tasks with l_j < F, R[j][j] is
    R[l_j][j]. None when no task qualifies (T = 1)."""
    return _mean(bwt_per_task(R, higher_is_better, train_exp_of_task))


def fwt(R: Any, baseline: Sequence[float] | None, higher_is_better: bool = True,
        train_exp_of_task: Sequence[int | None] | None = None) -> float | None:
    """FWT = 1/(T-1) sum_{j>1} (g[j-1][j] - b_j) (GEM), in goodness units. b_j = score of the
    untrained (random-init) model on task j, in the metric's units (negated like R). Generalised:
    tasks with l_j > 0, using g[l_j - 1][j]. None if `baseline` is None."""
    if baseline is None:
        return None
    R, _ = _as_matrix(R)
    b = np.asarray(baseline, dtype=float)
    if b.shape != (R.shape[1],):
        raise ValueError(f"baseline must have one score per column ({R.shape[1]}), got {b.shape}")
    g, gb = goodness(R, higher_is_better), (b if higher_is_better else -b)
    la = _learned_at(R, train_exp_of_task)
    return _mean(g[lj - 1, j] - gb[j] for j, lj in enumerate(la) if lj is not None and lj > 0)


def forgetting_per_task(R: Any, higher_is_better: bool = True,
                        train_exp_of_task: Sequence[int | None] | None = None
                        ) -> list[float | None]:
    """f_j = max_{l_j <= l < F} g[l][j] - g[F][j] (Chaudhry et al. 2018), for l_j < F, else None.

    Max-based: the drop from the task's BEST score since it was learned, not Avalanche's
    first-minus-last. Rows before l_j (before the task was learned) are not candidates for the
    max: they hold an untrained score, not knowledge that could be forgotten.
    """
    R, _ = _as_matrix(R)
    g = goodness(R, higher_is_better)
    F = R.shape[0] - 1
    out: list[float | None] = []
    for j, lj in enumerate(_learned_at(R, train_exp_of_task)):
        if lj is None or lj >= F or np.isnan(g[F, j]) or np.all(np.isnan(g[lj:F, j])):
            out.append(None)
            continue
        out.append(float(np.nanmax(g[lj:F, j]) - g[F, j]))
    return out


def forgetting(R: Any, higher_is_better: bool = True,
               train_exp_of_task: Sequence[int | None] | None = None) -> float | None:
    """Mean of `forgetting_per_task` over tasks learned before the final experience."""
    return _mean(forgetting_per_task(R, higher_is_better, train_exp_of_task))


def intransigence_per_task(R: Any, joint: Any, higher_is_better: bool = True,
                           train_exp_of_task: Sequence[int | None] | None = None
                           ) -> list[float | None]:
    """I_k = g*_k - g[l_k][k] (Chaudhry et al. 2018): how much worse than a joint model trained
    on all data up to experience l_k. `joint` is a vector (R*_k per column) or a matrix shaped
    like R (joint model's results after each experience; R*_k = joint[l_k][k])."""
    R, _ = _as_matrix(R)
    J = np.asarray(joint, dtype=float)
    la = _learned_at(R, train_exp_of_task)
    if J.shape == R.shape:
        star = [J[lj, k] if lj is not None else np.nan for k, lj in enumerate(la)]
    elif J.shape == (R.shape[1],):
        star = list(J)
    else:
        raise ValueError(f"joint must be a vector of {R.shape[1]} or a {R.shape} matrix, "
                         f"got {J.shape}")
    sign = 1.0 if higher_is_better else -1.0
    return [_f(sign * (star[k] - R[lk, k])) if lk is not None else None
            for k, lk in enumerate(la)]


def plasticity_per_task(R: Any, train_exp_of_task: Sequence[int | None] | None = None
                        ) -> list[float | None]:
    """R[l_j][j]: the score right after the task was learned (the diagonal), in units."""
    R, _ = _as_matrix(R)
    return [_f(R[lj, j]) if lj is not None else None
            for j, lj in enumerate(_learned_at(R, train_exp_of_task))]


def cl_summary(R: Any, higher_is_better: bool = True,
               train_exp_of_task: Sequence[int | None] | None = None,
               baseline: Sequence[float] | None = None, joint: Any = None,
               task_names: Sequence[str] | None = None,
               first_train_exp_of_task: Sequence[int | None] | None = None) -> dict:
    """All metrics of this module for one results matrix (see CONVENTIONS).

    FWT asks how well a task did *before it was ever trained*, so where a task is trained in
    several experiences it uses `first_train_exp_of_task` (default: `train_exp_of_task`);
    every other metric uses `train_exp_of_task`, normally the last training.

    R: T x T' array-like or DataFrame (column names become task names). Returns a JSON-ready
    dict: acc, bwt, fwt, forgetting, intransigence, plasticity (floats or None) and
    per-task dicts {task: value or None} for bwt, forgetting, intransigence and plasticity,
    plus learned_at and higher_is_better.
    """
    M, names = _as_matrix(R)
    names = list(task_names) if task_names is not None else names
    names = names if names is not None else [str(j) for j in range(M.shape[1])]
    if len(names) != M.shape[1]:
        raise ValueError(f"{len(names)} task names for {M.shape[1]} columns")
    la = _learned_at(M, train_exp_of_task)

    def per_task(values: list) -> dict:
        return dict(zip(names, values, strict=True))

    bw = bwt_per_task(M, higher_is_better, la)
    fg = forgetting_per_task(M, higher_is_better, la)
    pl = plasticity_per_task(M, la)
    it = (intransigence_per_task(M, joint, higher_is_better, la) if joint is not None
          else [None] * len(names))
    return {
        "higher_is_better": higher_is_better,
        "learned_at": per_task(la),
        "acc": acc(M, higher_is_better, la),
        "bwt": _mean(bw),
        "fwt": fwt(M, baseline, higher_is_better,
                   la if first_train_exp_of_task is None else first_train_exp_of_task),
        "forgetting": _mean(fg),
        "intransigence": _mean(it) if joint is not None else None,
        "plasticity": _mean(pl),
        "bwt_per_task": per_task(bw),
        "forgetting_per_task": per_task(fg),
        "intransigence_per_task": per_task(it),
        "plasticity_per_task": per_task(pl),
    }

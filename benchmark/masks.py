"""Per-task binary masks over a model's shared weights, and iterative magnitude pruning.

A *mask* is a plain dict {parameter name: BoolTensor of the parameter's shape}; True = the weight
belongs to the (sub)network. `TaskMasks` keeps one mask per task over a fixed set of prunable
parameters (see `prunable_parameters` for which ones).

How a mask is applied: we *materialise a task's view* of the weights -- `p *= mask` in place,
keeping a dense backup -- instead of using torch.nn.utils.prune (renames state_dict keys to
`weight_orig`/`weight_mask`, breaks deepcopy, one mask per parameter, no notion of tasks) or
forward hooks. An in-place view works for every layer type, including nn.MultiheadAttention
(which reads `in_proj_weight` directly, not through a submodule's forward), keeps parameter
identity (optimizers keep pointing at the same tensors), and works for code that calls `model(x)`
itself (Avalanche plugins).

Training a task's subnetwork, the protocol used by strategies:

    dense = materialize(model, mask)            # weights outside the mask are now exactly 0
    opt = AdamW(...)                            # FRESH optimizer (no stale moments)
    for batch in data:
        loss(model(batch)).backward()
        mask_gradients(model, update_mask)      # only subnetwork weights get a gradient
        opt.step(); opt.zero_grad()
    restore(model, dense, mask, update_mask)    # trained values inside update_mask, backup elsewhere

and evaluating through it: `with task_view(model, mask): model(x)`.

Counting conventions: sparsity is the fraction of *prunable* weights removed (not of all
parameters); mask storage is counted in bits, 1 bit per prunable weight (WSN's convention; CL-MASR
counts its float masks as full parameters, which overstates their cost 32x).
"""
from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
import torch
from torch import Tensor, nn

Mask = dict[str, Tensor]

_NORM_TYPES: tuple[type, ...] = (
    nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm, nn.modules.batchnorm._NormBase,
    *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()),
)
_EMBEDDING_TYPES: tuple[type, ...] = (nn.Embedding, nn.EmbeddingBag)

# ----------------------------------------------------------------------------------------------
# Which parameters are prunable


def parameter_category(module: nn.Module, local_name: str, param: Tensor) -> str:
    """Category of `param`, registered as `local_name` on `module` (its owner). First match wins:

    - "embedding": owner is nn.Embedding/nn.EmbeddingBag, or the name contains "embed"
      (a raw nn.Parameter used as a learned position table, say).
    - "norm": owner is a normalisation layer (LayerNorm, GroupNorm, BatchNorm*, InstanceNorm*,
      RMSNorm, or any class whose name contains "Norm"); both its weight and its bias.
    - "bias": "bias" is one of the "_"-separated words of the name: `bias`, `in_proj_bias`,
      `bias_k`, `bias_v` (nn.MultiheadAttention), whatever their ndim.
    - "weight": any other parameter with ndim >= 2: the matrices/kernels of Linear, Conv1d/2d,
      nn.MultiheadAttention (`in_proj_weight` or `q/k/v_proj_weight`, `out_proj.weight`) ...
    - "other": anything else (0-d/1-d scales and the like).
    """
    words = local_name.lower().split("_")
    if isinstance(module, _EMBEDDING_TYPES) or "embed" in local_name.lower():
        return "embedding"
    if isinstance(module, _NORM_TYPES) or "Norm" in type(module).__name__:
        return "norm"
    if "bias" in words:
        return "bias"
    if param.ndim >= 2:
        return "weight"
    return "other"


def prunable_parameters(model: nn.Module, include_norms: bool = False,
                        include_biases: bool = False,
                        include_embeddings: bool = False) -> dict[str, nn.Parameter]:
    """The parameters a mask covers, {name: parameter}, in `model.named_parameters()` order.

    Rule: every parameter of category "weight" (see `parameter_category`: ndim >= 2 and not an
    embedding, norm or bias) -- the weight matrices and kernels of Linear, Conv and attention
    layers. Norms, biases and embeddings are added only on request; "other" parameters never.
    Frozen parameters (requires_grad=False) are included: masks are about the forward pass.
    A parameter shared by several modules appears once, classified by its first owner.
    """
    wanted = {"weight"}
    if include_norms:
        wanted.add("norm")
    if include_biases:
        wanted.add("bias")
    if include_embeddings:
        wanted.add("embedding")
    owner: dict[int, tuple[nn.Module, str]] = {}
    for module in model.modules():
        for local, p in module.named_parameters(recurse=False):
            owner.setdefault(id(p), (module, local))
    out: dict[str, nn.Parameter] = {}
    for name, p in model.named_parameters():
        module, local = owner[id(p)]
        if parameter_category(module, local, p) in wanted:
            out[name] = p
    return out


# ----------------------------------------------------------------------------------------------
# Mask helpers


def ones_mask(params: Mapping[str, Tensor]) -> Mask:
    """All-True mask with the shape and device of each of `params`."""
    return {n: torch.ones(p.shape, dtype=torch.bool, device=p.device) for n, p in params.items()}


def mask_count(mask: Mapping[str, Tensor]) -> int:
    """Number of kept (True) weights."""
    return int(sum(int(m.sum()) for m in mask.values()))


def mask_numel(mask: Mapping[str, Tensor]) -> int:
    """Number of weights the mask covers (kept or not)."""
    return int(sum(m.numel() for m in mask.values()))


def mask_and(a: Mapping[str, Tensor], b: Mapping[str, Tensor]) -> Mask:
    return {n: a[n] & b[n].to(a[n].device) for n in a}


def mask_or(a: Mapping[str, Tensor], b: Mapping[str, Tensor]) -> Mask:
    return {n: a[n] | b[n].to(a[n].device) for n in a}


def mask_not(a: Mapping[str, Tensor]) -> Mask:
    return {n: ~m for n, m in a.items()}


def _named_params(model: nn.Module, names: Iterable[str]) -> dict[str, Tensor]:
    params = dict(model.named_parameters())
    missing = [n for n in names if n not in params]
    if missing:
        raise KeyError(f"mask names not in the model: {missing[:5]} (mask built for another model?)")
    return {n: params[n] for n in names}


def _pack_bits(flat: Tensor) -> Tensor:
    """Bool vector -> uint8 vector, 8 weights a byte, big-endian bit order (numpy.packbits')."""
    pad = (-flat.numel()) % 8
    bits = torch.cat([flat.to(torch.uint8), flat.new_zeros(pad, dtype=torch.uint8)]).view(-1, 8)
    weights = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.uint8, device=flat.device)
    return (bits * weights).sum(dim=1, dtype=torch.uint8)


def _unpack_bits(packed: Tensor, n: int) -> Tensor:
    shifts = torch.arange(7, -1, -1, dtype=torch.uint8, device=packed.device)
    return ((packed[:, None] >> shifts) & 1).view(-1)[:n].to(torch.bool)


# ----------------------------------------------------------------------------------------------
# TaskMasks


class TaskMasks:
    """One binary mask per task over a fixed set of prunable parameters.

    `TaskMasks.for_model(model)` covers `prunable_parameters(model)`; masks live on the device
    the parameters were on (or `device`). Task ids are ints or strs.
    """

    def __init__(self, shapes: Mapping[str, Sequence[int]], device: torch.device | str = "cpu"):
        self.shapes: dict[str, torch.Size] = {n: torch.Size(s) for n, s in shapes.items()}
        self.device = torch.device(device)
        self._masks: dict[Any, Mask] = {}

    @classmethod
    def for_model(cls, model: nn.Module, **rule: bool) -> TaskMasks:
        """Masks over `prunable_parameters(model, **rule)`, on the model's device."""
        params = prunable_parameters(model, **rule)
        if not params:
            raise ValueError("the model has no prunable parameters under this rule")
        device = next(iter(params.values())).device
        return cls({n: p.shape for n, p in params.items()}, device=device)

    # -- access ----------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self.shapes)

    @property
    def tasks(self) -> list:
        return list(self._masks)

    @property
    def total(self) -> int:
        """Number of prunable weights (the denominator of sparsity)."""
        return int(sum(s.numel() for s in self.shapes.values()))

    def __contains__(self, task) -> bool:
        return task in self._masks

    def __len__(self) -> int:
        return len(self._masks)

    def ones(self) -> Mask:
        """A fresh all-True mask (not registered to any task)."""
        return {n: torch.ones(s, dtype=torch.bool, device=self.device)
                for n, s in self.shapes.items()}

    def full(self, task) -> Mask:
        """Register an all-True mask for `task` (the dense network) and return it."""
        self._masks[task] = self.ones()
        return self._masks[task]

    def set(self, task, mask: Mapping[str, Tensor]) -> None:
        """Store a copy of `mask` (bool, on self.device) for `task`. Names/shapes must match."""
        if set(mask) != set(self.shapes):
            extra, missing = set(mask) - set(self.shapes), set(self.shapes) - set(mask)
            raise KeyError(f"mask names differ: missing {sorted(missing)[:5]}, "
                           f"unexpected {sorted(extra)[:5]}")
        out: Mask = {}
        for n, s in self.shapes.items():
            if mask[n].shape != s:
                raise ValueError(f"mask for {n} has shape {tuple(mask[n].shape)}, "
                                 f"expected {tuple(s)}")
            out[n] = mask[n].to(device=self.device, dtype=torch.bool, copy=True)
        self._masks[task] = out

    def get(self, task) -> Mask:
        """The stored mask of `task` (not a copy: don't modify it in place)."""
        if task not in self._masks:
            raise KeyError(f"no mask for task {task!r}; known: {self.tasks}")
        return self._masks[task]

    def remove(self, task) -> None:
        del self._masks[task]

    def to(self, device: torch.device | str) -> TaskMasks:
        self.device = torch.device(device)
        self._masks = {t: {n: m.to(self.device) for n, m in mk.items()}
                       for t, mk in self._masks.items()}
        return self

    # -- set algebra -----------------------------------------------------------------------
    def union(self, tasks: Iterable | None = None) -> Mask:
        """Weights kept by at least one of `tasks` (default: all tasks)."""
        tasks = self.tasks if tasks is None else list(tasks)
        out = {n: torch.zeros(s, dtype=torch.bool, device=self.device)
               for n, s in self.shapes.items()}
        for t in tasks:
            for n, m in self.get(t).items():
                out[n] |= m
        return out

    def owned_exclusively(self, task) -> Mask:
        """Weights in `task`'s mask and in no other task's mask."""
        others = self.union([t for t in self.tasks if t != task])
        return {n: m & ~others[n] for n, m in self.get(task).items()}

    # -- statistics ------------------------------------------------------------------------
    def nonzero(self, task) -> int:
        """Number of prunable weights kept by `task`'s mask."""
        return mask_count(self.get(task))

    def sparsity(self, task) -> float:
        """Fraction of the prunable weights removed by `task`'s mask (0 = dense)."""
        return 1.0 - self.nonzero(task) / self.total

    def storage_bits(self, task) -> int:
        """Storage of `task`'s mask in bits: 1 bit per prunable weight, whatever the sparsity.

        Masks are counted in bits (as WSN does), unlike CL-MASR, which counts its float masks as
        full parameters. The packed state_dict rounds up to whole bytes per task.
        """
        self.get(task)
        return self.total

    def layer_sparsity(self, task) -> pd.Series:
        """Per-parameter fraction removed by `task`'s mask, indexed by parameter name."""
        return pd.Series({n: 1.0 - int(m.sum()) / m.numel() for n, m in self.get(task).items()},
                         name=f"sparsity[{task}]")

    def overlap_matrix(self, tasks: Iterable | None = None) -> pd.DataFrame:
        """Pairwise intersection-over-union |A & B| / |A | B| of kept weights (NaN if both empty)."""
        tasks = self.tasks if tasks is None else list(tasks)
        inter = torch.zeros(len(tasks), len(tasks), dtype=torch.float64)
        counts = torch.zeros(len(tasks), dtype=torch.float64)
        for i, a in enumerate(tasks):
            ma = self.get(a)
            counts[i] = self.nonzero(a)
            for j in range(i, len(tasks)):
                mb = self.get(tasks[j])
                inter[i, j] = inter[j, i] = sum(int((ma[n] & mb[n]).sum()) for n in ma)
        union = counts[:, None] + counts[None, :] - inter
        iou = torch.where(union > 0, inter / union.clamp(min=1), torch.nan)
        return pd.DataFrame(iou.numpy(), index=tasks, columns=tasks)

    def summary(self) -> pd.DataFrame:
        """One row per task: kept, total, sparsity, exclusive (weights no other task keeps),
        storage_bits."""
        rows = []
        for t in self.tasks:
            rows.append({"task": t, "kept": self.nonzero(t), "total": self.total,
                         "sparsity": self.sparsity(t),
                         "exclusive": mask_count(self.owned_exclusively(t)),
                         "storage_bits": self.storage_bits(t)})
        return pd.DataFrame(rows, columns=["task", "kept", "total", "sparsity", "exclusive",
                                           "storage_bits"]).set_index("task")

    # -- serialisation ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Bit-packed masks: only tensors, ints, strs, lists and dicts (torch.load(weights_only=True)
        accepts it). Each task's mask is flattened in `names` order, concatenated and packed
        8 weights a byte (uint8, big-endian bit order), on CPU."""
        return {
            "format": "task_masks/v1",
            "names": self.names,
            "shapes": [list(s) for s in self.shapes.values()],
            "tasks": self.tasks,
            "packed": [_pack_bits(torch.cat([m.reshape(-1) for m in mk.values()])).cpu()
                       for mk in self._masks.values()],
        }

    def load_state_dict(self, sd: Mapping) -> None:
        """Replace names, shapes and masks with those of `sd` (from `state_dict`)."""
        if sd.get("format") != "task_masks/v1":
            raise ValueError(f"unknown mask state format {sd.get('format')!r}")
        self.shapes = {n: torch.Size(s) for n, s in zip(sd["names"], sd["shapes"], strict=True)}
        sizes = [s.numel() for s in self.shapes.values()]
        self._masks = {}
        for task, packed in zip(sd["tasks"], sd["packed"], strict=True):
            flat = _unpack_bits(packed.to(self.device), sum(sizes))
            self._masks[task] = {n: chunk.view(s) for (n, s), chunk
                                 in zip(self.shapes.items(), flat.split(sizes), strict=True)}

    @classmethod
    def from_state_dict(cls, sd: Mapping, device: torch.device | str = "cpu") -> TaskMasks:
        tm = cls({}, device=device)
        tm.load_state_dict(sd)
        return tm

    def accounting(self, order: Iterable | None = None) -> dict:
        """`summary()` and the pairwise IoU matrix, JSON-ready: a run's `masks.json`, tasks in
        `order` first. Small, so it is committed where model.pt is not."""
        first = [t for t in dict.fromkeys(order or []) if t in self]
        tasks = first + [t for t in self.tasks if t not in first]
        table = self.summary().loc[tasks]
        iou = self.overlap_matrix(tasks).to_numpy()
        return {"format": "mask_accounting/v1", "tasks": tasks,
                "per_task": {str(t): {k: table.at[t, k].item() for k in table.columns}
                             for t in tasks},
                "iou": [[None if math.isnan(v) else float(v) for v in row] for row in iou]}


# ----------------------------------------------------------------------------------------------
# Applying masks


@torch.no_grad()
def materialize(model: nn.Module, mask: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Switch `model` to the view of `mask`: weights outside it are set to 0 in place.

    Returns the dense backup {name: copy of the parameter before masking} needed by `restore`.
    Parameters not named in `mask` are untouched. Parameter objects stay the same.
    """
    params = _named_params(model, mask)
    dense: dict[str, Tensor] = {}
    for n, m in mask.items():
        p = params[n]
        dense[n] = p.detach().clone()
        p.masked_fill_(~m.to(p.device), 0)
    return dense


@torch.no_grad()
def restore(model: nn.Module, dense: Mapping[str, Tensor], mask: Mapping[str, Tensor],
            update_mask: Mapping[str, Tensor] | None = None) -> None:
    """Leave a materialised view, merging what was trained.

    For weights in `update_mask` (default: `mask`) the CURRENT values are kept (the trained
    subnetwork); every other weight is set back to its value in `dense` exactly, so weights
    outside the subnetwork keep their values for the other tasks. `update_mask` should be a
    subset of `mask` (a weight in update_mask but not in mask was trained from 0).
    """
    update_mask = mask if update_mask is None else update_mask
    params = _named_params(model, dense)
    for n, backup in dense.items():
        p = params[n]
        p.copy_(torch.where(update_mask[n].to(p.device), p, backup))


@torch.no_grad()
def enforce_view(model: nn.Module, dense: Mapping[str, Tensor], mask: Mapping[str, Tensor],
                 update_mask: Mapping[str, Tensor] | None = None) -> None:
    """During training, reset weights outside `update_mask` to their view values
    (dense backup inside `mask`, 0 outside). Call after `optimizer.step()` when the optimizer
    may move weights whose gradient is zero (AdamW weight decay, stale moments); this keeps the
    forward pass exact during training, while `restore` alone only guarantees it afterwards.
    """
    update_mask = mask if update_mask is None else update_mask
    params = _named_params(model, dense)
    for n, backup in dense.items():
        p = params[n]
        view = backup.masked_fill(~mask[n].to(p.device), 0)
        p.copy_(torch.where(update_mask[n].to(p.device), p, view))


def view_of(model: nn.Module, masks: TaskMasks, task) -> contextlib.AbstractContextManager:
    """The task's masked view, or the dense model when the task has no mask (yet)."""
    if task not in masks:
        return contextlib.nullcontext()
    return task_view(model, masks.get(task))


def params_used(model: nn.Module, masks: TaskMasks, task) -> int | None:
    """Parameters the task's forward pass uses: the prunable weights its mask keeps + every
    parameter no mask covers, trainable or frozen (Whisper's frozen token table is used by every
    task); None when the task has no mask."""
    if task not in masks:
        return None
    covered = set(masks.names)
    return masks.nonzero(task) + sum(p.numel() for n, p in model.named_parameters()
                                     if n not in covered)


@contextlib.contextmanager
def task_view(model: nn.Module, mask: Mapping[str, Tensor]) -> Iterator[nn.Module]:
    """Evaluate through a mask: `with task_view(model, mask): model(x)`.

    The weights are restored bit-exactly on exit (also on an exception); anything trained inside
    the block is discarded.
    """
    dense = materialize(model, mask)
    try:
        yield model
    finally:
        with torch.no_grad():
            params = _named_params(model, dense)
            for n, backup in dense.items():
                params[n].copy_(backup)


@torch.no_grad()
def mask_gradients(model: nn.Module, mask: Mapping[str, Tensor]) -> None:
    """p.grad *= mask for every parameter named in `mask` (after backward, before the step).

    Zero gradients do not freeze a weight under AdamW: decoupled weight decay still shrinks it,
    and moment estimates left from earlier steps keep moving it. So a strategy must (1) build a
    FRESH optimizer per experience (then masked-out weights that were 0 stay exactly 0: their
    moments are 0 and decay of 0 is 0), and (2) merge with `restore` at the end, which puts every
    weight outside `update_mask` back bit-exactly. Use `enforce_view` if frozen non-zero weights
    must not even decay during the experience.
    """
    params = _named_params(model, mask)
    for n, m in mask.items():
        g = params[n].grad
        if g is not None:
            g.masked_fill_(~m.to(g.device), 0)


def unmasked_parameter_names(model: nn.Module, mask: Mapping[str, Tensor]) -> list[str]:
    """Trainable parameters that `mask` does not cover (norms, biases, embeddings, ...)."""
    return [n for n, p in model.named_parameters() if p.requires_grad and n not in mask]


def freeze_grads(model: nn.Module, names: Iterable[str]) -> None:
    """Set p.grad = None for the named parameters (after backward, before the step).

    None rather than zeros: torch optimizers skip a parameter whose grad is None entirely (no
    weight decay, no moment update), so these parameters do not move at all.
    """
    params = _named_params(model, list(names))
    for p in params.values():
        p.grad = None


def freeze_unmasked_grads(model: nn.Module, mask: Mapping[str, Tensor]) -> None:
    """`freeze_grads` on every trainable parameter not covered by `mask` (zero interference
    through norms, biases and embeddings, which masks do not cover by default)."""
    freeze_grads(model, unmasked_parameter_names(model, mask))


# ----------------------------------------------------------------------------------------------
# Pruning


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5 + 1e-9)


def _n_lowest(values: Tensor, k: int) -> Tensor:
    """Bool vector marking the k smallest `values`; ties broken by lower index first."""
    remove = torch.zeros_like(values, dtype=torch.bool)
    if k <= 0:
        return remove
    if k >= values.numel():
        return ~remove
    t = torch.kthvalue(values, k).values
    remove = values < t
    need = k - int(remove.sum())
    if need > 0:
        tie = torch.nonzero(values == t).view(-1)[:need]
        remove[tie] = True
    return remove


@torch.no_grad()
def magnitude_prune(model: nn.Module, mask: Mapping[str, Tensor], fraction: float,
                    scope: str = "global",
                    candidates: Mapping[str, Tensor] | None = None) -> Mask:
    """Remove `fraction` of the remaining weights of `mask`: those with the lowest |w|.

    Remaining = weights in `mask` (and in `candidates`, if given: only candidates may be kept,
    e.g. a task searching among free weights only). The number removed is
    round(fraction * remaining), rounded half up -- exactly, in the "global" scope (one threshold
    across all masked parameters); with scope="layer" each parameter loses round(fraction * its
    remaining) separately. Ties in |w| are broken by position (parameter order, then flat index):
    the earlier weight is removed first. Returns a new mask on `mask`'s devices; the model is not
    modified.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    if scope not in ("global", "layer"):
        raise ValueError(f"scope must be 'global' or 'layer', got {scope!r}")
    params = _named_params(model, mask)
    if not mask:
        return {}
    eligible = {n: m if candidates is None else m & candidates[n].to(m.device)
                for n, m in mask.items()}
    new: Mask = {}
    if scope == "layer":
        for n, m in eligible.items():
            p = params[n]
            em = m.to(p.device)
            vals = p.detach().abs().float()[em]
            remove = _n_lowest(vals, _round_half_up(fraction * vals.numel()))
            keep = em.clone()
            keep[em] = ~remove
            new[n] = keep.to(m.device)
        return new
    vals_list, ems = [], {}
    for n, m in eligible.items():
        p = params[n]
        ems[n] = m.to(p.device)
        vals_list.append(p.detach().abs().float()[ems[n]])
    devices = {v.device for v in vals_list}
    dev = devices.pop() if len(devices) == 1 else torch.device("cpu")
    vals = torch.cat([v.to(dev) for v in vals_list])
    remove = _n_lowest(vals, _round_half_up(fraction * vals.numel()))
    offset = 0
    for (n, m), v in zip(eligible.items(), vals_list, strict=True):
        keep = ems[n].clone()
        keep[ems[n]] = ~remove[offset:offset + v.numel()].to(keep.device)
        offset += v.numel()
        new[n] = keep.to(m.device)
    return new


def rounds_for_target(target_sparsity: float, per_round: float = 0.2) -> list[float]:
    """Per-round pruning fractions (each of the weights remaining at that round) that reach
    `target_sparsity` exactly: full rounds of `per_round` while they do not overshoot, then one
    adjusted round. Density after the schedule = prod(1 - f) = 1 - target_sparsity.

    0.36 -> [0.2, 0.2]; 0.67 -> [0.2, 0.2, 0.2, 0.2, 0.194...] (0.8^4 = 0.4096; 0.33/0.4096).
    """
    if not 0.0 <= target_sparsity < 1.0:
        raise ValueError(f"target_sparsity must be in [0, 1), got {target_sparsity}")
    if not 0.0 < per_round < 1.0:
        raise ValueError(f"per_round must be in (0, 1), got {per_round}")
    goal = 1.0 - target_sparsity
    fractions: list[float] = []
    density = 1.0
    while density * (1.0 - per_round) >= goal - 1e-9:
        fractions.append(per_round)
        density *= 1.0 - per_round
    if density > goal + 1e-9:
        fractions.append(1.0 - goal / density)
    return fractions


def iterative_magnitude_pruning(
    model: nn.Module,
    train_fn: Callable[[nn.Module, Mask], Any],
    target_sparsity: float,
    per_round: float = 0.2,
    scope: str = "global",
    rewind: bool = False,
    candidates: Mapping[str, Tensor] | None = None,
    finetune: bool = True,
) -> tuple[Mask, list[dict]]:
    """Iterative magnitude pruning (IMP) of `model` down to `target_sparsity`.

    Loop, with fractions from `rounds_for_target(target_sparsity, per_round)`:
        for each round: train_fn(model, mask); mask = magnitude_prune(model, mask, f, scope);
                        if rewind: load the weights saved at the start (lottery ticket)
        then (finetune=True) train_fn(model, mask) once more, on the final mask.

    The mask starts as `candidates` if given, else all of `prunable_parameters(model)`.
    Sparsity is relative to that start: the final mask keeps round((1 - target) * start) weights
    (exactly, with scope="global": each round's count is computed from the cumulative target
    density, so rounding errors do not compound; within one weight per parameter per round with
    scope="layer").

    Contract for `train_fn(model, mask)`: train the model THROUGH `mask` (weights outside it are
    0 in the forward pass and receive no update), e.g. materialize -> steps with mask_gradients
    -> restore. Pruning reads |w| only inside `mask`, so the values left outside do not matter
    to IMP; restore them if the model is shared with other tasks. Its return value is ignored.

    Returns (mask, history): history has one dict per round with stage="prune" (round, fraction,
    kept, sparsity, train_s, prune_s) and, if finetune, a last one with stage="finetune".
    """
    if candidates is not None:
        mask: Mask = {n: m.to(torch.bool, copy=True) for n, m in candidates.items()}
    else:
        mask = ones_mask(prunable_parameters(model))
    start = mask_count(mask)
    total = mask_numel(mask)
    snapshot = copy.deepcopy(model.state_dict()) if rewind else None
    history: list[dict] = []
    density = 1.0
    for r, f in enumerate(rounds_for_target(target_sparsity, per_round), start=1):
        t0 = time.perf_counter()
        train_fn(model, mask)
        t1 = time.perf_counter()
        density *= 1.0 - f
        current = mask_count(mask)
        n_remove = current - _round_half_up(start * density)
        frac = n_remove / current if current else 0.0
        mask = magnitude_prune(model, mask, frac if scope == "global" else f, scope=scope)
        if snapshot is not None:
            model.load_state_dict(snapshot)
        t2 = time.perf_counter()
        kept = mask_count(mask)
        history.append({"stage": "prune", "round": r, "fraction": f, "kept": kept,
                        "sparsity": 1.0 - kept / total,
                        "pruned_of_start": 1.0 - kept / start if start else 0.0,
                        "train_s": t1 - t0, "prune_s": t2 - t1})
    if finetune:
        t0 = time.perf_counter()
        train_fn(model, mask)
        kept = mask_count(mask)
        history.append({"stage": "finetune", "round": len(history) + 1, "fraction": 0.0,
                        "kept": kept, "sparsity": 1.0 - kept / total,
                        "pruned_of_start": 1.0 - kept / start if start else 0.0,
                        "train_s": time.perf_counter() - t0, "prune_s": 0.0})
    return mask, history


def accounting_of_state(strategy_state: object, order: Iterable | None = None) -> dict | None:
    """`TaskMasks.accounting` of a strategy state (model.pt's "strategy" entry), or None when
    that state holds no task masks (every strategy but subnet and packnet)."""
    if not isinstance(strategy_state, dict) or strategy_state.get("format") != "task_masks/v1":
        return None
    return TaskMasks.from_state_dict(strategy_state).accounting(order)

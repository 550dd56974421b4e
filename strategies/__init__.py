"""Strategy registry. Each strategy is one file in this folder that calls `register_strategy`.

A strategy is *composed* (torchtune style), not subclassed: its `build(cfg, ctx)` returns
`StrategyParts` -- Avalanche plugins plus optional hooks for evaluation through a task view,
state for resuming, and accounting of the extra state it keeps. Third-party packages can add
strategies through the entry-point group `slu_benchmark.strategies` (each entry point names a
module that registers on import).
"""
from __future__ import annotations

import contextlib
import importlib
import pkgutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from benchmark.errors import UserError

ENTRY_POINT_GROUP = "slu_benchmark.strategies"


@dataclass
class StrategyContext:
    """What a strategy may use to build itself."""

    model: Any
    tokenizer: Any
    stream: Any  # benchmark.streams.StreamSpec
    train: Any  # benchmark.config.TrainConfig
    device: str
    log: Callable[[str], None] = print
    seed: int = 0
    progress: bool = True


@dataclass
class StrategyParts:
    """What a strategy contributes to the template and the runner."""

    plugins: list = field(default_factory=list)
    # subset id -> context manager under which the model is evaluated (e.g. a task's mask).
    eval_context: Callable[[str], contextlib.AbstractContextManager] = \
        lambda subset: contextlib.nullcontext()
    # extra state kept by the strategy, for accounting: {"name": {"tensors":..,"bytes":..,...}}
    extra_state: Callable[[], dict] = dict
    # nonzero parameters the model uses for a subset (None = all of them)
    params_used: Callable[[str], int | None] = lambda subset: None
    # strategy state saved with the final model (tensors/lists/str only; e.g. the masks)
    state_dict: Callable[[], dict] = dict
    load_state_dict: Callable[[dict], None] = lambda sd: None  # inverse of state_dict (eval)
    # everything needed to continue after a completed experience (`benchmark run --resume`):
    # tensors, numbers, strings, lists and dicts only, so torch.load(weights_only=True) reads it
    checkpoint: Callable[[], dict] = dict
    restore: Callable[[dict], None] = lambda sd: None
    # set True once checkpoint/restore capture all of the strategy's state; --resume refuses
    # a strategy that has not declared it, rather than continue with state silently lost
    resumable: bool = False


@dataclass(frozen=True)
class StrategyInfo:
    name: str
    description: str
    config: type
    build: Callable[[Any, StrategyContext], StrategyParts]
    needs_task_id_at_inference: bool = False
    module: str = ""


_REGISTRY: dict[str, StrategyInfo] = {}
_LOADED = False


def register_strategy(name: str, description: str, config: type,
                      needs_task_id_at_inference: bool = False):
    """Decorator for a strategy's `build(cfg, ctx) -> StrategyParts` function."""

    def deco(build: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name].module != build.__module__:
            warnings.warn(f"strategy '{name}' from {build.__module__} replaces "
                          f"the one from {_REGISTRY[name].module}", stacklevel=2)
        _REGISTRY[name] = StrategyInfo(name, description, config, build,
                                       needs_task_id_at_inference, build.__module__)
        return build

    return deco


def _load_all() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:  # noqa: BLE001 -- a broken plugin package must not break the suite
            warnings.warn(f"could not load strategy entry point '{ep.name}': {exc}", stacklevel=2)


def list_strategies() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def get_strategy(name: str) -> StrategyInfo:
    _load_all()
    if name not in _REGISTRY:
        raise UserError(f"unknown strategy '{name}'; valid strategies: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]

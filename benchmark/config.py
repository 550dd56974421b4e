"""Run configuration: profiles, typed `key=value` overrides, and their validation.

A profile fixes the model size, corpus size and training schedule. Any field of `TrainConfig`
or of the strategy's own config dataclass can be overridden on the command line as key=value;
unknown keys and values of the wrong type are errors that list the valid keys.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field

from benchmark.errors import UserError


@dataclass
class TrainConfig:
    """Training schedule shared by every strategy (per experience). The defaults are the
    `default` profile's; each profile in PROFILES sets some of them (`benchmark list profiles`)."""

    model_size: str = field(default="small", metadata={"help": "tiny | small | base"})
    corpus_size: str = field(default="default", metadata={"help": "quick | default | large"})
    epochs: int = field(default=2, metadata={"help": "epochs per experience"})
    batch_size: int = field(default=16, metadata={"help": "utterances per train batch"})
    eval_batch_size: int = field(default=64, metadata={"help": "utterances per eval batch"})
    lr: float = field(default=1e-3, metadata={"help": "AdamW peak learning rate"})
    weight_decay: float = field(default=1e-2, metadata={"help": "AdamW decoupled weight decay"})
    warmup_steps: int = field(default=100, metadata={"help": "linear warm-up steps per experience"})
    grad_clip: float = field(default=5.0, metadata={"help": "max global gradient norm"})
    ctc_weight: float = field(default=0.3, metadata={"help": "CTC share of the ASR loss"})
    max_train_per_subset: int = field(default=0, metadata={"help": "cap train utts (0 = all)"})
    max_eval_per_subset: int = field(default=0, metadata={
        "help": "cap test utts per subset, for smoke runs (0 = all; results not comparable)"})
    threads: int = field(default=2, metadata={"help": "torch CPU threads"})


PROFILES: dict[str, dict] = {
    # Tests and smoke runs: tiny model on the quick corpus, <= 60 s end to end on 2 cores.
    "quick": {"model_size": "tiny", "corpus_size": "quick", "epochs": 2, "batch_size": 16,
              "lr": 2e-3, "warmup_steps": 10},
    # The CPU default: small model on the default corpus.
    # 2 epochs per experience keeps a seven_task naive run near 15 min on an idle 2-core CPU.
    "default": {"model_size": "small", "corpus_size": "default", "epochs": 2, "batch_size": 16,
                "lr": 1e-3, "warmup_steps": 100},
    # GPU: base model on the large corpus.
    "paper": {"model_size": "base", "corpus_size": "large", "epochs": 20, "batch_size": 32,
              "lr": 5e-4, "warmup_steps": 500},
}


def profile_config(profile: str) -> TrainConfig:
    if profile not in PROFILES:
        raise UserError(f"unknown profile '{profile}'; valid profiles: {', '.join(PROFILES)}")
    return TrainConfig(**PROFILES[profile])


def parse_value(key: str, raw: str, typ) -> object:
    """Convert a CLI string to the annotated type (int, float, bool, str, Optional, Literal)."""
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if raw.lower() in ("none", "null"):
            return None
        return parse_value(key, raw, args[0])
    if origin is typing.Literal:
        choices = typing.get_args(typ)
        if raw not in choices:
            raise UserError(f"{key}={raw} is not one of: {', '.join(map(str, choices))}")
        return raw
    try:
        if typ is bool:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return raw.lower() in ("true", "1", "yes")
        return typ(raw)
    except ValueError:
        raise UserError(f"{key}={raw} is not a valid {typ.__name__}") from None


def apply_overrides(configs: list, overrides: list[str]) -> None:
    """Set `key=value` pairs on the first dataclass in `configs` that has the key."""
    for item in overrides:
        if "=" not in item:
            raise UserError(f"override '{item}' must look like key=value")
        key, raw = item.split("=", 1)
        for cfg in configs:
            hints = typing.get_type_hints(type(cfg))
            if key in hints:
                setattr(cfg, key, parse_value(key, raw, hints[key]))
                break
        else:
            valid = sorted(f.name for c in configs for f in dataclasses.fields(c))
            raise UserError(f"unknown override '{key}'; valid keys: {', '.join(valid)}")


def describe(cfg_cls) -> list[tuple[str, str, object, str]]:
    """(name, type, default, help) for each field of a config dataclass."""
    hints = typing.get_type_hints(cfg_cls)
    rows = []
    for f in dataclasses.fields(cfg_cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        typ = hints[f.name]
        if typing.get_origin(typ) is typing.Literal:
            tname = "|".join(map(str, typing.get_args(typ)))
        else:
            tname = getattr(typ, "__name__", str(typ))
        rows.append((f.name, tname, default, f.metadata.get("help", "")))
    return rows

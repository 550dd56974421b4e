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
from typing import Literal

from benchmark.errors import UserError

# The paper profile names no model: its Whisper small/medium must be a local directory.
PAPER_MODEL_REQUIRED = "whisper:REQUIRED"


@dataclass
class TrainConfig:
    """Training schedule shared by every strategy (per experience). The defaults are the
    `default` profile's; each profile in PROFILES sets some of them (`benchmark list profiles`)."""

    model: str = field(default="whisper-tiny.en", metadata={
        "help": "whisper-tiny.en | whisper:/path (HF dir or OpenAI .pt) | conformer-tiny|small|base"})
    corpus_size: str = field(default="default", metadata={"help": "quick | default | large"})
    epochs: int = field(default=1, metadata={"help": "epochs per experience"})
    batch_size: int = field(default=8, metadata={"help": "utterances per train batch"})
    eval_batch_size: int = field(default=64, metadata={"help": "utterances per eval batch"})
    lr: float = field(default=1e-4, metadata={"help": "AdamW peak learning rate"})
    weight_decay: float = field(default=1e-2, metadata={"help": "AdamW decoupled weight decay"})
    warmup_steps: int = field(default=50, metadata={"help": "linear warm-up steps per experience"})
    grad_clip: float = field(default=1.0, metadata={"help": "max global gradient norm"})
    ctc_weight: float = field(default=0.0, metadata={
        "help": "CTC share of the ASR loss (conformer only; Whisper has no CTC head)"})
    precision: Literal["fp32", "bf16", "fp16"] = field(default="bf16", metadata={
        "help": "bf16 autocast for training and evaluation (fp32 on a CPU without native "
                "bf16), fp16 autocast with a gradient scaler (chosen for bf16 on a GPU "
                "without bf16), or plain fp32"})
    train_embeddings: bool = field(default=False, metadata={
        "help": "Whisper: also train the 51,864-row token table (tied to the output)"})
    max_train_per_subset: int = field(default=0, metadata={"help": "cap train utts (0 = all)"})
    max_eval_per_subset: int = field(default=0, metadata={
        "help": "cap test utts per subset, for smoke runs (0 = all; results not comparable)"})
    threads: int = field(default=2, metadata={"help": "torch CPU threads"})


PROFILES: dict[str, dict] = {
    # Tests and smoke runs: the from-scratch conformer-tiny on the quick corpus, <= 60 s end to
    # end on 2 cores (a pretrained Whisper costs minutes even on the quick corpus).
    "quick": {"model": "conformer-tiny", "corpus_size": "quick", "epochs": 2, "batch_size": 16,
              "lr": 2e-3, "warmup_steps": 10, "grad_clip": 5.0, "ctc_weight": 0.3,
              "precision": "fp32"},
    # The CPU default: the pretrained Whisper tiny.en (UniverSLU-style prompts) fine-tuned for
    # one epoch per experience, bf16 autocast, token table frozen. A CPU without native bf16
    # (no AVX-512) runs it in fp32 instead: emulated bf16 makes a train step ~4x slower
    # (configure_device). Batches of 8, not 16: the same epoch in twice the updates took about
    # as long and learned IC after ER far better (results/ablation_plasticity/).
    "default": {"model": "whisper-tiny.en", "corpus_size": "default", "epochs": 1,
                "batch_size": 8, "lr": 1e-4, "warmup_steps": 50, "grad_clip": 1.0,
                "ctc_weight": 0.0, "precision": "bf16"},
    # The from-scratch baseline of earlier versions (conformer-small, ~3.7 M parameters):
    # "pretrained vs from scratch" is this profile, or model=conformer-small on any other.
    "conformer": {"model": "conformer-small", "corpus_size": "default", "epochs": 2,
                  "batch_size": 16, "lr": 1e-3, "warmup_steps": 100, "grad_clip": 5.0,
                  "ctc_weight": 0.3, "precision": "fp32"},
    # GPU: a local Whisper small or medium (model=whisper:/path is required) on the large
    # corpus, bf16 autocast.
    "paper": {"model": PAPER_MODEL_REQUIRED, "corpus_size": "large", "epochs": 3,
              "batch_size": 32, "lr": 5e-5, "warmup_steps": 500, "grad_clip": 1.0,
              "ctc_weight": 0.0, "precision": "bf16"},
}


def profile_config(profile: str) -> TrainConfig:
    if profile not in PROFILES:
        raise UserError(f"unknown profile '{profile}'; valid profiles: {', '.join(PROFILES)}")
    return TrainConfig(**PROFILES[profile])


def train_config_from_saved(saved: dict) -> TrainConfig:
    """A run's recorded `train` config. Runs made before the model families (suite 0.1) named a
    conformer size as model_size and trained in fp32 without the newer fields."""
    saved = dict(saved)
    if "model_size" in saved:
        saved["model"] = f"conformer-{saved.pop('model_size')}"
        saved.setdefault("precision", "fp32")
    return TrainConfig(**saved)


def check_model_choice(train: TrainConfig, profile: str) -> None:
    """One-line errors for a model name that can't be built (before any data is touched)."""
    from benchmark.models.backbones import check_model_name

    if train.model == PAPER_MODEL_REQUIRED:
        raise UserError(f"profile '{profile}' needs a local Whisper small or medium: add "
                        "model=whisper:/path/to/whisper-small (a Hugging Face directory)")
    check_model_name(train.model)
    if train.ctc_weight > 0 and not train.model.startswith("conformer-"):
        raise UserError(f"ctc_weight={train.ctc_weight}: {train.model} has no CTC head; "
                        "set ctc_weight=0")


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

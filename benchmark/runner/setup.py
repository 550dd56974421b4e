"""What a run (or a compression study) starts from: seeds, the corpus, the model and its stream."""
from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import torch

from benchmark.config import TrainConfig
from benchmark.environment import cpu_has_fast_bf16
from benchmark.errors import UserError
from benchmark.streams import build_stream


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def ensure_corpus(corpus_arg: str | None, size: str, say) -> Path:
    """The corpus folder: `corpus_arg` (must be complete) or the profile's default, built if
    missing (an interrupted build resumes)."""
    from benchmark.data import corpus_is_complete
    from benchmark.data.build import build_corpus, default_corpus_dir

    corpus = Path(corpus_arg) if corpus_arg else default_corpus_dir(size, 0)
    if not corpus_is_complete(corpus):
        if corpus_arg:
            raise UserError(f"no complete corpus at {corpus}; build it with "
                            f"`benchmark data build --size {size} --out {corpus}`")
        say(f"corpus {corpus} missing: building it (benchmark data build --size {size})")
        build_corpus(size, out=corpus, seed=0, log=say)
    return corpus


def build_backbone_and_stream(train: TrainConfig, stream, corpus: Path | None, say,
                              locations=None):
    """The run's model family (benchmark.models.backbones) and its stream, with the features
    that model reads; the conformer also gets the corpus' fbank CMVN statistics.
    Seeded by the caller (the conformer's random initialisation)."""
    from benchmark.data.features import load_stats
    from benchmark.models.backbones import build_backbone

    backbone = build_backbone(train.model, train_embeddings=train.train_embeddings)
    built = build_stream(corpus, stream, backbone.tokenizer, train.max_train_per_subset or None,
                         train.max_eval_per_subset or None, locations, backbone.feature_kind, say)
    if backbone.uses_cmvn:
        if stream.sources:
            from benchmark.stream_file import train_feature_stats

            backbone.model.set_cmvn(*train_feature_stats(built))
        else:
            backbone.model.set_cmvn(*load_stats(corpus))
    return backbone, built


def configure_device(train: TrainConfig, device: str, say) -> TrainConfig:
    """The schedule as this device runs it. On a CPU without native bf16: fp32 instead of bf16
    autocast (emulated bf16 is several times slower than fp32). On CUDA: TF32 matmuls and
    convolutions (tensor-core speed at close to fp32 accuracy on Ampere and later), and fp16
    autocast with a gradient scaler where the GPU has no native bf16 (torch would emulate it,
    slowly). The requested precision stays in config.json (and the resume fingerprint, so a
    requeue onto another machine still resumes); environment.json records the one used."""
    if torch.device(device).type == "cpu":
        if train.precision == "bf16" and not cpu_has_fast_bf16():
            say(f"this CPU ({torch.backends.cpu.get_cpu_capability()}) has no native bf16: "
                "precision=fp32 instead (emulated bf16 autocast is several times slower)")
            return dataclasses.replace(train, precision="fp32")
        return train
    if torch.device(device).type != "cuda":
        return train
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    with torch.cuda.device(torch.device(device)):
        native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
    if train.precision == "bf16" and not native_bf16:
        say(f"{torch.cuda.get_device_name(device)} has no native bf16: precision=fp16 "
            "(autocast with a gradient scaler) instead")
        return dataclasses.replace(train, precision="fp16")
    return train

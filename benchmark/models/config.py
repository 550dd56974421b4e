"""Model sizes. One dataclass, one registry; `build_model(size)` picks from `MODEL_SIZES`."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

from benchmark.errors import UserError


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of the conformer encoder / transformer decoder SLU model.

    Frame rate: the front end takes 10 ms fbank frames and subsamples 4x, so the encoder runs at
    25 frames per second.
    """

    n_mels: int = 80
    d_model: int = 144
    n_heads: int = 4
    enc_layers: int = 6
    enc_ffn: int = 576
    conv_kernel: int = 15  # depthwise conv kernel, in encoder frames (15 = 0.6 s at 25 fps)
    dec_layers: int = 2
    dec_ffn: int = 576
    # Conv2d channels of the 4x subsampling front end. ESPnet uses d_model; on our 2-core CPU that
    # made the front end cost more than 6 conformer layers (front-end forward, batch 16 x 3 s,
    # 1 thread: 144 channels 285 ms, 64 88 ms, 32 11 ms), so the CPU sizes use 32.
    subsample_channels: int = 32
    # Dropout on each residual branch. Dropout inside the FFN (4x wider) and on attention
    # probabilities is left out by default: on CPU drawing those masks took ~17% of a train step.
    dropout: float = 0.1
    attn_dropout: float = 0.0
    # SpecAugment (training only). Time masks are in input frames (10 ms): at most 2 x 0.2 s,
    # and `time_mask_p` caps each at that fraction of the (padded) batch length, so short
    # command words keep most of their frames.
    freq_masks: int = 2
    freq_mask_width: int = 15
    time_masks: int = 2
    time_mask_width: int = 20
    time_mask_p: float = 0.2
    max_positions: int = 4096  # sinusoidal tables grow on demand beyond this
    # A LayerNorm closing every conformer block (torchaudio/ESPnet) instead of one after the
    # stack: post-LN-like, needs a long warm-up (see benchmark/models/encoder.py). Off.
    block_final_norm: bool = False


MODEL_SIZES: dict[str, ModelConfig] = {
    # Unit tests: a train step on batch 8 takes a few tens of ms.
    "tiny": ModelConfig(d_model=64, n_heads=4, enc_layers=2, enc_ffn=128, conv_kernel=7,
                        dec_layers=1, dec_ffn=128, subsample_channels=32, dropout=0.0),
    # The CPU default (2 cores).
    "small": ModelConfig(),
    # GPU.
    "base": ModelConfig(d_model=256, n_heads=4, enc_layers=12, enc_ffn=1280, conv_kernel=31,
                        dec_layers=6, dec_ffn=2048, subsample_channels=256, attn_dropout=0.1),
}


def get_config(size: str, **overrides: object) -> ModelConfig:
    """The config registered as `size`, with `overrides` (field=value) applied."""
    if size not in MODEL_SIZES:
        raise UserError(f"unknown model size '{size}'; valid sizes: {', '.join(MODEL_SIZES)}")
    valid = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise UserError(
            f"unknown model option(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}"
        )
    return replace(MODEL_SIZES[size], **overrides)

"""80-dim log-mel filterbank features and the cached per-split feature files.

`compute_fbank` is the single feature definition used by the synthetic corpus and, later, by
real-data loaders, so that models trained on one can be evaluated on the other.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchaudio

from benchmark.errors import UserError

N_MELS = 80


def compute_fbank(wave: np.ndarray, sample_rate: int = 16000) -> torch.Tensor:
    """Kaldi fbank of a float waveform in [-1, 1]: (frames, 80) float32.

    25 ms windows every 10 ms; dither=0 so features are deterministic; the input is scaled by
    32768 because Kaldi's defaults (energy floor, log offsets) assume int16 amplitudes.
    """
    x = torch.as_tensor(np.asarray(wave, dtype=np.float32)).reshape(1, -1) * 32768.0
    with torch.no_grad():
        return torchaudio.compliance.kaldi.fbank(
            x, num_mel_bins=N_MELS, frame_length=25.0, frame_shift=10.0, dither=0.0,
            sample_frequency=float(sample_rate))


def features_path(root: str | Path, subset: str, split: str) -> Path:
    return Path(root) / "features" / subset / f"{split}.pt"


def _load(path: Path) -> dict:
    if not path.is_file():
        raise UserError(f"missing feature file {path}; run `benchmark data build` first")
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # corrupted / truncated file
        raise UserError(f"cannot read feature file {path} ({exc.__class__.__name__}); "
                        "delete it and re-run `benchmark data build`") from exc


def load_features(root: str | Path, subset: str, split: str) -> dict:
    """{'ids': list[str], 'feats': HalfTensor (total_frames, 80), 'offsets': LongTensor (N+1,)}.

    Utterance i is `feats[offsets[i]:offsets[i+1]]`; order is the manifest's order.
    """
    data = _load(features_path(root, subset, split))
    if set(data) != {"ids", "feats", "offsets"} or len(data["offsets"]) != len(data["ids"]) + 1:
        raise UserError(f"malformed feature file {features_path(root, subset, split)}; "
                        "delete it and re-run `benchmark data build`")
    return data


def load_stats(root: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Global (mean, std), each float32 (80,), over all train frames of the 7 main subsets."""
    data = _load(Path(root) / "features" / "stats.pt")
    return data["mean"].float(), data["std"].float()

"""Features and the cached per-split feature files, one folder per feature kind.

- "fbank": 80-dim Kaldi fbank (`compute_fbank`), computed while the corpus is built; the
  from-scratch conformer reads it (with global CMVN from `features/stats.pt`).
- "whisper-mel80" / "whisper-mel128": Whisper's log-mel spectrogram (transformers'
  WhisperFeatureExtractor: 25 ms / 10 ms STFT, Slaney mel, log10, floor at max - 8, (x + 4) / 4),
  unpadded. Computed from the corpus audio on first use and cached next to the fbank files in
  `features-<kind>/`, so every later run reads it.
"""
from __future__ import annotations

import fcntl
import time
from pathlib import Path

import numpy as np
import torch
import torchaudio

from benchmark.errors import UserError

N_MELS = 80
FEATURE_KINDS = ("fbank", "whisper-mel80", "whisper-mel128")


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


def whisper_log_mel(wave: np.ndarray, n_mels: int = 80) -> torch.Tensor:
    """Whisper's log-mel features of a 16 kHz float waveform: (len // 160, n_mels) float32."""
    from transformers import WhisperFeatureExtractor

    extractor = _EXTRACTORS.get(n_mels)
    if extractor is None:
        extractor = _EXTRACTORS[n_mels] = WhisperFeatureExtractor(feature_size=n_mels)
    out = extractor(np.asarray(wave, dtype=np.float32), sampling_rate=16000, padding="longest",
                    return_tensors="pt").input_features
    return out[0].T.contiguous()


_EXTRACTORS: dict = {}


def feature_dim(kind: str) -> int:
    check_kind(kind)
    return 80 if kind in ("fbank", "whisper-mel80") else 128


def check_kind(kind: str) -> None:
    if kind not in FEATURE_KINDS:
        raise UserError(f"unknown feature kind '{kind}'; valid: {', '.join(FEATURE_KINDS)}")


def features_path(root: str | Path, subset: str, split: str, kind: str = "fbank") -> Path:
    check_kind(kind)
    folder = "features" if kind == "fbank" else f"features-{kind}"
    return Path(root) / folder / subset / f"{split}.pt"


def _load(path: Path) -> dict:
    if not path.is_file():
        raise UserError(f"missing feature file {path}; run `benchmark data build` first")
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # corrupted / truncated file
        raise UserError(f"cannot read feature file {path} ({exc.__class__.__name__}); "
                        "delete it and re-run `benchmark data build`") from exc


def load_features(root: str | Path, subset: str, split: str, kind: str = "fbank",
                  log=None) -> dict:
    """{'ids': list[str], 'feats': HalfTensor (total_frames, dim), 'offsets': LongTensor (N+1,)}.

    Utterance i is `feats[offsets[i]:offsets[i+1]]`; order is the manifest's order. Whisper
    features missing from the cache are computed from the split's audio first (`log` hears
    about it).
    """
    path = features_path(root, subset, split, kind)
    if kind != "fbank" and not path.is_file():
        cache_whisper_features(Path(root), subset, split, kind, log or (lambda msg: None))
    data = _load(path)
    if set(data) != {"ids", "feats", "offsets"} or len(data["offsets"]) != len(data["ids"]) + 1:
        raise UserError(f"malformed feature file {path}; delete it and run again")
    return data


def cache_whisper_features(root: Path, subset: str, split: str, kind: str, log) -> None:
    """Compute `kind` for every utterance of the split's manifest (audio paths relative to
    `root`, or absolute for prepared real corpora) and save them atomically. A lock file keeps
    two runs on one corpus from doing the work twice."""
    from benchmark.corpora.prepare import read_audio
    from benchmark.data.manifest import manifest_path, read_manifest
    from benchmark.io import atomic_torch_save

    path = features_path(root, subset, split, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{split}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.is_file():  # another run computed it while we waited
            return
        rows = read_manifest(manifest_path(root, subset, split))
        t0 = time.perf_counter()
        feats = []
        for r in rows:
            audio = Path(r["path"]) if Path(r["path"]).is_absolute() else root / r["path"]
            try:
                wave, _sr, _dur = read_audio(audio)
            except (OSError, RuntimeError, ValueError) as exc:
                raise UserError(f"cannot read {audio} to compute {kind} features ({exc}); "
                                "rebuild or re-prepare the corpus") from exc
            feats.append(whisper_log_mel(wave, feature_dim(kind)).half())
        lengths = torch.tensor([0] + [f.shape[0] for f in feats], dtype=torch.long)
        atomic_torch_save(path, {"ids": [r["id"] for r in rows], "feats": torch.cat(feats),
                                 "offsets": torch.cumsum(lengths, 0)})
        log(f"cached {kind} features of {subset}/{split}: {len(rows)} utterances in "
            f"{time.perf_counter() - t0:.1f} s")


def load_stats(root: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Global (mean, std), each float32 (80,), over all train frames of the 7 main subsets."""
    data = _load(Path(root) / "features" / "stats.pt")
    return data["mean"].float(), data["std"].float()

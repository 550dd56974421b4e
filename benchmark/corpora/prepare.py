"""Decode, resample, filter and cache one split of a real corpus in the suite's corpus layout.

The output folder looks like a SynthSLU-7 corpus holding a single subset (named after the
task): `manifests/<task>/<split>.jsonl` + `features/<task>/<split>.pt`, so the stream builder
and the evaluator read real and synthetic data the same way. `prepared.json` records what was
kept, skipped and why.

The cache key covers the loader, root, task, split, duration limit, feature definition and every
listed file's size and mtime: edit the corpus and it is re-read; run twice and it is not.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import multiprocessing as mp
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from benchmark.corpora.base import Utterance, load_utterances
from benchmark.data.features import compute_fbank
from benchmark.data.manifest import atomic_write_text, read_manifest, write_manifest
from benchmark.errors import UserError
from benchmark.tasks import TASKS

SAMPLE_RATE = 16000
PREP_VERSION = "1"  # bump when features or manifest rows change meaning
DEFAULT_MAX_DURATION = 30.0


def default_cache_dir() -> Path:
    return Path(os.environ.get("SLU_BENCHMARK_CACHE", "data/cache"))


@dataclass(frozen=True)
class PreparedSplit:
    root: Path  # corpus-layout folder; the subset name inside it is `task`
    corpus: str
    task: str
    split: str
    summary: dict

    @property
    def rows(self) -> list[dict]:
        return read_manifest(self.root / "manifests" / self.task / f"{self.split}.jsonl")


def outside_vocabulary(task: str, rows: list[dict]) -> Counter:
    """Classification labels of `rows` that the task vocabulary does not have, with counts."""
    return _outside(task, [r["label"] for r in rows])


def prepare_split(corpus: str, data_root: str | Path, task: str, split: str, *,
                  max_duration: float = DEFAULT_MAX_DURATION, skip_bad: bool = False,
                  limit: int = 0, cache_dir: str | Path | None = None, jobs: int | None = None,
                  log=print) -> PreparedSplit:
    """Features of one corpus split, computed once and cached (see the module docstring).

    limit > 0 keeps a seeded random sample of at most `limit` utterances whose labels the task
    vocabulary has (the only ones a model can train on), chosen *before* decoding, so capping a
    huge split (Common Voice) costs only what is kept. limit = 0 keeps everything, labels
    outside the vocabulary included (they are reported; `benchmark eval` scores them).
    """
    listed = load_utterances(corpus, data_root, task, split)
    unknown_listed = _outside(task, [u.label for u in listed])
    utts = _sample(task, listed, limit)
    key = _cache_key(corpus, Path(data_root).expanduser().resolve(), task, split, max_duration,
                     skip_bad, limit, utts)
    out = Path(cache_dir or default_cache_dir()) / f"{corpus}-{task}-{split}-{key[:12]}"
    done = out / "prepared.json"
    out.mkdir(parents=True, exist_ok=True)
    # One process prepares a split at a time (e.g. `benchmark sweep --jobs 3` on a stream file);
    # the others wait here, then find the finished cache.
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _cached(out, task, split):
            summary = json.loads(done.read_text(encoding="utf-8"))
            return PreparedSplit(out, corpus, task, split, summary)
        done.unlink(missing_ok=True)
        return _prepare(corpus, data_root, task, split, listed, unknown_listed, utts, out,
                        max_duration, skip_bad, limit, jobs, log)


def _cached(out: Path, task: str, split: str) -> bool:
    try:
        summary = json.loads((out / "prepared.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(summary.get("complete")) and (out / "features" / task / f"{split}.pt").is_file() \
        and (out / "manifests" / task / f"{split}.jsonl").is_file()


def _outside(task: str, labels: list) -> Counter:
    spec = TASKS[task]
    if spec.kind != "classification":
        return Counter()
    return Counter(label for label in labels if label not in spec.labels)


def _sample(task: str, utts: list[Utterance], limit: int) -> list[Utterance]:
    if not limit:
        return utts
    spec = TASKS[task]
    usable = [u for u in utts if spec.kind != "classification" or u.label in spec.labels]
    if len(usable) <= limit:
        return usable
    # Loaders list files grouped (by word, locale, speaker): the first N would be one class.
    pick = torch.randperm(len(usable), generator=torch.Generator().manual_seed(0))[:limit]
    return [usable[i] for i in sorted(pick.tolist())]


def _prepare(corpus, data_root, task, split, listed, unknown_listed, utts, out, max_duration,
             skip_bad, limit, jobs, log) -> PreparedSplit:
    t0 = time.perf_counter()
    log(f"[{corpus}] {task}/{split}: reading {len(utts)} files from {data_root}"
        + (f" (a sample of {len(listed)})" if len(utts) < len(listed) else ""))
    results = _features(utts, jobs)
    rows, feats, bad, long_ = [], [], [], []
    resampled, downmixed = Counter(), 0  # of the kept files: what decoding changed
    for utt, res in zip(utts, results):
        if isinstance(res, str):
            if not skip_bad:
                raise UserError(f"{corpus}: cannot use {utt.audio} ({res}); fix or remove it, or "
                                "skip such files (--skip-bad, or skip_bad: true in the source)")
            bad.append(f"{utt.audio}: {res}")
            continue
        fbank, duration, sr, channels = res
        if duration > max_duration:
            long_.append(str(utt.audio))
            continue
        if sr != SAMPLE_RATE:
            resampled[sr] += 1
        downmixed += channels > 1
        rows.append(_row(utt, split, duration, sr))
        feats.append(fbank)
    if not rows:
        raise UserError(f"{corpus}: every file of {task}/{split} was skipped (unreadable or "
                        f"longer than max_duration={max_duration}s)")
    offsets = torch.tensor([0] + [f.shape[0] for f in feats]).cumsum(0)
    fpath = out / "features" / task / f"{split}.pt"
    fpath.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"ids": [r["id"] for r in rows], "feats": torch.cat(feats),
                "offsets": offsets}, fpath.with_name(fpath.name + ".tmp"))
    del feats
    os.replace(fpath.with_name(fpath.name + ".tmp"), fpath)
    write_manifest(out / "manifests" / task / f"{split}.jsonl", rows)
    unknown = outside_vocabulary(task, rows)
    shown = unknown or unknown_listed  # a capped sample holds only known labels
    summary = {
        "complete": True, "corpus": corpus, "root": str(data_root), "task": task, "split": split,
        "max_duration": max_duration, "skip_bad": skip_bad, "limit": limit,
        "listed": len(listed), "outside_vocabulary_listed": dict(unknown_listed.most_common()),
        "decoded": len(utts), "kept": len(rows),
        "hours": round(sum(r["duration"] for r in rows) / 3600, 4),
        "skipped_too_long": len(long_), "skipped_unreadable": len(bad),
        "examples_too_long": long_[:5], "examples_unreadable": bad[:5],
        "outside_vocabulary": dict(unknown.most_common()),
        "resampled_from_hz": {str(k): v for k, v in sorted(resampled.items())},
        "downmixed_to_mono": downmixed,
        "seconds": round(time.perf_counter() - t0, 2)}
    atomic_write_text(out / "prepared.json", json.dumps(summary, indent=2) + "\n")
    log(f"[{corpus}] {task}/{split}: kept {len(rows)} of {len(utts)} ({summary['hours']} h); "
        f"skipped {len(long_)} over {max_duration}s and {len(bad)} unreadable"
        + (f"; {sum(shown.values())} with labels outside the task vocabulary "
           f"({', '.join(list(shown)[:5])}{'...' if len(shown) > 5 else ''})" if shown
           else "")
        + (f"; resampled to 16 kHz: {sum(resampled.values())} (from "
           f"{', '.join(f'{k} Hz: {v}' for k, v in sorted(resampled.items()))})"
           if resampled else "")
        + (f"; downmixed to mono: {downmixed}" if downmixed else "")
        + f" [{summary['seconds']}s]")
    return PreparedSplit(out, corpus, task, split, summary)


def _cache_key(corpus, root, task, split, max_duration, skip_bad, limit,
               utts: list[Utterance]) -> str:
    h = hashlib.sha256(json.dumps([PREP_VERSION, corpus, str(root), task, split, max_duration,
                                   skip_bad, limit]).encode())
    for u in utts:
        try:
            st = u.audio.stat()
            stamp = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = None
        h.update(json.dumps([u.id, str(u.audio), u.label, u.text, u.entities, u.speaker,
                             stamp]).encode())
    return h.hexdigest()


def read_audio(path: Path) -> tuple[np.ndarray, int, float]:
    """(mono float32 waveform at 16 kHz, original rate, duration in s); raises on bad audio.
    Several channels are averaged (downmixed); other rates are resampled."""
    wave, sr, duration, _ = _read_audio(path)
    return wave, sr, duration


def _read_audio(path: Path) -> tuple[np.ndarray, int, float, int]:
    """read_audio's result plus the file's channel count."""
    _check_wav_length(path)
    wave, sr = sf.read(str(path), dtype="float32", always_2d=True)
    channels = wave.shape[1]
    wave = wave.mean(axis=1)
    if wave.size < sr * 0.05:
        raise ValueError("empty or shorter than 50 ms")
    if not np.isfinite(wave).all():
        raise ValueError("non-finite samples")
    duration = wave.size / sr
    if sr != SAMPLE_RATE:
        import torchaudio

        # oneDNN builds a new conv primitive for every input length, ~10x slower per utterance
        # (see benchmark/data/audio.py); the native kernel is used instead.
        prev, torch.backends.mkldnn.enabled = torch.backends.mkldnn.enabled, False
        try:
            wave = torchaudio.functional.resample(torch.from_numpy(wave), sr, SAMPLE_RATE).numpy()
        finally:
            torch.backends.mkldnn.enabled = prev
    return wave, sr, duration, channels


def _check_wav_length(path: Path) -> None:
    """Raise if a RIFF/WAVE file holds less audio than its header declares. libsndfile reads
    such a file without complaint and returns the frames that are there, so a copy cut short
    would silently train on a shorter clip. (FLAC decoders already fail on a cut stream.)"""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return  # not WAV: libsndfile judges it
        size = os.fstat(f.fileno()).st_size
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return  # no data chunk: libsndfile reports that
            declared = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"data":
                held = size - f.tell()
                # 0 and 0xFFFFFFFF: size unknown (written by a streaming encoder), not a cut
                if declared not in (0, 0xFFFFFFFF) and declared > held:
                    raise ValueError(f"truncated: its header declares {declared} bytes of "
                                     f"audio, the file holds {held}")
                return
            f.seek(declared + (declared & 1), os.SEEK_CUR)  # chunks are word-aligned


def _one(path: str) -> tuple[torch.Tensor, float, int, int] | str:
    if not Path(path).is_file():
        return "missing"
    try:
        wave, sr, duration, channels = _read_audio(Path(path))
    except Exception as exc:  # noqa: BLE001 -- libsndfile raises several types; name the reason
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'unreadable'}"
    # fp16 as cached: halves what the pool sends back and what waits for the final concat
    return compute_fbank(wave, SAMPLE_RATE).half(), duration, sr, channels


def _init_worker() -> None:
    torch.set_num_threads(1)


def _features(utts: list[Utterance], jobs: int | None) -> list:
    paths = [str(u.audio) for u in utts]
    jobs = jobs or min(os.cpu_count() or 1, 8)
    if jobs == 1 or len(paths) < 64:  # a pool costs more than it saves on a handful of files
        return [_one(p) for p in paths]
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with mp.get_context(method).Pool(jobs, _init_worker) as pool:
        return pool.map(_one, paths, chunksize=32)


def _row(utt: Utterance, split: str, duration: float, sr: int) -> dict:
    return {"id": utt.id, "path": str(utt.audio), "task": utt.task, "subset": utt.task,
            "split": split, "text": utt.text, "label": utt.label,
            "entities": None if utt.entities is None
            else [{"type": t, "value": v} for t, v in utt.entities],
            "speaker": utt.speaker, "voice": "", "language": utt.language, "accent": None,
            "duration": round(duration, 3), "sample_rate": sr, "snr_db": None}

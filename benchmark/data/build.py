"""Build (or resume) the SynthSLU-7 corpus on disk.

Work is cut into chunks of consecutive utterances of one (subset, split). A worker process
synthesises a chunk, writes its FLAC files (tmp + os.replace) and finally one chunk file with
the chunk's manifest rows and features; that file's atomic appearance is what records the chunk
as done. When every chunk of a (subset, split) exists they are merged into the manifest and the
feature file. `corpus.json` with `"complete": true` is written last.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from benchmark.data import CORPUS_VERSION, corpus_is_complete
from benchmark.data.features import compute_fbank, features_path, load_features
from benchmark.data.generate import Context, make_context, make_utterance
from benchmark.data.manifest import (
    atomic_write_text,
    dumps_row,
    manifest_path,
    read_manifest,
    write_manifest,
)
from benchmark.data.speakers import build_pools
from benchmark.data.tts import Espeak
from benchmark.errors import UserError
from benchmark.tasks import BUILTIN_SUBSETS, TASKS

SPLITS = ("train", "dev", "test")
MAIN_SUBSETS = tuple(TASKS)  # the seven task subsets; *_new are the adaptation subsets


@dataclass(frozen=True)
class SizeSpec:
    main: tuple[int, int, int]  # utterances per split (train, dev, test) of each main subset
    shift: tuple[int, int, int]  # ... of asr_new / ic_new
    main_speakers: tuple[int, int, int]
    shift_speakers: tuple[int, int, int]
    chunk: int  # utterances per chunk (resume granularity, load balancing)


SIZES: dict[str, SizeSpec] = {
    # quick: for tests and smoke runs. 56 = lcm(4, 7, 8) gives every er/lid/acc class the same
    # count; the *_new subsets hold >= 2 of each of the 26 intents in train and test.
    "quick": SizeSpec((112, 24, 56), (52, 26, 52), (24, 6, 6), (8, 3, 3), 56),
    # default: ~2000/300/300 per task as specified. Measured on 2 cores: ~170 s, ~1.6 GB
    # (audio ~21 kB/s: the noise floor dominates FLAC size; fp16 features 16 kB/s), so the
    # 1 GB target is not reachable at this size; silences are short and the adaptation
    # subsets smaller (600 train: adaptation is the low-data regime) to keep it down.
    "default": SizeSpec((2000, 300, 300), (600, 300, 300), (24, 6, 6), (8, 3, 3), 200),
    "large": SizeSpec((8000, 1200, 1200), (2400, 1200, 1200), (48, 12, 12), (12, 4, 4), 400),
}


def default_corpus_dir(size: str, seed: int) -> Path:
    """`data/synthslu7-{size}-seed{seed}` relative to the current directory."""
    return Path("data") / f"synthslu7-{size}-seed{seed}"


def split_sizes(spec: SizeSpec, subset: str) -> dict[str, int]:
    counts = spec.shift if subset.endswith("_new") else spec.main
    return dict(zip(SPLITS, counts))


def utt_id(subset: str, split: str, index: int) -> str:
    return f"{subset}-{split}-{index:06d}"


def audio_relpath(subset: str, split: str, uid: str) -> str:
    return f"audio/{subset}/{split}/{uid}.flac"


# ---- worker side -------------------------------------------------------------------------------
_WORKER: dict = {}


def _init_worker(ctx: Context) -> None:
    """Once per worker process: one torch thread (workers already fill the cores)."""
    torch.set_num_threads(1)
    _WORKER["ctx"] = ctx


def _chunk_file(root: Path, subset: str, split: str, k: int) -> Path:
    return root / ".work" / subset / split / f"chunk-{k:04d}.pt"


def _run_chunk(job: tuple[str, str, str, int, int, int]) -> tuple[str, str, int]:
    root_s, subset, split, k, start, stop = job
    root = Path(root_s)
    ctx = _WORKER["ctx"]
    rows, feats = [], []
    (root / "audio" / subset / split).mkdir(parents=True, exist_ok=True)
    # A fresh espeak engine per chunk: espeak output depends on the engine's history, so a
    # chunk is reproducible only if it always starts from a pristine engine (see tts.Espeak).
    with Espeak() as engine:
        for index in range(start, stop):
            rows.append(_one(root, ctx, engine, subset, split, index, feats))
    out = _chunk_file(root, subset, split, k)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save({"rows": rows, "feats": feats}, tmp)
    os.replace(tmp, out)
    return subset, split, k


def _one(root: Path, ctx: Context, engine: Espeak, subset: str, split: str, index: int,
         feats: list) -> str:
    """Synthesise one utterance, write its FLAC atomically, append its features; row JSON."""
    row, wave = make_utterance(ctx, engine, subset, split, index)
    uid = utt_id(subset, split, index)
    rel = audio_relpath(subset, split, uid)
    tmp = root / (rel + ".tmp")
    sf.write(tmp, wave, 16000, subtype="PCM_16", format="FLAC")
    os.replace(tmp, root / rel)
    # Features from the int16-quantised signal = exactly what a reader of the FLAC gets.
    feats.append(compute_fbank(wave.astype(np.float32) / 32768.0).half())
    return dumps_row({"id": uid, "path": rel, **row})


# ---- main side ---------------------------------------------------------------------------------
def _split_done(root: Path, subset: str, split: str, n: int) -> bool:
    """Merged outputs exist, are readable and every audio file they list is present."""
    mpath, fpath = manifest_path(root, subset, split), features_path(root, subset, split)
    if not (mpath.is_file() and fpath.is_file()):
        return False
    try:
        rows = read_manifest(mpath)
    except UserError:
        return False
    return len(rows) == n and all((root / r["path"]).is_file() for r in rows)


def _merge(root: Path, subset: str, split: str, n_chunks: int) -> None:
    rows, feats = [], []
    for k in range(n_chunks):
        chunk = torch.load(_chunk_file(root, subset, split, k), weights_only=True)
        rows += [json.loads(r) for r in chunk["rows"]]
        feats += chunk["feats"]
    lengths = torch.tensor([0] + [f.shape[0] for f in feats], dtype=torch.long)
    data = {"ids": [r["id"] for r in rows], "feats": torch.cat(feats),
            "offsets": torch.cumsum(lengths, 0)}
    fpath = features_path(root, subset, split)
    fpath.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, fpath.with_name(fpath.name + ".tmp"))
    os.replace(fpath.with_name(fpath.name + ".tmp"), fpath)
    write_manifest(manifest_path(root, subset, split), rows)  # manifest last: marks split done


def _stats(root: Path) -> None:
    """Global mean/std (float64 accumulation) over train frames of the seven main subsets."""
    total, sq, n = torch.zeros(80, dtype=torch.float64), torch.zeros(80, dtype=torch.float64), 0
    for subset in MAIN_SUBSETS:
        f = load_features(root, subset, "train")["feats"].double()
        total += f.sum(0)
        sq += (f * f).sum(0)
        n += f.shape[0]
    mean = total / n
    std = (sq / n - mean * mean).clamp_min(1e-8).sqrt()
    out = root / "features" / "stats.pt"
    torch.save({"mean": mean.float(), "std": std.float()}, out.with_name("stats.pt.tmp"))
    os.replace(out.with_name("stats.pt.tmp"), out)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _checksums(root: Path) -> None:
    files = sorted(p for d in ("audio", "manifests", "features") for p in (root / d).rglob("*")
                   if p.is_file() and not p.name.endswith(".tmp"))
    lines = [f"{_sha256(p)}  {p.relative_to(root).as_posix()}\n" for p in files]
    atomic_write_text(root / "checksums.sha256", "".join(sorted(lines, key=lambda s: s[66:])))


def _prepare_root(root: Path, settings: dict) -> None:
    """Create `root`, check it is writable and belongs to this (size, seed) build."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"cannot write to corpus directory {root} ({exc.strerror}); "
                        "choose another --out") from exc
    marker = root / "build.json"
    if marker.is_file():
        try:
            old = json.loads(marker.read_text())
        except ValueError:
            old = None
        if old != settings:
            raise UserError(f"{root} holds a different build ({old}); delete it or choose "
                            "another --out")
    else:
        atomic_write_text(marker, json.dumps(settings, sort_keys=True) + "\n")


def build_corpus(size: str = "default", out: str | Path | None = None, seed: int = 0,
                 jobs: int | None = None, log: Callable[[str], None] = print) -> Path:
    """Build SynthSLU-7 at `size` into `out` (resuming a partial build); returns its root.

    A complete corpus (corpus.json says complete) is returned immediately.
    """
    if size not in SIZES:
        raise UserError(f"unknown corpus size '{size}'; valid sizes: {', '.join(SIZES)}")
    spec = SIZES[size]
    root = Path(out) if out is not None else default_corpus_dir(size, seed)
    settings = {"size": size, "seed": int(seed), "version": CORPUS_VERSION}
    if corpus_is_complete(root):
        info = json.loads((root / "corpus.json").read_text(encoding="utf-8"))
        if (info.get("size"), info.get("seed")) != (size, int(seed)):
            raise UserError(f"{root} holds a complete {info.get('size')} corpus with seed "
                            f"{info.get('seed')}; choose another --out or matching --size/--seed")
        log(f"[data] corpus already complete: {root}")
        return root
    t0 = time.time()
    _prepare_root(root, settings)
    jobs = max(1, int(jobs or os.cpu_count() or 1))

    pools = build_pools(seed, spec.main_speakers, spec.shift_speakers)
    ctx = make_context(seed, pools)
    todo, pending = [], []
    for subset in BUILTIN_SUBSETS:
        for split, n in split_sizes(spec, subset).items():
            if _split_done(root, subset, split, n):
                continue
            n_chunks = -(-n // spec.chunk)
            pending.append((subset, split, n_chunks))
            for k in range(n_chunks):
                if not _chunk_file(root, subset, split, k).is_file():
                    todo.append((str(root), subset, split, k, k * spec.chunk,
                                 min(n, (k + 1) * spec.chunk)))
    log(f"[data] building {size} corpus in {root}: {len(todo)} chunks to synthesise "
        f"with {jobs} worker(s)")
    if todo:
        if jobs == 1:
            _init_worker(ctx)
            results = map(_run_chunk, todo)
            _consume(results, len(todo), log)
        else:
            method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
            with mp.get_context(method).Pool(jobs, _init_worker, (ctx,)) as pool:
                _consume(pool.imap_unordered(_run_chunk, todo), len(todo), log)
    for subset, split, n_chunks in pending:
        _merge(root, subset, split, n_chunks)
    shutil.rmtree(root / ".work", ignore_errors=True)
    for stray in root.rglob("*.tmp"):  # left by a killed build whose chunk was redone since
        stray.unlink()
    _stats(root)
    from benchmark.data.datacard import write_datacard  # late import: only needed here

    counts = {s: {sp: n for sp, n in split_sizes(spec, s).items()} for s in BUILTIN_SUBSETS}
    write_datacard(root, settings | {"jobs": jobs}, pools)
    _checksums(root)
    info = {**settings, "counts": counts, "build_seconds": round(time.time() - t0, 1),
            "speakers": {p: {sp: [s.id for s in v] for sp, v in d.items()}
                         for p, d in pools.items()},
            "complete": True}
    atomic_write_text(root / "corpus.json", json.dumps(info, indent=1, sort_keys=True) + "\n")
    log(f"[data] done in {time.time() - t0:.1f} s: {root}")
    return root


def _consume(results, total: int, log: Callable[[str], None]) -> None:
    step = max(1, total // 10)
    for i, _ in enumerate(results, 1):
        if i % step == 0 or i == total:
            log(f"[data] {i}/{total} chunks done")

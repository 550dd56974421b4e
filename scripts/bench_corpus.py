"""Build a SynthSLU-7 corpus and report wall time, throughput, disk use and hours of audio.

Usage: python scripts/bench_corpus.py [--size quick|default|large] [--out DIR] [--seed N]
                                      [--jobs N] [--keep]
Without --out the corpus goes to a temporary directory that is deleted afterwards unless --keep.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmark.data.build import build_corpus
from benchmark.data.manifest import read_manifest


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="quick")
    ap.add_argument("--out", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temporary corpus")
    args = ap.parse_args(argv)
    tmp = None if args.out else Path(tempfile.mkdtemp(prefix=f"synthslu7-{args.size}-"))
    out = Path(args.out) if args.out else tmp / "corpus"
    t0 = time.time()
    root = build_corpus(args.size, out=out, seed=args.seed, jobs=args.jobs, log=lambda m: None)
    wall = time.time() - t0
    info = json.loads((root / "corpus.json").read_text())
    n = sum(sum(v.values()) for v in info["counts"].values())
    seconds = sum(r["duration"] for p in (root / "manifests").rglob("*.jsonl")
                  for r in read_manifest(p))
    mb = {d: _du(root / d) / 1e6 for d in ("audio", "features", "manifests")}
    total = _du(root) / 1e6
    print(f"size={args.size} seed={args.seed} jobs={args.jobs or 'auto'} root={root}")
    print(f"wall time        {wall:8.1f} s   (corpus.json build_seconds {info['build_seconds']})")
    print(f"utterances       {n:8d}       ({n / wall:.1f} utt/s)")
    print(f"audio            {seconds / 3600:8.2f} h     ({seconds / wall:.0f}x real time)")
    print(f"disk audio       {mb['audio']:8.1f} MB    ({mb['audio'] * 1e3 / seconds:.1f} kB/s)")
    print(f"disk features    {mb['features']:8.1f} MB")
    print(f"disk manifests   {mb['manifests']:8.1f} MB")
    print(f"disk total       {total:8.1f} MB")
    if tmp is not None and not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

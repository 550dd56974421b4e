"""Kill-and-resume trials: SIGKILL `benchmark run` at random moments, resume until it completes,
and compare the final metrics with an uninterrupted run (timings aside).

    python scripts/kill_resume.py --strategies naive,ewc,replay,subnet,joint --trials 3
"""
from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def strip(m: dict) -> dict:
    m = json.loads(json.dumps(m))
    m.pop("wall_seconds")
    for res in list(m["per_task"].values()) + list(m["baseline_metrics"].values()):
        res.pop("eval_seconds", None)
    for es in m["params"]["extra_state"]:
        for v in es.get("mask_search", {}).values():
            v.pop("seconds", None)
    return m


def differences(a, b, where: str = "metrics") -> list[tuple[str, object, object]]:
    """(path, a, b) for every leaf where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str)
                for d in differences(a.get(k), b.get(k), f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [(where, a, b)]


def command(args, out: Path, strategy: str, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "benchmark.cli", "run", "--stream", args.stream, "--strategy",
           strategy, "--profile", "quick", "--corpus", args.corpus, "--out", str(out),
           "--no-progress", *args.overrides]
    return cmd + (["--resume"] if resume else [])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", required=True)
    p.add_argument("--stream", default="three_task")
    p.add_argument("--strategies", default="naive,ewc,replay,subnet,joint")
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--overrides", nargs="*", default=["epochs=1", "max_train_per_subset=48"])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="kill_resume_"))
    for strategy in args.strategies.split(","):
        ref_out = tmp / f"ref_{strategy}"  # one folder each: rglob below must find this one
        t0 = time.perf_counter()
        subprocess.run(command(args, ref_out, strategy, False), check=True,
                       capture_output=True)
        duration = time.perf_counter() - t0
        ref = strip(json.loads(next(ref_out.rglob("metrics.json")).read_text()))
        for trial in range(args.trials):
            out = tmp / f"{strategy}_{trial}"
            kills, resume = 0, False
            while True:
                proc = subprocess.Popen(command(args, out, strategy, resume),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                delay = rng.uniform(0.2, 1.0) * duration
                try:
                    proc.wait(timeout=delay if kills < 3 else None)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    kills += 1
                    resume = True
                    continue
                if proc.returncode != 0:
                    raise SystemExit(f"{strategy} trial {trial}: exit {proc.returncode}: "
                                     f"{proc.stderr.read().decode()[-500:]}")
                break
            got = strip(json.loads(next(out.rglob("metrics.json")).read_text()))
            same = got == ref
            how = f"{kills} SIGKILLs, resumed" if kills else "finished before its kill time"
            print(f"{strategy:8s} trial {trial}: {how}, final metrics "
                  f"{'EQUAL' if same else 'DIFFERENT'} to the uninterrupted run", flush=True)
            if not same:
                for where, a, b in differences(ref, got):
                    print(f"    {where}: uninterrupted {a!r} != resumed {b!r}")
                raise SystemExit(1)


if __name__ == "__main__":
    main()

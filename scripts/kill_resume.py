"""Kill-and-resume trials: SIGKILL `benchmark run` at random moments, resume until it completes,
and compare the final metrics (timings aside) and the final model.pt (model and strategy state,
bit for bit) with an uninterrupted run. Ends with one table row per strategy; exits 1 if any
trial differs.

    python scripts/kill_resume.py --corpus data/synthslu7-quick-seed0 --trials 3 \\
        --overrides epochs=1 max_train_per_subset=48 threads=1

Every registered strategy by default (--strategies naive,ewc,... for a subset). A kill before
the run's first checkpoint (the end of experience 1) leaves nothing to resume: that launch
restarts from the beginning and is counted as a restart, not a resume.
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

import torch


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
    """(path, a, b) for every leaf where two JSON values (or tensors) differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str)
                for d in differences(a.get(k), b.get(k), f"{where}.{k}")]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{where}[{i}]")]
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        same = a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
        return [] if same else [(where, "tensor", "another tensor")]
    return [] if a == b else [(where, a, b)]


def final_state(out: Path) -> tuple[dict, dict]:
    run_dir = next(out.rglob("metrics.json")).parent
    return (strip(json.loads((run_dir / "metrics.json").read_text())),
            torch.load(run_dir / "model.pt", weights_only=True))


def command(args, out: Path, strategy: str, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "benchmark.cli", "run", "--stream", args.stream, "--strategy",
           strategy, "--profile", "quick", "--corpus", args.corpus, "--out", str(out),
           "--no-progress", *args.overrides]
    return cmd + (["--resume"] if resume else [])


def trial(args, rng: random.Random, out: Path, strategy: str, duration: float) -> dict:
    """Launch, SIGKILL after a random delay (at most `args.kills` times), relaunch with --resume,
    until a launch completes. Counts kills, resumes from a checkpoint, and restarts."""
    kills = resumes = restarts = 0
    resume = False
    while True:
        with open(out.with_suffix(".stderr"), "wb") as err:
            proc = subprocess.Popen(command(args, out, strategy, resume),
                                    stdout=subprocess.DEVNULL, stderr=err)
            try:
                proc.wait(timeout=rng.uniform(0.2, 1.0) * duration
                          if kills < args.kills else None)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                has_ckpt = any(out.rglob("checkpoint.pt"))
                resumes += has_ckpt
                restarts += not has_ckpt
                resume = True
                continue
        if proc.returncode != 0:
            tail = out.with_suffix(".stderr").read_text()[-500:]
            raise SystemExit(f"{strategy}: exit {proc.returncode}: {tail}")
        return {"kills": kills, "resumes": resumes, "restarts": restarts}


def main() -> None:
    from strategies import list_strategies

    p = argparse.ArgumentParser()
    p.add_argument("--corpus", required=True)
    p.add_argument("--stream", default="three_task")
    p.add_argument("--strategies", default=",".join(list_strategies()))
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--kills", type=int, default=3, help="most SIGKILLs per trial")
    p.add_argument("--overrides", nargs="*", default=["epochs=1", "max_train_per_subset=48"])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="kill_resume_"))
    rows, failed = [], False
    for strategy in args.strategies.split(","):
        ref_out = tmp / f"ref_{strategy}"  # one folder each: rglob must find this run only
        t0 = time.perf_counter()
        subprocess.run(command(args, ref_out, strategy, False), check=True,
                       capture_output=True)
        duration = time.perf_counter() - t0
        ref = final_state(ref_out)
        total = {"kills": 0, "resumes": 0, "restarts": 0, "equal": 0}
        for i in range(args.trials):
            counts = trial(args, rng, tmp / f"{strategy}_{i}", strategy, duration)
            diffs = differences(ref, final_state(tmp / f"{strategy}_{i}"), "final")
            how = (f"{counts['kills']} SIGKILLs ({counts['resumes']} resumed from a checkpoint, "
                   f"{counts['restarts']} before the first)" if counts["kills"]
                   else "finished before its kill time")
            print(f"{strategy:8s} trial {i}: {how}; final metrics and model.pt "
                  f"{'EQUAL' if not diffs else 'DIFFERENT'} to the uninterrupted run", flush=True)
            for where, a, b in diffs[:20]:
                print(f"    {where}: uninterrupted {a!r} != resumed {b!r}")
            for k in counts:
                total[k] += counts[k]
            total["equal"] += not diffs
            failed |= bool(diffs)
        rows.append((strategy, duration, total))
    print(f"\n{len(rows)} strategies, {args.trials} trials each, stream {args.stream}, overrides "
          f"{' '.join(args.overrides)}; reference run wall time in seconds\n")
    print("| strategy | ref run (s) | kills | resumed from checkpoint | restarted (killed "
          "before 1st checkpoint) | trials equal (metrics + model.pt) |")
    print("|---|---:|---:|---:|---:|---:|")
    for strategy, duration, t in rows:
        print(f"| {strategy} | {duration:.0f} | {t['kills']} | {t['resumes']} | {t['restarts']} "
              f"| {t['equal']}/{args.trials} |")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""Kill-and-resume trials: SIGKILL `benchmark run` at random moments, resume until it completes,
and compare the final metrics (timings aside) and the final model.pt (model and strategy state,
bit for bit) with an uninterrupted run. Ends with one table row per strategy; exits 1 if any
trial differs.

    python scripts/kill_resume.py --corpus data/synthslu7-quick-seed0 --trials 3 \\
        --overrides epochs=1 max_train_per_subset=48 threads=1

Every registered strategy by default (--strategies naive,ewc,... for a subset). Each launch is
killed at a random moment within one experience's time after it writes a new checkpoint, so
every kill has something to resume from (a kill that finds none would count as a restart).
"""
from __future__ import annotations

import argparse
import json
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch


def strip(m: dict) -> dict:
    m = json.loads(json.dumps(m))
    m.pop("wall_seconds")
    # measured per process, never the same twice (a resumed run's peak counts from its resume)
    m.pop("cpu_seconds", None)
    m.pop("peak_rss_mib", None)
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


def _checkpoint_stamp(out: Path) -> int | None:
    """The run's checkpoint.pt modification time (ns), None while there is none. The runner
    replaces it atomically after each experience, so a new stamp is a new checkpoint."""
    for ckpt in out.rglob("checkpoint.pt"):
        try:
            return ckpt.stat().st_mtime_ns
        except FileNotFoundError:
            return None
    return None


def _complete(out: Path) -> bool:
    try:
        return bool(json.loads(next(out.rglob("metrics.json")).read_text()).get("complete"))
    except (StopIteration, OSError, ValueError):
        return False


def trial(args, rng: random.Random, out: Path, strategy: str, per_exp: float) -> dict:
    """Launch; once the run writes a checkpoint newer than the one it started from, SIGKILL it
    after a random delay of up to one experience's time (mid-training, mid-evaluation or while
    checkpointing); relaunch with --resume. At most `args.kills` kills, then it runs to the end.
    Counts kills, kills that left a checkpoint (the next launch resumes from it), kills after
    the run was complete, and restarts (killed with no checkpoint: starts again)."""
    kills = resumes = restarts = late = 0
    after: list[int] = []  # experiences done in the checkpoint each resume starts from
    while True:
        start_from = _checkpoint_stamp(out)
        with open(out.with_suffix(".stderr"), "wb") as err:
            proc = subprocess.Popen(command(args, out, strategy, kills > 0),
                                    stdout=subprocess.DEVNULL, stderr=err)
            if kills < args.kills:
                while proc.poll() is None and _checkpoint_stamp(out) in (start_from, None):
                    time.sleep(0.2)
                try:
                    proc.wait(timeout=rng.uniform(0.0, 1.0) * per_exp)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    kills += 1
                    if _checkpoint_stamp(out) is not None:
                        resumes += 1
                        ckpt = next(out.rglob("checkpoint.pt"))
                        after.append(int(torch.load(ckpt, weights_only=True)["completed"]))
                    elif _complete(out):  # killed after its end (report, exit): nothing to do
                        late += 1
                    else:
                        restarts += 1
                    continue
            proc.wait()
        if proc.returncode != 0:
            tail = out.with_suffix(".stderr").read_text()[-500:]
            raise SystemExit(f"{strategy}: exit {proc.returncode}: {tail}")
        return {"kills": kills, "resumes": resumes, "late": late, "restarts": restarts,
                "after": after}


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
        wall = json.loads(next(ref_out.rglob("metrics.json")).read_text())["wall_seconds"]
        per_exp = statistics.mean(t + e for t, e in zip(wall["train"], wall["eval"]))
        total = {"kills": 0, "resumes": 0, "late": 0, "restarts": 0, "equal": 0}
        for i in range(args.trials):
            counts = trial(args, rng, tmp / f"{strategy}_{i}", strategy, per_exp)
            diffs = differences(ref, final_state(tmp / f"{strategy}_{i}"), "final")
            how = (f"{counts['kills']} SIGKILLs ({counts['resumes']} resumed from a checkpoint "
                   f"after experience {','.join(map(str, counts['after'])) or '-'}, "
                   f"{counts['late']} after the end, {counts['restarts']} restarted)"
                   if counts["kills"] else "finished before its kill time")
            print(f"{strategy:8s} trial {i}: {how}; final metrics and model.pt "
                  f"{'EQUAL' if not diffs else 'DIFFERENT'} to the uninterrupted run", flush=True)
            for where, a, b in diffs[:20]:
                print(f"    {where}: uninterrupted {a!r} != resumed {b!r}")
            for k in total:
                total[k] += counts.get(k, 0)
            total["equal"] += not diffs
            failed |= bool(diffs)
        rows.append((strategy, duration, total))
    print(f"\n{len(rows)} strategies, {args.trials} trials each, stream {args.stream}, overrides "
          f"{' '.join(args.overrides)}; reference run wall time in seconds\n")
    print("| strategy | ref run (s) | SIGKILLs | resumed from a checkpoint | killed after the "
          "end | restarted | trials equal (metrics + model.pt) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for strategy, duration, t in rows:
        print(f"| {strategy} | {duration:.0f} | {t['kills']} | {t['resumes']} | {t['late']} "
              f"| {t['restarts']} | {t['equal']}/{args.trials} |")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""Parameters and median step times of the model sizes on random batches (no corpus needed).

    .venv/bin/python scripts/bench_model.py [--sizes tiny small] [--batch 16] [--seconds 3]

Times (ms, median of --repeats after --warmup): a train step (forward + loss + backward +
AdamW), an eval forward (encoder only) and a batched greedy decode of --decode-len tokens
(eos suppressed, so every row runs the full length). Run it on an idle machine: another job on
the same cores can make steps several times slower.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from benchmark.models import MODEL_SIZES, SLUCriterion, build_model, count_parameters
from benchmark.tasks import TASKS
from benchmark.text import Tokenizer


def median_ms(fn: Callable[[], object], repeats: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def random_batch(tok: Tokenizer, batch: int, frames: int, device: str) -> tuple:
    """Mixed-task batch: half ASR rows (~45 characters), half classification rows."""
    x = torch.randn(batch, frames, 81, device=device)
    x[..., 80] = 1.0
    rows = []
    for i in range(batch):
        if i % 2:
            text = "turn on the lights in the kitchen please now"
            rows.append(tok.encode_target(TASKS["asr"], {"text": text}))
        else:
            rows.append(tok.encode_target(TASKS["er"], {"label": "sad"}))
    width = max(map(len, rows))
    y = torch.tensor([r + [tok.pad_id] * (width - len(r)) for r in rows], device=device)
    return x, y


def bench(size: str, args: argparse.Namespace, tok: Tokenizer) -> dict[str, float]:
    torch.manual_seed(0)
    model = build_model(size, len(tok)).to(args.device)
    crit = SLUCriterion(model, tok)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x, y = random_batch(tok, args.batch, int(args.seconds * 100), args.device)

    def sync() -> None:  # CUDA runs asynchronously: wait before reading the clock
        if x.is_cuda:
            torch.cuda.synchronize()

    def train_step() -> None:
        model.train()
        loss = crit(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync()

    def eval_forward() -> None:
        model.eval()
        with torch.inference_mode():
            model(x)
        sync()

    prompts = y[:, :2]

    def greedy() -> None:
        model.eval()
        with torch.inference_mode():
            model.greedy_decode(model(x), prompts, args.decode_len, eos_id=-1)

    r, w = args.repeats, args.warmup
    return {
        "params_M": count_parameters(model)["total"] / 1e6,
        "train_ms": median_ms(train_step, r, w),
        "eval_fwd_ms": median_ms(eval_forward, r, w),
        f"greedy{args.decode_len}_ms": median_ms(greedy, max(1, r // 2), 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", nargs="+", default=["tiny", "small"], choices=list(MODEL_SIZES))
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seconds", type=float, default=3.0, help="audio per utterance")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--decode-len", type=int, default=50, help="greedy steps (eos suppressed)")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    tok = Tokenizer()
    print(f"batch {args.batch} x {args.seconds:g} s, {args.threads} threads, {args.device}")
    for size in args.sizes:
        stats = bench(size, args, tok)
        print(size.ljust(6), "  ".join(f"{k}={v:.2f}" if k == "params_M" else f"{k}={v:.0f}"
                                       for k, v in stats.items()), flush=True)


if __name__ == "__main__":
    main()

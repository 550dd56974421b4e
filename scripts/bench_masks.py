"""Cost of per-task masks on a ~4M-parameter speech encoder (benchmark.masks).

Model: torchaudio Conformer (d=144, 4 heads, ffn 576, 8 layers, kernel 15) between a Linear
input projection (80 -> 144) and a Linear output head (144 -> 256): Linear, Conv1d (pointwise
and depthwise), nn.MultiheadAttention, LayerNorm and BatchNorm. Times, in ms (median of --reps):

- AdamW train step (forward + backward + step), unmasked vs with `mask_gradients` (ratio);
- `materialize` + `restore` (entering and leaving a task's view), and `task_view` alone;
- `magnitude_prune` of 20 % (global and per-layer scope);
- bit-packing a TaskMasks state_dict.

Usage: python scripts/bench_masks.py [--threads 2] [--reps 5] [--batch 16] [--frames 75]
       [--device cpu|cuda]   (with the package installed, `pip install -e .`, or PYTHONPATH=.)
Compare numbers as ratios within one run: a busy machine slows everything (NOTES.md).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torchaudio.models import Conformer

from benchmark import masks as M


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(80, 144)
        self.conformer = Conformer(input_dim=144, num_heads=4, ffn_dim=576, num_layers=8,
                                   depthwise_conv_kernel_size=15)
        self.head = nn.Linear(144, 256)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h, _ = self.conformer(self.inp(x), lengths)
        return self.head(h)


def median_ms(fn, reps: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--frames", type=int, default=75)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    model = Encoder().to(dev)
    x = torch.randn(args.batch, args.frames, 80, device=dev)
    lengths = torch.full((args.batch,), args.frames, device=dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    n_params = sum(p.numel() for p in model.parameters())
    tm = M.TaskMasks.for_model(model)
    mask = M.magnitude_prune(model, tm.ones(), 0.5)
    tm.set("asr", mask)
    print(f"device={dev} threads={args.threads} params={n_params / 1e6:.2f}M "
          f"prunable={tm.total / 1e6:.2f}M in {len(tm.names)} tensors "
          f"batch={args.batch}x{args.frames} frames, reps={args.reps}")

    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)

    def step(masked: bool) -> None:
        loss = model(x, lengths).pow(2).mean()
        loss.backward()
        if masked:
            M.mask_gradients(model, mask)
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync()

    def grads_only() -> None:
        M.mask_gradients(model, mask)
        sync()

    def enter_leave() -> None:
        dense = M.materialize(model, mask)
        M.restore(model, dense, mask)
        sync()

    def view() -> None:
        with M.task_view(model, mask):
            pass
        sync()

    rows = []
    # Interleave unmasked and masked steps so that load changes hit both alike.
    plain, masked = [], []
    for i in range(args.reps + 1):
        for flag, out in ((False, plain), (True, masked)):
            t0 = time.perf_counter()
            step(flag)
            if i:  # first round is warm-up
                out.append(time.perf_counter() - t0)
    t_plain, t_masked = 1000 * statistics.median(plain), 1000 * statistics.median(masked)
    rows.append(("AdamW step, unmasked", t_plain))
    rows.append(("AdamW step + mask_gradients", t_masked))
    model(x, lengths).pow(2).mean().backward()
    rows.append(("mask_gradients alone", median_ms(grads_only, args.reps)))
    opt.zero_grad(set_to_none=True)
    rows.append(("materialize + restore", median_ms(enter_leave, args.reps)))
    rows.append(("task_view enter + exit", median_ms(view, args.reps)))
    full = tm.ones()
    rows.append(("magnitude_prune 20%, global",
                 median_ms(lambda: M.magnitude_prune(model, full, 0.2), args.reps)))
    rows.append(("magnitude_prune 20%, per layer",
                 median_ms(lambda: M.magnitude_prune(model, full, 0.2, scope="layer"),
                           args.reps)))
    rows.append(("TaskMasks.state_dict (pack 1 task)", median_ms(tm.state_dict, args.reps)))

    width = max(len(r[0]) for r in rows)
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:9.2f} ms")
    print(f"{'masked / unmasked step':<{width}}  {t_masked / t_plain:9.3f} x")
    packed = tm.state_dict()["packed"][0]
    print(f"mask storage: {tm.storage_bits('asr')} bits = {packed.numel()} bytes packed "
          f"({packed.numel() / tm.total:.3f} B/weight; a float32 mask would be "
          f"{4 * tm.total} bytes)")


if __name__ == "__main__":
    main()

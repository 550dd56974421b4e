"""Training-loop overhead: steps/s through SLUTemplate (Avalanche) vs a plain PyTorch loop on
identical batches, and a subnet masked step vs a naive step.

    python scripts/bench_training.py [--size small] [--steps 30] [--rounds 3]

Each variant trains the same model size from the same init on the same fixed batches (random
fbank of 3 s, batch 16, classification targets). Variants are interleaved over several rounds and
the median per-step time is reported, so ratios are measured in one run on the same machine.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets
from avalanche.benchmarks.scenarios.task_aware import with_task_labels
from avalanche.core import SupervisedPlugin

from benchmark import masks as M
from benchmark.models import SLUCriterion, build_model
from benchmark.streams import dataset_from_items
from benchmark.tasks import TASKS
from benchmark.text import Tokenizer
from benchmark.training.masked import MaskedTraining
from benchmark.training.template import SLUTemplate


class StepTimer(SupervisedPlugin):
    def __init__(self):
        super().__init__()
        self.times, self.t0 = [], None

    def before_training_iteration(self, strategy, **kw):
        self.t0 = time.perf_counter()

    def after_training_iteration(self, strategy, **kw):
        self.times.append(time.perf_counter() - self.t0)


def make_data(tok: Tokenizer, n: int, frames: int):
    g = torch.Generator().manual_seed(0)
    spec = TASKS["er"]
    feats = [torch.randn(frames, 80, generator=g) * 2 + 10 for _ in range(n)]
    ys = [torch.tensor(tok.encode_target(spec, {"label": spec.labels[i % 4]})) for i in range(n)]
    return dataset_from_items(feats, ys, [spec.index] * n, [i % 4 for i in range(n)])


def plain_loop(model, criterion, loader, lr) -> list[float]:
    """The same work as SLUTemplate (AdamW, clipping, LR schedule step), without Avalanche."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    times = []
    model.train()
    for x, y, _t in loader:
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        times.append(time.perf_counter() - t0)
    return times


def template_loop(model, criterion, exp, bs, plugins) -> list[float]:
    timer = StepTimer()
    SLUTemplate(model=model, criterion=criterion, lr=1e-3, weight_decay=1e-2, warmup_steps=1,
                grad_clip=5.0, train_mb_size=bs, train_epochs=1, device="cpu",
                plugins=[*plugins, timer]).train(exp, eval_streams=[])
    return timer.times


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", default="small")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    tok = Tokenizer()
    data = make_data(tok, args.steps * args.batch, 300)
    exp = with_task_labels(benchmark_from_datasets(train=[data])).train_stream[0]
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch, collate_fn=data.collate_fn)
    results: dict[str, list[float]] = {"plain": [], "template": [], "subnet": []}
    for r in range(args.rounds):
        for name in results:
            torch.manual_seed(0)
            model = build_model(args.size, len(tok))
            crit = SLUCriterion(model, tok)
            if name == "plain":
                t = plain_loop(model, crit, loader, 1e-3)
            elif name == "template":
                t = template_loop(model, crit, exp, args.batch, [])
            else:
                masks = M.TaskMasks.for_model(model)
                mask = M.magnitude_prune(model, masks.ones(), 0.36)
                masks.set("er", mask)
                t = template_loop(model, crit, exp, args.batch,
                                  [MaskedTraining(masks, {"er": mask}, [])])
            results[name] += t[2:]  # first steps warm up allocators
        print(f"round {r + 1}/{args.rounds} done", flush=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"model {args.size}, batch {args.batch} x 3 s, {args.threads} threads, "
          f"{args.rounds} rounds x {args.steps} steps (median step time)")
    for k, v in med.items():
        print(f"  {k:9s} {v * 1000:8.1f} ms/step  {1 / v:6.2f} steps/s")
    print(f"template / plain  = {med['template'] / med['plain']:.3f}  (target <= 1.05)")
    print(f"subnet / template = {med['subnet'] / med['template']:.3f}  (target <= 1.15)")


if __name__ == "__main__":
    main()

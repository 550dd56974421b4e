"""GEM's step time against naive's at experience k of seven_task on the default profile (Whisper
tiny.en, bf16 autocast, batch 16), and from it the projected training time of a full run.

    python scripts/bench_gem.py --corpus data/synthslu7-default-seed0 --threads 1 --at 3,6

For each k in --at, the memories of experiences 0..k-1 are filled as GEM fills them after each
experience, then the same batches of experience k (the first (steps + 1) x 16 utterances, the same
seed, from the same weights) are trained with each variant:
  naive         no plugin
  gem           strategies/gem.py as configured (--sample-size, default its default)
  gem whole     strategies/gem.py with sample_size=0: every memory utterance, every step
  avalanche     (--old) the previous strategy: Avalanche's GEMPlugin, whole memory, memory passes
                in fp32, G copied to float64 numpy for the QP
A step is timed from before_training_iteration to after_training_iteration (memory passes,
forward, backward, projection, optimizer step; not data loading). The first step of each variant
is a warm-up and is not counted; the median of the rest is printed, with GEM's memory-pass and
projection shares and how many steps needed the QP.

Projection: GEM's extra cost is one memory pass per earlier experience, so the overhead per
earlier experience c = (gem(k) - naive(k)) / k (the mean over --at) gives, for experiences of
n_i steps, train(gem) = sum_i n_i * (naive + i * c), against sum_i n_i * naive for naive.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

import qpsolvers
import torch
from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets
from avalanche.benchmarks.scenarios.task_aware import with_task_labels
from avalanche.core import SupervisedPlugin
from avalanche.training.plugins import GEMPlugin

from benchmark.config import profile_config
from benchmark.runner.setup import build_backbone_and_stream
from benchmark.streams import get_stream
from benchmark.training.template import make_template
from strategies.gem import GEMConfig, SampledGEM


class StepTimer(SupervisedPlugin):
    def __init__(self):
        super().__init__()
        self.times, self.t0 = [], 0.0

    def before_training_iteration(self, strategy, **kw):
        self.t0 = time.perf_counter()

    def after_training_iteration(self, strategy, **kw):
        self.times.append(time.perf_counter() - self.t0)


class AvalancheGEM(GEMPlugin):
    """The strategy before this change: the plugin, its memory collated once per experience."""

    @torch.no_grad()
    def update_memory(self, dataset, t, batch_size):
        idx = torch.randperm(len(dataset))[:self.patterns_per_experience].tolist()
        x, y, tid = dataset.collate_fn([dataset[i] for i in idx])
        self.memory_x[t], self.memory_y[t], self.memory_tid[t] = x, y, tid


_SOLVE_QP = qpsolvers.solve_qp
QP_CALLS = [0]


def _counted_solve_qp(*args, **kwargs):
    QP_CALLS[0] += 1
    return _SOLVE_QP(*args, **kwargs)


qpsolvers.solve_qp = _counted_solve_qp  # both GEMs call it through the module


def _timer(real, name: str, parts: dict):
    def wrapper(strategy, **kw):
        t0 = time.perf_counter()
        real(strategy, **kw)
        parts[name] = parts.get(name, 0.0) + time.perf_counter() - t0
    return wrapper


def timed(plugin, parts: dict):
    """Wrap the plugin's memory passes and projection with timers adding into `parts`."""
    for name in ("before_training_iteration", "after_backward"):
        setattr(plugin, name, _timer(getattr(plugin, name), name, parts))
    return plugin


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", default="data/synthslu7-default-seed0")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--at", default="3,6", help="experiences k (earlier memories) to time at")
    p.add_argument("--steps", type=int, default=5, help="timed steps per variant (+1 warm-up)")
    p.add_argument("--sample-size", type=int, default=GEMConfig.sample_size)
    p.add_argument("--whole", action="store_true", help="also time gem with sample_size=0")
    p.add_argument("--old", default="", help="experiences at which to time the Avalanche GEM")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    train = profile_config("default")
    train.threads = args.threads
    stream = get_stream("seven_task")
    backbone, built = build_backbone_and_stream(train, stream, Path(args.corpus), print)
    model, tok = backbone.model, backbone.tokenizer
    init = {k: v.clone() for k, v in model.state_dict().items()}
    exps = list(built.benchmark.train_stream)
    cfg = GEMConfig()
    print(f"model {train.model}, precision {train.precision}, batch {train.batch_size}, "
          f"threads {args.threads}, memory {cfg.patterns_per_experience} utts/experience, "
          f"experience sizes {built.train_sizes}", flush=True)

    def variant(name: str, k: int, plugin) -> float:
        model.load_state_dict(init)
        torch.manual_seed(0)
        parts: dict = {}
        QP_CALLS[0] = 0
        if plugin is not None:
            for j in range(k):
                plugin.update_memory(exps[j].dataset, j, train.batch_size)
            timed(plugin, parts)
        timer = StepTimer()
        data = exps[k].dataset.subset(range((args.steps + 1) * train.batch_size))
        template = make_template(model, tok, train, "cpu", epochs=1, progress=False,
                                 plugins=[timer] + ([plugin] if plugin is not None else []))
        template.clock.train_exp_counter = k  # Avalanche's plugin reads it
        template.train(with_task_labels(benchmark_from_datasets(train=[data])).train_stream[0],
                       eval_streams=[])
        step = statistics.median(timer.times[1:])
        n = len(timer.times)
        extra = "".join(f", {what} {parts.get(key, 0.0) / n:.2f} s/step"
                        for what, key in (("memory passes", "before_training_iteration"),
                                          ("projection", "after_backward")) if plugin)
        proj = f", QP solved in {QP_CALLS[0]}/{n} steps" if plugin else ""
        print(f"k={k} {name:24s} median step {step:6.2f} s (steps: "
              f"{' '.join(f'{t:.2f}' for t in timer.times)}){extra}{proj}", flush=True)
        return step

    at, old_at = [int(k) for k in args.at.split(",")], [int(k) for k in args.old.split(",") if k]
    naive, gem, old = {}, {}, {}
    for k in sorted(set(at) | set(old_at)):
        naive[k] = variant("naive", k, None)
        if k in at:
            gem[k] = variant(f"gem sample_size={args.sample_size}", k, SampledGEM(
                cfg.patterns_per_experience, cfg.memory_strength, args.sample_size))
            if args.whole:
                variant("gem sample_size=0", k, SampledGEM(
                    cfg.patterns_per_experience, cfg.memory_strength, 0))
        if k in old_at:
            old[k] = variant("avalanche GEM (before)", k, AvalancheGEM(
                cfg.patterns_per_experience, cfg.memory_strength))

    steps = [math.ceil(n / train.batch_size) * train.epochs for n in built.train_sizes]
    base = statistics.mean(naive.values())
    print(f"\nprojection over seven_task's {len(steps)} experiences ({sum(steps)} steps), "
          f"naive step {base:.2f} s (mean of the k measured)")
    print(f"  naive train: {sum(steps) * base / 3600:.2f} h")
    for name, times in (("gem", gem), ("avalanche GEM (before)", old)):
        if times:
            c = statistics.mean((times[k] - naive[k]) / k for k in times)
            total = sum(n * (base + i * c) for i, n in enumerate(steps))
            print(f"  {name} train: {total / 3600:.2f} h ({total / (sum(steps) * base):.1f}x "
                  f"naive; +{c:.2f} s per step per earlier experience)")


if __name__ == "__main__":
    main()

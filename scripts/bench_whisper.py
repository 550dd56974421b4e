"""Whisper train-step and evaluation speed on this machine, in one run (ratios are comparable).

    python scripts/bench_whisper.py [--steps 12] [--rounds 3] [--precisions fp32,bf16] [--eval]
                                    [--eval-run RUN_DIR]

Train step: batch 16 of 3-s utterances (random log-mel, the lengths are what matter), the
UniverSLU ASR prompt, AdamW, the suite's template. Variants are interleaved over rounds and the
median step is reported:
  fp32 / bf16 autocast, each with the 51,864-row token table frozen (the default) or trained.
  On a CPU without native bf16 only fp32 is timed unless --precisions asks for bf16 (emulated
  there: minutes per step).
--eval: greedy-decodes every test set of the default corpus once (batch 64, at the precision a
run evaluates at on this CPU) with the untrained tiny.en (the worst case: its ASR and NER decode to the length
cap) and prints seconds per task and in total. --eval-run RUN_DIR: the same with a finished
run's model (model.pt) seen through its strategy, which is what a run's evaluation passes after
an experience cost; --steps 0 skips the train-step timing. Peak RSS is printed at the end.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import torch
from avalanche.core import SupervisedPlugin

from benchmark.config import TrainConfig
from benchmark.environment import cpu_has_fast_bf16
from benchmark.models.backbones import build_backbone
from benchmark.streams import dataset_from_items
from benchmark.tasks import TASKS
from benchmark.training.masked import single_experience
from benchmark.training.template import make_template


class StepTimer(SupervisedPlugin):
    def __init__(self):
        super().__init__()
        self.times, self.t0 = [], None

    def before_training_iteration(self, strategy, **kw):
        self.t0 = time.perf_counter()

    def after_training_iteration(self, strategy, **kw):
        self.times.append(time.perf_counter() - self.t0)


def batches(tokenizer, n: int, frames: int):
    g = torch.Generator().manual_seed(0)
    spec = TASKS["asr"]
    feats = [torch.randn(frames, 80, generator=g) * 0.4 for _ in range(n)]
    text = "we danced behind the tall guitar last summer"  # ~3 s of speech, 9 BPE tokens
    ys = [torch.tensor(tokenizer.encode_target(spec, {"text": text})) for _ in range(n)]
    return single_experience(dataset_from_items(feats, ys, [spec.index] * n, [0] * n))


def train_steps(precision: str, train_embeddings: bool, steps: int, threads: int) -> float:
    torch.manual_seed(0)
    bb = build_backbone("whisper-tiny.en", train_embeddings=train_embeddings)
    train = TrainConfig(precision=precision, epochs=1, warmup_steps=1, threads=threads)
    timer = StepTimer()
    template = make_template(bb.model, bb.tokenizer, train, "cpu", plugins=[timer],
                             progress=False)
    template.train(batches(bb.tokenizer, 16 * (steps + 2), 300), eval_streams=[])
    return statistics.median(timer.times[2:])  # the first steps warm up allocators


def evaluate_default_corpus(threads: int, run_dir: Path | None, precision: str) -> None:
    from benchmark.evaluation.evaluate import evaluate_all
    from benchmark.evaluation.external import load_finished_run
    from benchmark.streams import build_stream, get_stream

    torch.set_num_threads(threads)
    if run_dir is None:
        bb = build_backbone("whisper-tiny.en")

        class NoView:
            @staticmethod
            def eval_context(subset):
                import contextlib
                return contextlib.nullcontext()

        model, parts, what = bb.model, NoView, "untrained tiny.en"
    else:
        config, _, bb, parts = load_finished_run(run_dir, "cpu")
        model, what = bb.model, f"{config['run']['strategy']} seed {config['run']['seed']} final"
    stream = get_stream("seven_task")
    built = build_stream(Path("data/synthslu7-default-seed0"), stream, bb.tokenizer,
                         feature_kind=bb.feature_kind, log=print)
    t0 = time.perf_counter()
    res = evaluate_all(model, bb.tokenizer, built, parts, "cpu", 64, precision)
    total = time.perf_counter() - t0
    for subset, m in res.items():
        print(f"eval {subset:4s} {m['eval_seconds']:6.1f} s  "
              + " ".join(f"{k}={v:.3f}" for k, v in m.items() if k != "eval_seconds"))
    print(f"eval all seven test sets ({what}, {precision}, {threads} threads, {sum(len(o) for o in built.test_order.values())} "
          f"utterances): {total:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval", action="store_true")
    ap.add_argument("--eval-run", type=Path, default=None, help="a finished run folder")
    ap.add_argument("--precisions", default=None,
                    help="comma-separated, of fp32,bf16 (default: both where the CPU has native "
                         "bf16, else fp32)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    # bf16 runs natively only where oneDNN has bf16 kernels (AVX-512); runs fall back to fp32
    # elsewhere (configure_device), and emulated bf16 is timed only when asked for
    native = cpu_has_fast_bf16()
    print(f"CPU: {torch.backends.cpu.get_cpu_capability()}, native bf16: {native}")
    precisions = (args.precisions or ("fp32,bf16" if native else "fp32")).split(",")
    variants = [(p, emb) for emb in (False, True) for p in reversed(precisions)]
    results: dict = {v: [] for v in variants}
    for _ in range(args.rounds if args.steps else 0):
        for v in variants:
            results[v].append(train_steps(*v, args.steps, args.threads))
    if args.steps:
        base_key = variants[-1]  # the table trained, the first precision asked for
        base = statistics.median(results[base_key])
        print(f"train step, batch 16 x 3 s, {args.threads} threads, median of {args.rounds} "
              f"rounds x {args.steps} steps:")
        for (precision, emb), times in results.items():
            t = statistics.median(times)
            print(f"  {precision} token table {'trained' if emb else 'frozen '}: "
                  f"{t * 1000:7.0f} ms  ({t / base:.2f}x {base_key[0]} with the table trained)")
    if args.eval or args.eval_run:
        evaluate_default_corpus(args.threads, args.eval_run, "bf16" if native else "fp32")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()

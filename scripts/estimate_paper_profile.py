"""What the `paper` profile needs on a GPU, estimated on this CPU (no GPU was lent to measure it).

    python scripts/estimate_paper_profile.py [--sizes small,medium] [--batch 32] [--seconds 3]

A randomly initialised Whisper of small's or medium's shape (English-only vocabulary; the
weights don't change the figures) in the suite's own model, the paper profile's train step:
batch 32 of 3-s utterances with the UniverSLU ASR prompt, bf16 autocast, the token table frozen.
One forward + backward runs on the CPU and is measured in ways that do not depend on the device:
- FLOPs, counted by torch.utils.flop_counter;
- activation memory: the bytes autograd saves for backward (saved_tensors_hooks, each storage
  once, parameters excluded; autocast's bf16 weight copies included), which a GPU holds
  between forward and backward (CPU kernels: CUDA's fused attention may save a little less);
- static memory: fp32 weights, gradients of the trainable ones, AdamW's two moments.
Time per experience (the profile's steps: its corpus size's train utterances per task x epochs /
batch size, 750 today) is given as a floor at the GPU's dense bf16 peak only: real utilisation is
unmeasured.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmark.config import profile_config
from benchmark.data.build import SIZES
from benchmark.models.whisper.checkpoints import embedded_model_dir
from benchmark.models.whisper.model import WhisperSLU
from benchmark.models.whisper.tokenizer import WhisperTaskTokenizer
from benchmark.streams import collate
from benchmark.tasks import TASKS
from benchmark.training.template import autocast

# OpenAI's published shapes (d_model, layers per side, heads).
SHAPES = {"tiny": (384, 4, 6), "small": (768, 12, 12), "medium": (1024, 24, 16)}
PAPER = profile_config("paper")
# One experience of the paper profile: one task's train split, `epochs` passes, full batches.
STEPS_PER_EXPERIENCE = SIZES[PAPER.corpus_size].main[0] * PAPER.epochs // PAPER.batch_size
H200_BF16_DENSE_TFLOPS = 989.0  # NVIDIA's H100/H200 SXM datasheet figure (without sparsity)


def build(size: str) -> tuple[WhisperSLU, WhisperTaskTokenizer]:
    from transformers import WhisperConfig

    d, layers, heads = SHAPES[size]
    config = WhisperConfig(vocab_size=51864, num_mel_bins=80, d_model=d, encoder_layers=layers,
                           decoder_layers=layers, encoder_attention_heads=heads,
                           decoder_attention_heads=heads, encoder_ffn_dim=4 * d,
                           decoder_ffn_dim=4 * d, max_source_positions=1500,
                           max_target_positions=448)
    tokenizer = WhisperTaskTokenizer(embedded_model_dir() / "tokenizer.json", 51864)
    return WhisperSLU(config, len(tokenizer.added)), tokenizer


def batch(tokenizer, n: int, seconds: float):
    g = torch.Generator().manual_seed(0)
    text = "we danced behind the tall guitar last summer"  # ~3 s of speech, 9 BPE tokens
    y = torch.tensor(tokenizer.encode_target(TASKS["asr"], {"text": text}))
    frames = int(seconds * 100)
    return collate([(torch.randn(frames, 80, generator=g) * 0.4, y, TASKS["asr"].index)
                    for _ in range(n)])


def step_figures(model, criterion, x, y) -> dict:
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(t):
        s = t.untyped_storage()
        if s.data_ptr() not in params:
            saved[s.data_ptr()] = s.nbytes()
        return t

    with FlopCounterMode(display=False) as flops:
        t0 = time.perf_counter()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), autocast("cpu", "bf16"):
            loss = criterion(model(x), y)
        loss.backward()
        cpu_seconds = time.perf_counter() - t0
    return {"flops": flops.get_total_flops(), "activation_bytes": sum(saved.values()),
            "cpu_seconds": cpu_seconds}


def main() -> None:
    from benchmark.models import SLUCriterion

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="small,medium")
    ap.add_argument("--batch", type=int, default=PAPER.batch_size)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"paper-profile train step: batch {args.batch} x {args.seconds:g} s, ASR prompt, "
          f"bf16 autocast, token table frozen; {STEPS_PER_EXPERIENCE} steps per experience")
    for size in args.sizes.split(","):
        torch.manual_seed(0)
        model, tokenizer = build(size)
        x, y, _ = batch(tokenizer, args.batch, args.seconds)
        total = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        static = 4 * total + 12 * trainable  # fp32 weights; fp32 grads + AdamW's two moments
        fig = step_figures(model, SLUCriterion(model, tokenizer, ctc_weight=0.0), x, y)
        floor_s = fig["flops"] * STEPS_PER_EXPERIENCE / (H200_BF16_DENSE_TFLOPS * 1e12)
        print(f"whisper-{size}: {total / 1e6:.0f} M parameters ({trainable / 1e6:.0f} M trained)\n"
              f"  static memory (weights, grads, AdamW)  {static / 2**30:6.2f} GiB\n"
              f"  activations saved for backward         {fig['activation_bytes'] / 2**30:6.2f} GiB\n"
              f"  => training memory, before the allocator's slack and workspaces "
              f"{(static + fig['activation_bytes']) / 2**30:.1f} GiB\n"
              f"  FLOPs per step {fig['flops'] / 1e12:.2f} T; per experience "
              f"{fig['flops'] * STEPS_PER_EXPERIENCE / 1e15:.2f} PFLOP; floor at the H200's "
              f"{H200_BF16_DENSE_TFLOPS:.0f} TFLOPS dense bf16: {floor_s:.1f} s per experience\n"
              f"  (this CPU, {args.threads} threads: {fig['cpu_seconds']:.1f} s per step)")
        del model


if __name__ == "__main__":
    main()

"""Synthetic batches of the batch contract for model tests (no corpus needed)."""
from __future__ import annotations

import torch

from benchmark.models import decoding
from benchmark.tasks import TASKS
from benchmark.text import PAD_TARGET, Tokenizer

N_MELS = 80


def make_x(lengths: list[int], total: int | None = None, seed: int = 0) -> torch.Tensor:
    """Random fbank-like frames (B, T, 81) with the validity channel; padding is zero."""
    g = torch.Generator().manual_seed(seed)
    total = total or max(lengths)
    x = torch.zeros(len(lengths), total, N_MELS + 1)
    for i, n in enumerate(lengths):
        x[i, :n, :N_MELS] = torch.randn(n, N_MELS, generator=g) * 3 - 5
        x[i, :n, N_MELS] = 1.0
    return x


# One example row per task kind, with the manifest fields `Tokenizer.encode_target` reads.
EXAMPLES = [
    ("asr", {"text": "turn on the light"}),
    ("er", {"label": "sad"}),
    ("ner", {"entities": [{"type": "date", "value": "monday"},
                          {"type": "person", "value": "ann"}]}),
    ("scr", {"label": "stop"}),
    ("ic", {"label": "alarm_set"}),
    ("asr", {"text": "go"}),
    ("ner", {"entities": []}),
    ("lid", {"label": "de"}),
]


def make_y(tokenizer: Tokenizer, examples: list[tuple[str, dict]]) -> torch.Tensor:
    """(B, L) targets `prompt content <eos>`, right-padded with PAD_TARGET (the batch contract)."""
    rows = [tokenizer.encode_target(TASKS[t], row) for t, row in examples]
    width = max(map(len, rows))
    return torch.tensor([r + [PAD_TARGET] * (width - len(r)) for r in rows])


@torch.no_grad()
def greedy_decode_uncached(model, enc, prompts: torch.Tensor, max_len: int,
                           eos_id: int | None = None) -> list[list[int]]:
    """Reference greedy decoder that recomputes the whole prefix every step (slow; for tests)."""
    eos = decoding.DEFAULT_EOS_ID if eos_id is None else eos_id
    seq = prompts
    for _ in range(max_len):
        token = model.decode_logits(enc, seq)[:, -1].argmax(-1)
        seq = torch.cat([seq, token[:, None]], 1)
        if bool((seq[:, prompts.size(1):] == eos).any(1).all()):
            break
    return decoding._trim(seq[:, prompts.size(1):].tolist(), eos)

"""Pre-norm transformer decoder with a key/value cache for incremental (step-by-step) decoding.

One decoder serves every task: the task is chosen by the prompt `<sot> <|task|>`, never by a
per-task head, so task-specific subnetworks must live in the shared weights (as in the paper).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from benchmark.models.attention import MultiHeadAttention
from benchmark.models.frontend import SinusoidalPositions

# Per layer: {"self": {...}, "cross": {...}} dicts filled by MultiHeadAttention.
DecoderCache = list[dict[str, dict[str, Tensor]]]


class DecoderLayer(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_ffn: int, dropout: float,
                 attn_dropout: float) -> None:
        super().__init__()
        self.self_norm = nn.LayerNorm(d_model)
        self.self_attn = MultiHeadAttention(d_model, n_heads, attn_dropout)
        self.cross_norm = nn.LayerNorm(d_model)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, attn_dropout)
        self.ffn = nn.Sequential(
            nn.LayerNorm(d_model), nn.Linear(d_model, d_ffn), nn.GELU(),
            nn.Linear(d_ffn, d_model),
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, memory: Tensor, self_mask: Tensor, memory_mask: Tensor,
                cache: dict[str, dict[str, Tensor]] | None = None) -> Tensor:
        sc = cc = None
        if cache is not None:
            sc, cc = cache.setdefault("self", {}), cache.setdefault("cross", {})
        x = x + self.dropout(self.self_attn(self.self_norm(x), mask=self_mask, cache=sc))
        x = x + self.dropout(
            self.cross_attn(self.cross_norm(x), memory=memory, mask=memory_mask, cache=cc)
        )
        return x + self.dropout(self.ffn(x))


class TransformerDecoder(nn.Module):
    def __init__(self, vocab_size: int, d_model: int, n_heads: int, d_ffn: int, n_layers: int,
                 dropout: float, max_positions: int, attn_dropout: float = 0.0) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        # The sqrt(d) scale in forward() assumes embeddings of std d^-0.5 (Vaswani et al.).
        # nn.Embedding's N(0, 1) default would make token embeddings ~sqrt(d) times larger than
        # everything cross-attention adds to the residual stream, so the decoder would barely
        # hear the audio (measured: logits moved by 1e-3 when the input was replaced by noise).
        nn.init.normal_(self.embed.weight, std=d_model ** -0.5)
        self.positions = SinusoidalPositions(d_model, max_positions)
        self.scale = math.sqrt(d_model)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            [DecoderLayer(d_model, n_heads, d_ffn, dropout, attn_dropout) for _ in range(n_layers)]
        )
        self.norm = nn.LayerNorm(d_model)
        self.proj = nn.Linear(d_model, vocab_size)

    def forward(self, tokens: Tensor, memory: Tensor, memory_valid: Tensor,
                token_valid: Tensor | None = None, cache: DecoderCache | None = None,
                start: int = 0, positions: Tensor | None = None) -> Tensor:
        """Logits (B, L, V) for `tokens` (B, L) at positions start..start+L-1; with `positions`
        (B, L) bool, only those rows: (N, V) (the loss needs no logits at prompt or padding).

        memory (B, S, D) with memory_valid (B, S) bool. token_valid (B, L) masks padded keys in
        self-attention (teacher forcing). With `cache` (a list, one dict per layer, filled on the
        first call) earlier positions come from the cache and only the new tokens are computed.
        """
        length = tokens.size(1)
        x = self.embed(tokens) * self.scale + self.positions(length, start).to(memory.dtype)
        x = self.dropout(x)
        # Causal mask with an offset: query at position start+i sees keys 0..start+i.
        key_pos = torch.arange(start + length, device=tokens.device)
        query_pos = torch.arange(start, start + length, device=tokens.device)
        self_mask = (key_pos[None, :] <= query_pos[:, None])[None, None]  # (1, 1, L, start+L)
        if token_valid is not None:
            if start:
                raise ValueError("token_valid is only supported without a cache prefix")
            self_mask = self_mask & token_valid[:, None, None, :]
        memory_mask = memory_valid[:, None, None, :]
        if cache is not None and not cache:
            cache.extend({} for _ in self.layers)
        for i, layer in enumerate(self.layers):
            x = layer(x, memory, self_mask, memory_mask, None if cache is None else cache[i])
        if positions is not None:
            x = x[positions]
        return self.proj(self.norm(x))


def reorder_cache(cache: DecoderCache, index: Tensor) -> None:
    """Select rows `index` of every cached tensor (beam search keeps the surviving hypotheses).
    A cache object of transformers (WhisperSLU keeps one) reorders itself."""
    for layer in cache:
        if hasattr(layer, "reorder_cache"):
            layer.reorder_cache(index)
            continue
        for part in layer.values():
            for key in part:
                part[key] = part[key].index_select(0, index)

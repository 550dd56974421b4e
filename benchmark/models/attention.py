"""Multi-head attention with an optional key/value cache for incremental decoding.

Plain nn.Linear projections (not nn.MultiheadAttention's fused in_proj) so that per-weight masks
(pruning, task subnetworks) see one ordinary weight matrix per projection.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.dropout = dropout
        self.q = nn.Linear(d_model, d_model)
        self.k = nn.Linear(d_model, d_model)
        self.v = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)

    def _heads(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2)  # (B, H, T, dh)

    def forward(self, x: Tensor, memory: Tensor | None = None, mask: Tensor | None = None,
                cache: dict[str, Tensor] | None = None) -> Tensor:
        """Self-attention over `x` (memory None) or cross-attention from `x` to `memory`.

        mask: bool, True = may attend, broadcastable to (B, H, T_query, T_key).
        cache: a dict owned by the caller. Self-attention appends this call's keys/values to it
        (so a step only projects the new tokens); cross-attention projects `memory` once and
        reuses it on later calls.
        """
        q = self._heads(self.q(x))
        if memory is None:
            k, v = self._heads(self.k(x)), self._heads(self.v(x))
            if cache is not None:
                if "k" in cache:
                    k = torch.cat([cache["k"], k], dim=2)
                    v = torch.cat([cache["v"], v], dim=2)
                cache["k"], cache["v"] = k, v
        elif cache is not None and "k" in cache:
            k, v = cache["k"], cache["v"]
        else:
            k, v = self._heads(self.k(memory)), self._heads(self.v(memory))
            if cache is not None:
                cache["k"], cache["v"] = k, v
        h = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
        )
        b, _, t, _ = h.shape
        return self.out(h.transpose(1, 2).reshape(b, t, -1))


"""Conformer encoder (Gulati et al. 2020), laid out like `torchaudio.models.Conformer`.

Why not `torchaudio.models.Conformer` itself (the first choice):
- Its convolution module runs the depthwise conv over padded frames without masking them, so
  how much a row is padded changes its valid outputs (the conv reaches kernel//2 frames into
  the padding, per layer). Evaluation results would then depend on batch composition.
- It normalises inside the conv module with BatchNorm (or GroupNorm over time, padding
  included). BatchNorm's running statistics are shared state that is not a parameter: weight
  masks and regularisers (EWC, task subnetworks) cannot protect them, so they drift from task
  to task. LayerNorm over channels has neither problem.
The block order is the same: half FFN, self-attention, convolution, half FFN, then (only with
`block_final_norm`) a final LayerNorm.

Why the per-block final LayerNorm is off by default: it re-normalises the residual stream after
every block, which makes the stack behave like a post-LN transformer, and those need a long
warm-up. On this suite's CPU budget (~250 steps per experience, 100 warm-up) the 6-block
`small` encoder then never left its initial state: naive on Speech commands alone ended at 5.0 %
(one label for every clip; measured with the decoder, and with a mean-pool classifier on the
encoder too), while 3 blocks or no per-block norm learned. Pre-LN blocks with one LayerNorm after
the stack (as Whisper and most modern encoders do) train from the first steps.
"""
from __future__ import annotations

from torch import Tensor, nn

from benchmark.models.attention import MultiHeadAttention


class FeedForward(nn.Sequential):
    def __init__(self, d_model: int, d_ffn: int, dropout: float) -> None:
        super().__init__(
            nn.LayerNorm(d_model), nn.Linear(d_model, d_ffn), nn.SiLU(),
            nn.Linear(d_ffn, d_model), nn.Dropout(dropout),
        )


class ConvModule(nn.Module):
    """Pointwise -> GLU -> depthwise (padding zeroed first) -> LayerNorm -> SiLU -> pointwise."""

    def __init__(self, d_model: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.pointwise_in = nn.Linear(d_model, 2 * d_model)  # == Conv1d(kernel 1)
        self.depthwise = nn.Conv1d(d_model, d_model, kernel, padding=kernel // 2, groups=d_model)
        self.conv_norm = nn.LayerNorm(d_model)
        self.pointwise_out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        h = nn.functional.glu(self.pointwise_in(self.norm(x)), dim=-1)
        h = h * valid.unsqueeze(-1).to(h.dtype)  # padding must look like the conv's zero padding
        h = self.depthwise(h.transpose(1, 2)).transpose(1, 2)
        h = self.pointwise_out(nn.functional.silu(self.conv_norm(h)))
        return self.dropout(h)


class ConformerLayer(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_ffn: int, kernel: int, dropout: float,
                 attn_dropout: float, final_norm: bool = False) -> None:
        super().__init__()
        self.ffn1 = FeedForward(d_model, d_ffn, dropout)
        self.attn_norm = nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads, attn_dropout)
        self.attn_dropout = nn.Dropout(dropout)
        self.conv = ConvModule(d_model, kernel, dropout)
        self.ffn2 = FeedForward(d_model, d_ffn, dropout)
        self.final_norm = nn.LayerNorm(d_model) if final_norm else nn.Identity()

    def forward(self, x: Tensor, valid: Tensor, attn_mask: Tensor) -> Tensor:
        x = x + 0.5 * self.ffn1(x)
        x = x + self.attn_dropout(self.attn(self.attn_norm(x), mask=attn_mask))
        x = x + self.conv(x, valid)
        x = x + 0.5 * self.ffn2(x)
        return self.final_norm(x)


class ConformerEncoder(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_ffn: int, n_layers: int, kernel: int,
                 dropout: float, attn_dropout: float = 0.0,
                 block_final_norm: bool = False) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [ConformerLayer(d_model, n_heads, d_ffn, kernel, dropout, attn_dropout,
                            block_final_norm)
             for _ in range(n_layers)]
        )
        # pre-LN stack: one LayerNorm on the output (blocks with their own final norm need none)
        self.norm = nn.Identity() if block_final_norm else nn.LayerNorm(d_model)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        """x (B, T, D), valid (B, T) bool True on real frames -> (B, T, D); padding rows zeroed."""
        attn_mask = valid[:, None, None, :]  # keys only: padded queries still see valid keys
        for layer in self.layers:
            x = layer(x, valid, attn_mask)
        return self.norm(x) * valid.unsqueeze(-1).to(x.dtype)

"""Whisper as the suite's multi-task SLU model (UniverSLU: a prompted, pretrained Whisper).

The layers are transformers' own (`WhisperEncoderLayer`, `WhisperDecoderLayer`, convolutions,
position tables), so any Whisper checkpoint loads into them by name. What this module adds, and
why the stock `WhisperEncoder.forward` / `WhisperDecoder.forward` are not used:
- Variable-length input. The stock encoder refuses anything but 30 s (3000 frames); padding
  every utterance of SynthSLU-7 (0.9-4 s) to 30 s makes a train step ~20x slower on CPU. Here the
  position table is sliced to the input length instead.
- Padding never changes a result. Padded frames are zeroed before each convolution (so the last
  valid outputs see exactly the zero padding an unpadded input would), and masked as keys in
  encoder self-attention and decoder cross-attention (the stock forwards pass no mask there).
  A row's outputs do not depend on what else is in its batch.
- The suite's model contract: `model(x) -> EncoderOutput`, `decode_logits(...)`,
  `greedy_decode`, `beam_search` (benchmark.models.decoding), so strategies, plugins, the
  criterion and the evaluator treat it like the conformer.
- Task tokens live in a small extra embedding table (`PromptEmbedding`): the 51,864-row token
  table can then be frozen (the default; see `train_embeddings`) while the new rows still train.
  Logits are computed against the original rows only (the tied output projection): prompt
  tokens are given, never predicted.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmark.errors import UserError
from benchmark.models import decoding
from benchmark.models.frontend import lengths_to_mask, split_features
from benchmark.models.slu import EncoderOutput

# The parts of Whisper's weight matrices, as (label, regex over WhisperSLU's parameter names:
# transformers' layout), for analyses that split a change by component (scripts/weight_moves.py,
# scripts/forgetting_by_component.py).
COMPONENTS = (("encoder conv", r"^encoder\.conv"),
              ("encoder attention", r"^encoder\.layers\.\d+\.self_attn\."),
              ("encoder MLP", r"^encoder\.layers\.\d+\.fc"),
              ("decoder self-attention", r"^decoder\.layers\.\d+\.self_attn\."),
              ("decoder cross-attention", r"^decoder\.layers\.\d+\.encoder_attn\."),
              ("decoder MLP", r"^decoder\.layers\.\d+\.fc"))


def additive(allowed: Tensor) -> Tensor:
    """Bool mask (True = may attend) -> float mask added to attention scores (0 or the most
    negative float), the form both of transformers' attention functions read ("eager" adds it;
    a bool mask would be added as 0/1 there)."""
    return torch.zeros(allowed.shape, device=allowed.device).masked_fill(
        ~allowed, torch.finfo(torch.float32).min)


class PromptEmbedding(nn.Module):
    """Whisper's token table (`base`, ids < base rows) plus a table for added tokens (`extra`)."""

    def __init__(self, base: nn.Embedding, n_extra: int) -> None:
        super().__init__()
        self.base = base
        self.extra = nn.Embedding(n_extra, base.embedding_dim)
        self.base_rows = base.num_embeddings

    def forward(self, ids: Tensor) -> Tensor:
        is_extra = ids >= self.base_rows
        out = self.base(ids.masked_fill(is_extra, 0))
        if bool(is_extra.any()):
            extra = self.extra((ids - self.base_rows).clamp_min(0))
            out = torch.where(is_extra[..., None], extra, out)
        return out

    @torch.no_grad()
    def init_extra_from_text(self, text_ids: dict[int, list[int]]) -> None:
        """Row of added token i <- mean of the base rows of its description's tokens."""
        for token_id, ids in text_ids.items():
            self.extra.weight[token_id - self.base_rows] = self.base.weight[ids].mean(0)


class WhisperSLU(nn.Module):
    """Whisper encoder-decoder with UniverSLU prompts over variable-length log-mel input.

    x: (B, T, n_mels + 1) Whisper log-mel frames (10 ms) + the validity channel. The encoder runs
    at 50 frames/s (conv2 has stride 2); at most `max_source_positions` frames (30 s).
    """

    def __init__(self, config, n_added_tokens: int, train_embeddings: bool = False) -> None:
        from transformers import WhisperModel

        super().__init__()
        # torch's scaled_dot_product_attention with float masks. With bool masks it took the
        # CPU flash kernel, which was slower here (train step, batch 16 x 3 s, bf16: 0.95 s
        # vs 0.87 s; transformers' "eager" attention 0.87-0.93 s).
        config._attn_implementation = "sdpa"
        whisper = WhisperModel(config)
        self.config = config
        self.n_mels = config.num_mel_bins
        self.encoder = whisper.encoder
        self.decoder = whisper.decoder
        self.decoder.embed_tokens = PromptEmbedding(self.decoder.embed_tokens, n_added_tokens)
        self.decoder.embed_tokens.base.weight.requires_grad_(train_embeddings)
        self.encoder.embed_positions.weight.requires_grad_(False)  # sinusoids, as in Whisper
        self.vocab_size = config.vocab_size + n_added_tokens

    def token_row(self, token_id: int) -> tuple[str, int]:
        """The parameter and row that embed `token_id` (added tokens live in `extra`)."""
        base_rows = self.decoder.embed_tokens.base_rows
        if token_id >= base_rows:
            return "decoder.embed_tokens.extra.weight", token_id - base_rows
        return "decoder.embed_tokens.base.weight", token_id

    def load_whisper_state(self, state: dict[str, Tensor]) -> None:
        """Load a transformers-named Whisper state_dict ("model." prefix optional)."""
        renamed = {}
        for k, v in state.items():
            k = k.removeprefix("model.")
            if k == "proj_out.weight":
                continue  # tied to the token table
            renamed[k.replace("decoder.embed_tokens.", "decoder.embed_tokens.base.")] = v
        missing, unexpected = self.load_state_dict(renamed, strict=False)
        missing = [k for k in missing if not k.startswith("decoder.embed_tokens.extra")]
        if missing or unexpected:
            raise UserError(f"Whisper weights do not fit the model: missing {missing[:3]}, "
                            f"unexpected {unexpected[:3]}")

    # -- encoder ---------------------------------------------------------------------------
    def forward(self, x: Tensor) -> EncoderOutput:
        if x.size(-1) != self.n_mels + 1:
            raise ValueError(f"expected {self.n_mels + 1} channels (log-mel + validity), "
                             f"got {x.size(-1)}")
        enc = self.encoder
        feats, lengths = split_features(x)
        valid_in = lengths_to_mask(lengths, feats.size(1))[:, None, :].to(feats.dtype)
        h = feats.transpose(1, 2) * valid_in  # (B, n_mels, T)
        h = F.gelu(enc.conv1(h)) * valid_in
        h = F.gelu(enc.conv2(h)).transpose(1, 2)  # (B, T', D); T' = ceil(T / 2)
        if h.size(1) > enc.embed_positions.num_embeddings:
            raise UserError(f"an utterance of {feats.size(1) / 100:.1f} s is longer than this "
                            f"Whisper's {enc.embed_positions.num_embeddings / 50:.0f} s window; "
                            "cap the duration when preparing the corpus")
        valid = lengths_to_mask((lengths - 1) // 2 + 1, h.size(1))
        h = h + enc.embed_positions.weight[: h.size(1)].to(h.dtype)
        h = F.dropout(h, p=enc.dropout, training=self.training)
        key_mask = additive(valid[:, None, None, :])  # padded queries still see valid keys
        for layer in enc.layers:
            h = layer(h, key_mask)
        h = enc.layer_norm(h)
        return EncoderOutput(h * valid[..., None].to(h.dtype), valid)

    # -- decoder ---------------------------------------------------------------------------
    def decode_logits(self, enc: EncoderOutput, tokens: Tensor, token_valid: Tensor | None = None,
                      cache: list | None = None, start: int = 0,
                      positions: Tensor | None = None) -> Tensor:
        """Logits (B, L, V_whisper) for `tokens` at positions start..start+L-1; (N, V) for the
        `positions` (B, L bool) only, when given (the loss needs none at prompt or padding).

        With `cache` (a list, empty on the first call) keys/values of earlier positions and the
        cross-attention projections of `enc` are kept between calls (transformers'
        EncoderDecoderCache, held as the list's only element)."""
        from transformers.cache_utils import DynamicCache, EncoderDecoderCache

        dec = self.decoder
        length = tokens.size(1)
        if start + length > dec.embed_positions.num_embeddings:
            raise UserError(f"decoding past Whisper's {dec.embed_positions.num_embeddings} "
                            "target positions; lower the task's max length")
        h = dec.embed_tokens(tokens) + dec.embed_positions.weight[start:start + length]
        h = F.dropout(h.to(enc.hidden.dtype), p=dec.dropout, training=self.training)
        key_pos = torch.arange(start + length, device=tokens.device)
        query_pos = torch.arange(start, start + length, device=tokens.device)
        self_mask = (key_pos[None, :] <= query_pos[:, None])[None, None]
        if token_valid is not None:
            if start:
                raise ValueError("token_valid is only supported without a cache prefix")
            self_mask = self_mask & token_valid[:, None, None, :]
        self_mask, cross_mask = additive(self_mask), additive(enc.mask[:, None, None, :])
        hf_cache = None
        if cache is not None:
            if not cache:
                cache.append(EncoderDecoderCache(DynamicCache(), DynamicCache()))
            hf_cache = cache[0]
        for layer in dec.layers:
            h = layer(h, self_mask, enc.hidden, cross_mask, cache=hf_cache,
                      use_cache=hf_cache is not None)
        if positions is not None:
            h = h[positions]
        return F.linear(dec.layer_norm(h), dec.embed_tokens.base.weight)

    def greedy_decode(self, enc: EncoderOutput, prompts: Tensor, max_len: int,
                      eos_id: int | None = None) -> list[list[int]]:
        return decoding.greedy_decode(self, enc, prompts, max_len, eos_id)

    def beam_search(self, enc: EncoderOutput, prompt: Tensor, beam: int = 4, max_len: int = 200,
                    eos_id: int | None = None, length_penalty: float = 1.0) -> list[int]:
        return decoding.beam_search(self, enc, prompt, beam, max_len, eos_id, length_penalty)

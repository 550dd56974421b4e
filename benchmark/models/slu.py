"""The multi-task SLU model: speech encoder + task-prompted text decoder (UniverSLU style)."""
from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from benchmark.models import decoding
from benchmark.models.config import ModelConfig, get_config
from benchmark.models.decoder import DecoderCache, TransformerDecoder
from benchmark.models.encoder import ConformerEncoder
from benchmark.models.frontend import (
    Conv2dSubsampling,
    GlobalCMVN,
    SinusoidalPositions,
    SpecAugment,
    lengths_to_mask,
    split_features,
)


class EncoderOutput(NamedTuple):
    """What `model(x)` returns and what the criterion consumes."""

    hidden: Tensor  # (B, T', D) encoder states at 25 frames/s; zero on padding
    mask: Tensor  # (B, T') bool, True on valid frames


class SLUModel(nn.Module):
    """Conformer encoder over fbank frames, pre-norm transformer decoder over tokens, CTC head.

    `forward(x)` only encodes: the decoder needs the targets (teacher forcing), which Avalanche
    hands to the criterion, so `SLUCriterion` runs the decoder. Decoding: `greedy_decode`,
    `beam_search`.
    """

    def __init__(self, config: ModelConfig, vocab_size: int) -> None:
        super().__init__()
        c = config
        self.config = config
        self.vocab_size = vocab_size
        self.cmvn = GlobalCMVN(c.n_mels)
        self.specaug = SpecAugment(c.freq_masks, c.freq_mask_width, c.time_masks,
                                   c.time_mask_width, c.time_mask_p)
        self.subsample = Conv2dSubsampling(c.n_mels, c.subsample_channels, c.d_model)
        self.enc_positions = SinusoidalPositions(c.d_model, c.max_positions)
        self.encoder = ConformerEncoder(c.d_model, c.n_heads, c.enc_ffn, c.enc_layers,
                                        c.conv_kernel, c.dropout, c.attn_dropout,
                                        c.block_final_norm)
        self.decoder = TransformerDecoder(vocab_size, c.d_model, c.n_heads, c.dec_ffn,
                                          c.dec_layers, c.dropout, c.max_positions,
                                          c.attn_dropout)
        self.ctc = nn.Linear(c.d_model, vocab_size)

    def token_row(self, token_id: int) -> tuple[str, int]:
        """The parameter and row that embed `token_id`."""
        return "decoder.embed.weight", token_id

    def set_cmvn(self, mean: Tensor, std: Tensor) -> None:
        """Set global CMVN statistics (per mel bin, over the training corpus' valid frames)."""
        self.cmvn.set_stats(mean, std)

    def forward(self, x: Tensor) -> EncoderOutput:
        """x (B, T, n_mels + 1): raw fbank frames + validity channel -> EncoderOutput."""
        if x.size(-1) != self.config.n_mels + 1:
            raise ValueError(f"expected {self.config.n_mels + 1} channels, got {x.size(-1)}")
        feats, lengths = split_features(x)
        valid_in = lengths_to_mask(lengths, feats.size(1)).unsqueeze(-1).to(feats.dtype)
        feats = self.cmvn(feats) * valid_in  # padding = 0 after normalisation, whatever its value
        if self.training:
            feats = self.specaug(feats)
        h, out_lengths = self.subsample(feats, lengths)
        valid = lengths_to_mask(out_lengths, h.size(1))
        # The torchaudio Conformer has no position information besides its convolutions; an
        # absolute sinusoidal code (as in ESPnet's Conv2dSubsampling) is a cheap addition.
        h = (h + self.enc_positions(h.size(1)).to(h.dtype)) * valid.unsqueeze(-1).to(h.dtype)
        return EncoderOutput(self.encoder(h, valid), valid)

    def decode_logits(self, enc: EncoderOutput, tokens: Tensor, token_valid: Tensor | None = None,
                      cache: DecoderCache | None = None, start: int = 0,
                      positions: Tensor | None = None) -> Tensor:
        """Decoder logits (B, L, V) for `tokens` (B, L) given the encoder output; (N, V) for
        the `positions` (B, L bool) only, when given."""
        return self.decoder(tokens, enc.hidden, enc.mask, token_valid, cache, start, positions)

    def greedy_decode(self, enc: EncoderOutput, prompts: Tensor, max_len: int,
                      eos_id: int | None = None) -> list[list[int]]:
        """Batched greedy decoding with cached keys/values; see `decoding.greedy_decode`."""
        return decoding.greedy_decode(self, enc, prompts, max_len, eos_id)

    def beam_search(self, enc: EncoderOutput, prompt: Tensor, beam: int = 4, max_len: int = 200,
                    eos_id: int | None = None, length_penalty: float = 1.0) -> list[int]:
        """Beam search for one utterance; see `decoding.beam_search`."""
        return decoding.beam_search(self, enc, prompt, beam, max_len, eos_id, length_penalty)


def build_model(size: str, vocab_size: int, cmvn: tuple[Tensor, Tensor] | None = None,
                **overrides: object) -> SLUModel:
    """A fresh model of a registered size (`MODEL_SIZES`), optionally with CMVN stats and config
    overrides (e.g. `dropout=0.0`). Unknown sizes or options raise UserError."""
    model = SLUModel(get_config(size, **overrides), vocab_size)
    if cmvn is not None:
        model.set_cmvn(*cmvn)
    return model


def count_parameters(model: nn.Module, include_embeddings: bool = True) -> dict[str, int]:
    """Number of parameters: {"total": n, <top-level module name>: n, ...}.

    Convention: every element of every nn.Parameter, trainable or not, each shared tensor once.
    Buffers (CMVN statistics, sinusoidal position tables, masks) are not parameters and are not
    counted. "Embeddings" are the decoder's token embedding table; positions are sinusoidal (no
    parameters). With include_embeddings=False the table is left out of "total" and "decoder",
    like nanoGPT's non-embedding count.
    """
    excluded: set[int] = set()
    if not include_embeddings:
        for m in model.modules():
            if isinstance(m, nn.Embedding):
                excluded.add(id(m.weight))
    seen: set[int] = set()
    counts: dict[str, int] = {"total": 0}
    for name, child in model.named_children():
        n = 0
        for p in child.parameters():
            if id(p) in seen or id(p) in excluded:
                continue
            seen.add(id(p))
            n += p.numel()
        counts[name] = n
        counts["total"] += n
    for p in model.parameters(recurse=False):
        if id(p) not in seen and id(p) not in excluded:
            seen.add(id(p))
            counts["total"] += p.numel()
    return counts

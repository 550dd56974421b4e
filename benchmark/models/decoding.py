"""Greedy and beam-search decoding from a task prompt, with cached decoder keys/values."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from benchmark.models.decoder import DecoderCache, reorder_cache
from benchmark.text import SPECIALS

if TYPE_CHECKING:
    from benchmark.models.slu import EncoderOutput, SLUModel

DEFAULT_EOS_ID = SPECIALS.index("<eos>")  # == Tokenizer().eos_id: token ids start with SPECIALS


def _trim(rows: list[list[int]], eos_id: int) -> list[list[int]]:
    return [r[: r.index(eos_id)] if eos_id in r else r for r in rows]


@torch.no_grad()
def greedy_decode(model: SLUModel, enc: EncoderOutput, prompts: Tensor, max_len: int,
                  eos_id: int | None = None) -> list[list[int]]:
    """Greedy decoding for a batch.

    prompts: (B, P) token ids, e.g. `<sot> <|task|>` (the same length for every row).
    max_len: most tokens generated per row, eos included.
    Returns per row the generated ids after the prompt, up to and excluding the first eos.
    Each step feeds only the newest token; earlier keys/values come from the cache. Stops early
    once every row has produced eos.
    """
    eos = DEFAULT_EOS_ID if eos_id is None else eos_id
    cache: DecoderCache = []
    logits = model.decode_logits(enc, prompts, cache=cache)[:, -1]
    done = torch.zeros(prompts.size(0), dtype=torch.bool, device=prompts.device)
    steps: list[Tensor] = []
    for step in range(max_len):
        token = logits.argmax(-1)
        steps.append(token)
        done |= token == eos
        if bool(done.all()) or step == max_len - 1:
            break
        logits = model.decode_logits(enc, token[:, None], cache=cache,
                                     start=prompts.size(1) + step)[:, -1]
    if not steps:
        return [[] for _ in range(prompts.size(0))]
    return _trim(torch.stack(steps, 1).tolist(), eos)


@torch.no_grad()
def beam_search(model: SLUModel, enc: EncoderOutput, prompt: Tensor, beam: int = 4,
                max_len: int = 200, eos_id: int | None = None,
                length_penalty: float = 1.0) -> list[int]:
    """Beam search for ONE utterance (enc batch size 1; prompt (P,) or (1, P)).

    Hypotheses are ranked by sum of log-probabilities / length**length_penalty (length counts
    the eos). Finished hypotheses leave the beam; search stops when `beam` of them are finished
    and no live hypothesis can still beat the best under the current normalisation, or at
    `max_len`. Returns the best finished hypothesis (content ids, eos excluded), or the best live
    one when none finished.
    """
    eos = DEFAULT_EOS_ID if eos_id is None else eos_id
    prompt = prompt.reshape(1, -1)
    if enc.hidden.size(0) != 1:
        raise ValueError("beam_search decodes one utterance; use greedy_decode for batches")
    cache: DecoderCache = []
    logp = model.decode_logits(enc, prompt, cache=cache)[:, -1].log_softmax(-1)  # (1, V)
    beam_enc = enc
    scores = torch.zeros(1, device=prompt.device, dtype=logp.dtype)
    hyps: list[list[int]] = [[]]
    finished: list[tuple[float, list[int]]] = []
    for step in range(max_len):
        total = (scores[:, None] + logp).reshape(-1)  # (n_live * V,)
        top = total.topk(min(2 * beam, total.numel()))
        vocab = logp.size(-1)
        keep_rows, keep_tokens, keep_scores = [], [], []
        for score, flat in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            row, token = divmod(flat, vocab)
            if token == eos:
                finished.append((score / (len(hyps[row]) + 1) ** length_penalty, hyps[row]))
            else:
                keep_rows.append(row)
                keep_tokens.append(token)
                keep_scores.append(score)
            if len(keep_rows) == beam:
                break
        if not keep_rows:
            break
        index = torch.tensor(keep_rows, device=prompt.device)
        hyps = [hyps[r] + [t] for r, t in zip(keep_rows, keep_tokens, strict=True)]
        scores = torch.tensor(keep_scores, device=prompt.device, dtype=logp.dtype)
        finished.sort(key=lambda f: -f[0])
        best_live = max(keep_scores) / (step + 1) ** length_penalty
        if (len(finished) >= beam and finished[0][0] >= best_live) or step == max_len - 1:
            break
        reorder_cache(cache, index)
        if beam_enc.hidden.size(0) != len(keep_rows):
            beam_enc = type(enc)(enc.hidden.expand(len(keep_rows), -1, -1),
                                 enc.mask.expand(len(keep_rows), -1))
        tokens = torch.tensor(keep_tokens, device=prompt.device)[:, None]
        logp = model.decode_logits(beam_enc, tokens, cache=cache,
                                   start=prompt.size(1) + step)[:, -1].log_softmax(-1)
    if finished:
        return max(finished, key=lambda f: f[0])[1]
    return hyps[int(scores.argmax())] if hyps else []

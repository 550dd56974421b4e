"""Per-task evaluation: greedy-decode from the task prompt, decode text, compute metrics.

Metric definitions (all fractions in 0..1):
- classification: accuracy; uar = unweighted average recall = mean over the labels present in the
  references of that label's recall (sklearn's balanced accuracy); macro_f1 over the task labels
  that occur in references or predictions. An invalid prediction (not a label of the task) is
  simply wrong: it counts against recall and is never a true positive.
- transcription: corpus-level wer and cer = (S + D + I) / reference words (characters), jiwer's
  alignment. Empty hypotheses count as deletions; empty references contribute insertions.
- entities: micro precision / recall / F1 over (type, value) pairs, matched exactly as multisets per
  utterance (entity_f1); the same over types only (type_f1). When there is nothing to find and
  nothing was predicted, precision = recall = F1 = 1.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import jiwer
import torch
from sklearn.metrics import f1_score, recall_score
from torch import nn

from benchmark.errors import UserError
from benchmark.memory import release_free_memory
from benchmark.tasks import SUBSETS, TASKS, TaskSpec
from benchmark.text import Tokenizer

# Most tokens generated per utterance (eos included) come from the tokenizer (`max_len(spec)`),
# never from the references. Transcripts may also grow with the audio: at least 0.2 tokens per
# input frame (20 chars/s of speech, above fast read speech's ~15; BPE tokens are longer still),
# so 35-s LibriSpeech utterances are not cut at 200; SynthSLU-7 utterances (< 10 s) stay under
# the fixed 200.
TOKENS_PER_FRAME = 0.2


@dataclass
class TaskResult:
    metrics: dict[str, float]
    predictions: list = field(default_factory=list)
    references: list = field(default_factory=list)
    raw: list[str] = field(default_factory=list)  # the text each prediction was parsed from


def classification_metrics(refs: Sequence[str], preds: Sequence[str],
                           labels: Sequence[str]) -> dict[str, float]:
    """accuracy, uar, macro_f1 of predicted labels against reference labels (see module doc)."""
    if not refs:
        return {"accuracy": 0.0, "uar": 0.0, "macro_f1": 0.0}
    accuracy = sum(r == p for r, p in zip(refs, preds, strict=True)) / len(refs)
    in_refs = [lab for lab in labels if lab in set(refs)]
    seen = [lab for lab in labels if lab in set(refs) | set(preds)]
    uar = recall_score(refs, preds, labels=in_refs, average="macro", zero_division=0)
    macro_f1 = f1_score(refs, preds, labels=seen, average="macro", zero_division=0)
    return {"accuracy": float(accuracy), "uar": float(uar), "macro_f1": float(macro_f1)}


def _error_rate(out: jiwer.WordOutput | jiwer.CharacterOutput) -> float:
    errors = out.substitutions + out.deletions + out.insertions
    n_ref = out.substitutions + out.deletions + out.hits
    return errors / n_ref if n_ref else float(errors > 0)


def asr_metrics(refs: Sequence[str], hyps: Sequence[str]) -> dict[str, float]:
    """Corpus-level wer and cer (fractions). All-empty references give 0 (no errors) or 1."""
    if not refs:
        return {"wer": 0.0, "cer": 0.0}
    refs, hyps = list(refs), list(hyps)
    return {"wer": _error_rate(jiwer.process_words(refs, hyps)),
            "cer": _error_rate(jiwer.process_characters(refs, hyps))}


def _prf(tp: int, n_hyp: int, n_ref: int, prefix: str) -> dict[str, float]:
    precision = tp / n_hyp if n_hyp else float(n_ref == 0)
    recall = tp / n_ref if n_ref else float(n_hyp == 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {f"{prefix}_precision": precision, f"{prefix}_recall": recall, f"{prefix}_f1": f1}


def _pair(entity: dict) -> tuple[str, str]:
    return entity["type"], entity["value"]


def _type(entity: dict) -> str:
    return entity["type"]


def entity_metrics(refs: Sequence[list[dict]], hyps: Sequence[list[dict]]) -> dict[str, float]:
    """entity_{precision,recall,f1} over exact (type, value) pairs and type_{...} over types."""
    counts = {"entity": [0, 0, 0], "type": [0, 0, 0]}  # tp, n_hyp, n_ref
    for ref, hyp in zip(refs, hyps, strict=True):
        for kind, key in (("entity", _pair), ("type", _type)):
            r, h = Counter(map(key, ref)), Counter(map(key, hyp))
            c = counts[kind]
            c[0] += sum((r & h).values())
            c[1] += sum(h.values())
            c[2] += sum(r.values())
    return _prf(*counts["entity"], "entity") | _prf(*counts["type"], "type")


def compute_metrics(spec: TaskSpec, refs: list, preds: list) -> dict[str, float]:
    if spec.kind == "classification":
        return classification_metrics(refs, preds, spec.labels)
    if spec.kind == "transcription":
        return asr_metrics(refs, preds)
    return entity_metrics(refs, preds)


def check_beam(beam: int) -> None:
    if beam < 1:
        raise UserError(f"--beam must be at least 1 (1 = greedy search), got {beam}")


def evaluate_task(model: nn.Module, tokenizer: Tokenizer, spec: TaskSpec,
                  batches: Iterable[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
                  device: torch.device | str, max_len: int | None = None,
                  beam: int = 1, precision: str = "fp32") -> TaskResult:
    """Decode every utterance of `spec` from its prompt and score it: batched greedy search, or
    with beam > 1 beam search one utterance at a time (`benchmark eval --beam`; slower).

    batches: (x, y, t) tuples of the batch contract; every row must belong to `spec` (the prompt
    is taken from y[:, :tokenizer.prompt_len]). The model's train/eval mode is restored
    afterwards. precision="bf16" runs the model under bf16 autocast (as the run trained).
    """
    from benchmark.training.template import autocast

    check_beam(beam)
    limit = tokenizer.max_len(spec) if max_len is None else max_len
    p = tokenizer.prompt_len
    was_training = model.training
    model.eval()
    preds: list = []
    refs: list = []
    raw: list[str] = []
    try:
        with torch.inference_mode(), autocast(device, precision):
            for batch in batches:
                x, y = batch[0].to(device), batch[1].to(device)
                enc = model(x)
                n = limit
                if max_len is None and spec.kind == "transcription":
                    n = max(limit, int(TOKENS_PER_FRAME * x.shape[1]))
                if beam == 1:
                    ids = model.greedy_decode(enc, y[:, :p], n, eos_id=tokenizer.eos_id)
                else:
                    ids = [model.beam_search(type(enc)(enc.hidden[i:i + 1], enc.mask[i:i + 1]),
                                             y[i, :p], beam, n, tokenizer.eos_id)
                           for i in range(y.size(0))]
                preds += [tokenizer.decode(spec, row) for row in ids]
                raw += [tokenizer.text(row) for row in ids]
                refs += [tokenizer.decode(spec, row) for row in y[:, p:].tolist()]
    finally:
        model.train(was_training)
    return TaskResult(compute_metrics(spec, refs, preds), preds, refs, raw)


def evaluate_all(model, tokenizer, built, parts, device: str,
                 batch_size: int, precision: str = "fp32") -> dict[str, dict]:
    """Metrics of every eval subset's test split, each seen through the strategy's view.

    Evaluation leaves torch's random state as it found it: each DataLoader iterator draws a
    seed from the global generator, so without this the shuffling of the next experience
    depended on how many test sets the stream evaluates (seed 0's first experience trained on
    a different order in three_task than in seven_task)."""
    devices = [torch.device(device)] if torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        return _evaluate_all(model, tokenizer, built, parts, device, batch_size, precision)


def _evaluate_all(model, tokenizer, built, parts, device, batch_size,
                  precision) -> dict[str, dict]:
    return {subset: dict(res.metrics, eval_seconds=seconds)
            for subset, res, seconds in evaluate_subsets(model, tokenizer, built, parts, device,
                                                         batch_size, precision)}


def evaluate_subsets(model, tokenizer, built, parts, device, batch_size, precision="fp32",
                     subsets=None) -> Iterator[tuple[str, TaskResult, float]]:
    """(subset, TaskResult, seconds) for every eval subset's test split (or those in
    `subsets`), each seen through the strategy's view, as a run's evaluation sees them. A run
    calls `evaluate_all`, which also keeps torch's random state; this is for analyses."""
    from benchmark.streams import collate

    for subset, ds in built.test_sets.items():
        if subsets is not None and subset not in subsets:
            continue
        spec = TASKS[SUBSETS[subset]]
        order = built.test_order[subset]  # sorted by length: less padding, faster decoding
        loader = torch.utils.data.DataLoader(
            ds, batch_size=batch_size, sampler=order, collate_fn=collate,
            pin_memory=torch.device(device).type == "cuda")
        t0 = time.perf_counter()
        with parts.eval_context(subset):
            res = evaluate_task(model, tokenizer, spec, loader, device, precision=precision)
        yield subset, res, time.perf_counter() - t0
        release_free_memory()

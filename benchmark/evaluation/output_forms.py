"""What form a classification task's predictions take: the task's own label, another task's
label, or neither.

A text-emitting model can forget a task in two different ways: it can lose what the audio means
(the emotion, the intent), or it can keep that and lose the *format*, e.g. answer an ER prompt
with `acc:happy`, another task's label prefix in front of the right emotion. Accuracy scores both
as wrong. This splits them, over all predictions (right ones included):
- `prefixes`: the share of predictions that start with each task's label prefix ("er", "acc",
  ...), or with none ("other": empty or free text);
- `bodies`: the share whose body (the first word after the prefix) is a label of each task (the
  task itself first, where label sets overlap), or of none ("other": e.g. a label cut short at
  the asked task's length limit). `in:caribbean` is an IC-prefix prediction with an accent body;
- `body_accuracy`: the share whose body is the reference label, whatever the prefix.
  body_accuracy well above accuracy means the task's content survived and its format did not.

Pure Python on purpose (no torch): it reads the raw texts `evaluate_task` returns.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from benchmark.tasks import TASKS, TaskSpec

OTHER = "other"


def _split(text: str, prefixes: dict[str, str]) -> tuple[str, str]:
    """(task id of the label prefix the text starts with, or OTHER; the body's first word)."""
    text = text.strip()
    for prefix, task in prefixes.items():
        if text.startswith(prefix):
            words = text[len(prefix):].split()
            return task, words[0] if words else ""
    return OTHER, ""


def label_forms(spec: TaskSpec, raw: Sequence[str], preds: Sequence[str],
                refs: Sequence[str]) -> dict:
    """{"n", "accuracy", "prefixes", "bodies": {task id | "other": share}, "body_accuracy"} of
    one classification task: the raw predicted texts, the labels the tokenizer parsed from them
    (accuracy is computed on these, as the run's is) and the reference labels (no prefix)."""
    if spec.kind != "classification":
        raise ValueError(f"{spec.id} is not a classification task")
    classifiers = [t for t in TASKS.values() if t.kind == "classification"]
    prefixes = {f"{t.label_prefix}:": t.id for t in classifiers}
    owners = [spec] + [t for t in classifiers if t is not spec]  # own labels win an overlap
    n = len(refs)
    if not len(raw) == len(preds) == n:
        raise ValueError(f"{len(raw)} raw texts and {len(preds)} labels for {n} references")
    prefix_counts: Counter = Counter()
    body_counts: Counter = Counter()
    exact = body_right = 0
    for text, pred, ref in zip(raw, preds, refs):
        task, body = _split(text, prefixes)
        prefix_counts[task] += 1
        body_counts[next((t.id for t in owners if body in t.labels), OTHER)] += 1
        exact += pred == ref
        body_right += pred == ref or body == ref
    return {"n": n, "accuracy": exact / n if n else 0.0,
            "prefixes": {k: v / n for k, v in prefix_counts.most_common()},
            "bodies": {k: v / n for k, v in body_counts.most_common()},
            "body_accuracy": body_right / n if n else 0.0}

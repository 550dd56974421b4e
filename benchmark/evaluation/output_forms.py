"""What form a classification task's predictions take, when they are wrong.

A text-emitting model can forget a task in two different ways: it can lose what the audio means
(the emotion, the intent), or it can keep that and lose the *format*, e.g. answer an ER prompt
with `acc:happy`, another task's label prefix in front of the right emotion. Accuracy scores both
as wrong. This splits them:
- `forms`: the share of predictions that carry each task's label prefix ("er", "acc", ...), or
  none ("other": empty, truncated, or free text);
- `bodies`: the share whose text after the first ':' is a label of each task (the task itself
  first, where label sets overlap), or of none ("other"). `in:caribbean` is an IC-form
  prediction with an accent body;
- `body_accuracy`: the share whose text after the first ':' is the reference label, whatever the
  prefix. body_accuracy well above accuracy means the task's content survived and its output
  format did not.

Pure Python on purpose (no torch): it reads the raw texts `evaluate_task` returns.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from benchmark.tasks import TASKS, TaskSpec

OTHER = "other"


def label_forms(spec: TaskSpec, raw: Sequence[str], preds: Sequence[str],
                refs: Sequence[str]) -> dict:
    """{"n", "accuracy", "forms", "bodies": {task id | "other": share}, "body_accuracy"} of
    one classification task: the raw predicted texts, the labels the tokenizer parsed from them
    (accuracy is computed on these, as the run's is) and the reference labels (no prefix)."""
    if spec.kind != "classification":
        raise ValueError(f"{spec.id} is not a classification task")
    task_of_prefix = {t.label_prefix: t.id for t in TASKS.values() if t.kind == "classification"}
    # whose label a body is: the task's own first, then the others in registry order
    owners = [spec] + [t for t in TASKS.values() if t.kind == "classification" and t is not spec]
    n = len(refs)
    if not len(raw) == len(preds) == n:
        raise ValueError(f"{len(raw)} raw texts and {len(preds)} labels for {n} references")
    forms: Counter = Counter()
    bodies: Counter = Counter()
    exact = body = 0
    for text, pred, ref in zip(raw, preds, refs):
        prefix, colon, rest = text.strip().partition(":")
        forms[task_of_prefix.get(prefix, OTHER) if colon else OTHER] += 1
        bodies[next((t.id for t in owners if colon and rest in t.labels), OTHER)] += 1
        exact += pred == ref
        body += pred == ref or (bool(colon) and rest == ref)
    return {"n": n, "accuracy": exact / n if n else 0.0,
            "forms": {k: v / n for k, v in forms.most_common()},
            "bodies": {k: v / n for k, v in bodies.most_common()},
            "body_accuracy": body / n if n else 0.0}

"""What a task's score is: the one place that defines it.

Each task kind has a primary metric (what ranks models on it, in its own unit and direction) and
a score: that metric as a higher-is-better percentage, the unit of the score matrix R[i][j] and
of every continual-learning summary (ACC, BWT, forgetting). Runs, compression studies, tables
and plots all read these definitions from here.

Pure Python on purpose: `benchmark.reporting` imports it, and reporting must not pull in torch.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindScore:
    metric: str  # key in a task's metrics dict
    direction: str  # "higher" | "lower": which way the metric is better
    metric_label: str  # the metric as tables show it (in %)
    score_name: str  # the score as matrix column headers show it


KINDS: dict[str, KindScore] = {
    "classification": KindScore("accuracy", "higher", "accuracy %", "100·accuracy"),
    "transcription": KindScore("wer", "lower", "WER %", "100·(1 − WER)"),
    "entities": KindScore("entity_f1", "higher", "entity F1 %", "100·entity F1"),
}

SCORE_DEFINITION = ("score = 100 * accuracy (classification), 100 * (1 - WER) (asr), "
                    "100 * entity F1 (ner); higher is better for every column")
SCORE_LABEL = "score (%): 100·accuracy, 100·(1 − WER), 100·entity F1"


def primary_metric(kind: str) -> tuple[str, str]:
    """(metric name, "higher" | "lower") that ranks models on a task of this kind."""
    k = KINDS[kind]
    return k.metric, k.direction


def score(kind: str, metrics: dict) -> float:
    """The higher-is-better percentage that fills the score matrix (SCORE_DEFINITION)."""
    return metric_to_score(kind, metrics[KINDS[kind].metric])


def metric_to_score(kind: str, value: float) -> float:
    """A primary-metric value (a fraction) as score points."""
    return 100.0 * (1.0 - value) if KINDS[kind].direction == "lower" else 100.0 * value

"""Metric functions on hand-computed examples, and evaluate_task end to end on a tiny model."""
import pytest
import torch

from benchmark.evaluation.evaluate import (
    asr_metrics,
    classification_metrics,
    entity_metrics,
    evaluate_task,
)
from benchmark.evaluation.scores import primary_metric, score
from benchmark.models import build_model
from benchmark.tasks import TASKS
from benchmark.text import Tokenizer


def test_classification_metrics_by_hand():
    refs = ["a", "a", "a", "b", "b", "c"]
    preds = ["a", "a", "b", "b", "<invalid>", "c"]
    m = classification_metrics(refs, preds, labels=("a", "b", "c", "d"))
    assert m["accuracy"] == pytest.approx(4 / 6)
    # recalls: a 2/3, b 1/2, c 1; "d" never occurs in the references, so it is not averaged.
    assert m["uar"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    # F1: a p=1 r=2/3 -> 0.8; b p=1/2 r=1/2 -> 0.5; c 1.0; invalid is no class of its own.
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 1.0) / 3)


def test_wer_and_cer_by_hand():
    refs = ["turn on the light", "stop", "go left"]
    hyps = ["turn of the light now", "", "go left"]
    m = asr_metrics(refs, hyps)
    # words: 1 substitution (on->of) + 1 insertion (now) + 1 deletion (stop) over 4+1+2 = 7 words
    assert m["wer"] == pytest.approx(3 / 7)
    # chars: "on"->"of" 1 sub, " now" 4 ins, "stop" 4 del over 17+4+7 = 28 chars
    assert m["cer"] == pytest.approx(9 / 28)
    assert asr_metrics(["a b"], ["a b"]) == {"wer": 0.0, "cer": 0.0}


def test_entity_metrics_by_hand():
    refs = [
        [{"type": "date", "value": "monday"}, {"type": "person", "value": "ann"}],
        [],
        [{"type": "time", "value": "five"}, {"type": "time", "value": "five"}],
    ]
    hyps = [
        [{"type": "date", "value": "monday"}, {"type": "person", "value": "anne"}],
        [{"type": "place", "value": "paris"}],
        [{"type": "time", "value": "five"}],
    ]
    m = entity_metrics(refs, hyps)
    # exact pairs: tp = 1 (monday) + 1 (one of the two "five"s, multiset) = 2; 4 predicted; 4 refs
    assert m["entity_precision"] == pytest.approx(2 / 4)
    assert m["entity_recall"] == pytest.approx(2 / 4)
    assert m["entity_f1"] == pytest.approx(0.5)
    # types only: tp = date + person + time = 3 of 4 predicted, 3 of 4 references
    assert m["type_f1"] == pytest.approx(0.75)
    assert entity_metrics([[]], [[]])["entity_f1"] == 1.0


def test_label_forms_split_format_from_content():
    from benchmark.evaluation.output_forms import label_forms

    # er refs; predictions: right, another task's prefix on the right emotion, a right prefix
    # on an accent label, free text, and another task's prefix on a wrong emotion
    refs = ["happy", "sad", "angry", "neutral", "happy"]
    raw = ["em:happy", "acc:sad", "em:caribbean", "hello", "acc:sad"]
    preds = ["happy", "<invalid>", "caribbean", "<invalid>", "<invalid>"]  # as decode parses
    forms = label_forms(TASKS["er"], raw, preds, refs)
    assert forms["n"] == 5 and forms["accuracy"] == pytest.approx(1 / 5)
    assert forms["prefixes"] == pytest.approx({"er": 2 / 5, "acc": 2 / 5, "other": 1 / 5})
    assert forms["bodies"] == pytest.approx({"er": 3 / 5, "acc": 1 / 5, "other": 1 / 5})
    assert forms["body_accuracy"] == pytest.approx(2 / 5)
    # the conformer's raw text may hold more than one label token: only the first is the answer
    two = label_forms(TASKS["er"], ["em:happy em:sad"], ["happy"], ["happy"])
    assert (two["accuracy"], two["bodies"], two["body_accuracy"]) == (1.0, {"er": 1.0}, 1.0)
    with pytest.raises(ValueError):
        label_forms(TASKS["asr"], ["x"], ["x"], ["x"])


def test_primary_metric_and_score():
    assert primary_metric(TASKS["asr"].kind) == ("wer", "lower")
    assert primary_metric(TASKS["er"].kind) == ("accuracy", "higher")
    assert primary_metric(TASKS["ner"].kind) == ("entity_f1", "higher")
    assert score("transcription", {"wer": 0.25}) == 75.0
    assert score("classification", {"accuracy": 0.5, "uar": 0.9}) == 50.0
    assert score("entities", {"entity_f1": 0.8}) == pytest.approx(80.0)


@pytest.mark.parametrize("task_id", ["er", "asr", "ner"])
def test_evaluate_task_runs_and_restores_mode(task_id):
    tok = Tokenizer()
    torch.manual_seed(0)
    model = build_model("tiny", len(tok))
    spec = TASKS[task_id]
    row = {"er": {"label": "sad"}, "asr": {"text": "go left"},
           "ner": {"entities": [{"type": "date", "value": "monday"}]}}[task_id]
    y = torch.tensor([tok.encode_target(spec, row)] * 2)
    x = torch.randn(2, 60, 81)
    x[..., 80] = 1.0
    x[1, 40:] = 0.0
    batches = [(x, y, torch.full((2,), spec.index))] * 2
    result = evaluate_task(model, tok, spec, batches, "cpu", max_len=12)
    assert model.training
    assert len(result.predictions) == len(result.references) == 4
    assert result.references[0] == tok.decode(spec, y[0, 2:].tolist())
    assert len(result.raw) == 4  # the text each prediction was parsed from
    if spec.kind == "classification":  # a prediction is a label exactly when its text is one
        assert all((p == "<invalid>") == (not r.startswith("em:")) and
                   (p == "<invalid>" or r.startswith(f"em:{p}"))
                   for p, r in zip(result.predictions, result.raw))
    assert tok.text(y[0, 2:].tolist()) == {"er": "em:sad", "asr": "go left",
                                           "ner": "<ent:date>monday"}[task_id]
    sad, happy = (tok.ids[f"em:{e}"] for e in ("sad", "happy"))
    assert tok.text([sad, happy, tok.eos_id, sad]) == "em:sad em:happy"  # stops at eos
    name, _ = primary_metric(spec.kind)
    assert 0.0 <= result.metrics[name] or name == "wer"


def test_evaluation_leaves_the_training_random_state_alone(quick_corpus):
    # each DataLoader iterator draws a seed from torch's global generator; evaluating more or
    # fewer test sets must not change the shuffling of the next experience
    from benchmark.data.features import load_stats
    from benchmark.evaluation.evaluate import evaluate_all
    from benchmark.models import build_model
    from benchmark.streams import build_stream, get_stream
    from benchmark.text import Tokenizer
    from strategies import StrategyParts

    tok = Tokenizer()
    built = build_stream(quick_corpus, get_stream("three_task"), tok, max_eval_per_subset=4)
    model = build_model("tiny", len(tok), cmvn=load_stats(quick_corpus))
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    results = evaluate_all(model, tok, built, StrategyParts(), "cpu", batch_size=2)
    assert set(results) == {"er", "ic", "asr"}
    assert torch.equal(torch.rand(3), expected)

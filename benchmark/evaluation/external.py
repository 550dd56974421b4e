"""`benchmark eval`: score a finished run's final model on an external corpus, for one task.

The model is evaluated the way the run evaluated it: with the strategy's view for that task
(e.g. the task's subnetwork mask). Classification utterances whose label the model's task
vocabulary does not have can't be predicted; they are listed and counted, not a crash:
- `metrics` are computed on the utterances with known labels;
- `accuracy_all_utterances` counts the unknown-label ones as errors (the honest headline).
Writes <corpus>-<task>-<split>.json and the per-utterance predictions next to it, in RUN_DIR/eval
unless told otherwise.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from benchmark.errors import UserError
from benchmark.io import atomic_write_json, atomic_write_text


@dataclass
class EvalRequest:
    run_dir: str
    task: str
    data: str  # CORPUS:/path
    split: str | None = None
    max_duration: float = 30.0
    skip_bad: bool = False
    device: str = "cpu"
    batch_size: int = 64
    beam: int = 1  # 1 = batched greedy decoding, as the runs evaluate; >1 = beam search
    out: str | None = None  # folder for the results (default RUN_DIR/eval)


def load_finished_run(run_dir: Path, device: str):
    """(config, train config, backbone, strategy parts) of a finished run, ready to evaluate."""
    from benchmark.config import train_config_from_saved
    from benchmark.models.backbones import build_backbone
    from benchmark.streams import StreamSpec
    from benchmark.tasks import register_subset
    from strategies import StrategyContext, get_strategy

    cfg_path, model_path = run_dir / "config.json", run_dir / "model.pt"
    if not cfg_path.is_file() or not model_path.is_file():
        raise UserError(f"{run_dir} has no config.json and model.pt; pass a finished run folder "
                        "(results/<stream>/<strategy>/seed<N>)")
    config = json.loads(cfg_path.read_text(encoding="utf-8"))
    for name, src in config.get("stream_sources", {}).items():
        register_subset(name, src["task"])
    train = train_config_from_saved(config["train"])
    # evaluate at the precision the run used, which environment.json records where it differs
    # from the requested one (bf16 falls back to fp32 on a CPU, to fp16 on a GPU, without bf16)
    env_path = run_dir / "environment.json"
    used = json.loads(env_path.read_text()).get("precision_used") if env_path.is_file() else None
    if used:
        train = dataclasses.replace(train, precision=used)
    backbone = build_backbone(train.model, train_embeddings=train.train_embeddings)
    tokenizer, model = backbone.tokenizer, backbone.model.to(device)
    try:
        saved = torch.load(model_path, weights_only=True, map_location=device)
        model.load_state_dict(saved["model"])
    except Exception as exc:
        raise UserError(f"cannot load {model_path} ({type(exc).__name__}); it is corrupt or from "
                        "another suite version: rerun the run") from exc
    info = get_strategy(config["run"]["strategy"])
    stream = StreamSpec(config["run"]["stream"], [tuple(e) for e in config["stream_experiences"]])
    ctx = StrategyContext(model, tokenizer, stream, train, device, lambda *_: None,
                          config["run"]["seed"], False)
    parts = info.build(info.config(**config["strategy"]), ctx)
    parts.load_state_dict(saved["strategy"])
    return config, train, backbone, parts


def evaluate_external(req: EvalRequest, log=print) -> dict:
    from benchmark.corpora import get_loader, parse_source
    from benchmark.corpora.prepare import outside_vocabulary, prepare_split
    from benchmark.evaluation.evaluate import check_beam, evaluate_task
    from benchmark.streams import collate, load_subset
    from benchmark.tasks import SUBSETS, get_task

    check_beam(req.beam)  # before loading the model and preparing the data
    run_dir = Path(req.run_dir)
    spec = get_task(req.task)
    corpus, root = parse_source(req.data)
    split = req.split or get_loader(corpus).test_split
    config, train, backbone, parts = load_finished_run(run_dir, req.device)
    model, tokenizer = backbone.model, backbone.tokenizer
    prepared = prepare_split(corpus, root, req.task, split, max_duration=req.max_duration,
                             skip_bad=req.skip_bad, log=log)
    rows = prepared.rows
    unknown = outside_vocabulary(req.task, rows)
    result = {"run": str(run_dir), "strategy": config["run"]["strategy"], "task": req.task,
              "decoding": "greedy" if req.beam == 1 else f"beam {req.beam}",
              "corpus": corpus, "root": str(root), "split": split,
              "utterances": len(rows), "scored": len(rows) - sum(unknown.values()),
              "outside_vocabulary": dict(unknown.most_common()), "prepare": prepared.summary}
    # The view of the task: the run's subset of that task if it trained one, else the task id.
    trained = [s for exp in config["stream_experiences"] for s in exp]
    view = next((s for s in trained if SUBSETS[s] == req.task), req.task)
    result["trained_by_run"] = view in trained
    predictions = []
    if result["scored"]:
        ds, kept = load_subset(prepared.root, req.task, split, tokenizer, req.task,
                               backbone.feature_kind, corpus, log)
        order = sorted(range(len(ds)), key=ds.num_frames)
        items = [(*ds[i], spec.index) for i in order]
        batches = (collate(items[k:k + req.batch_size])
                   for k in range(0, len(items), req.batch_size))
        with parts.eval_context(view):
            res = evaluate_task(model, tokenizer, spec, batches, req.device, beam=req.beam,
                                precision=train.precision)  # as the run evaluated
        result["metrics"] = res.metrics
        if spec.kind == "classification":
            correct = res.metrics["accuracy"] * len(ds)
            result["accuracy_all_utterances"] = correct / len(rows)
        # "raw" is the text the prediction was parsed from: it shows what an "<invalid>" said
        predictions = [{"id": kept[i]["id"], "ref": ref, "pred": pred, "raw": raw}
                       for i, ref, pred, raw in zip(order, res.references, res.predictions,
                                                    res.raw, strict=True)]
    else:
        result["metrics"] = None
    out = Path(req.out or run_dir / "eval") / f"{corpus}-{req.task}-{split}.json"
    atomic_write_json(out, result)
    atomic_write_text(out.with_suffix(".predictions.jsonl"),
                      "".join(json.dumps(p, sort_keys=True) + "\n" for p in predictions))
    log(format_result(result))
    log(f"saved: {out}")
    return result


def format_result(r: dict) -> str:
    lines = [(f"eval {r['strategy']} model on {r['corpus']}:{r['split']} task {r['task']}: "
              f"{r['scored']} of {r['utterances']} utterances scored")]
    if r["outside_vocabulary"]:
        labels = ", ".join(f"{k} ({v})" for k, v in r["outside_vocabulary"].items())
        lines.append(f"  labels outside the model's '{r['task']}' vocabulary: {labels}")
    if not r.get("trained_by_run", True):
        lines.append(f"  note: this run never trained '{r['task']}', so these are an untrained "
                     "task's scores (a strategy with task masks has no mask for it and uses "
                     "the shared weights)")
    if r["metrics"] is None:
        lines.append("  nothing to score: no utterance has a label the model knows")
    else:
        lines += [f"  {k:24s} {v:.4f}" for k, v in r["metrics"].items()]
        if "accuracy_all_utterances" in r:
            lines.append(f"  {'accuracy_all_utterances':24s} {r['accuracy_all_utterances']:.4f}"
                         "  (unknown labels counted as errors)")
    return "\n".join(lines)

"""What a finished run's final model emits for each classification task: its own label, another
task's label, or neither (benchmark/evaluation/output_forms.py says why this matters).

    python scripts/label_forms.py RUN_DIR [RUN_DIR ...]

Evaluates the run's final model (model.pt, not committed: rerun a run to get one) on the run's
own test sets, through the strategy's view of each task (e.g. its subnetwork mask), as the run's
last evaluation did on the CPU at one thread; the accuracy column must therefore equal the
run's final one, printed beside it as a check (a run made on CUDA may differ slightly). Then
prints, per classification task: the share of predictions with each task's label prefix, the
share whose label (after the prefix) is one of each task's, and the accuracy if the prefix were
ignored. Built-in streams on SynthSLU-7 only. About a minute per Whisper tiny.en run; it also
loads the stream's training features (build_stream), about 1 GB for seven_task.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import torch

from benchmark.evaluation.evaluate import evaluate_subsets
from benchmark.evaluation.external import load_finished_run
from benchmark.evaluation.output_forms import label_forms
from benchmark.streams import StreamSpec, build_stream
from benchmark.tasks import SUBSETS, TASKS


def final_accuracies(run: Path) -> dict[str, float | None]:
    evals = run / "evals.jsonl"
    if not evals.is_file():
        raise SystemExit(f"{run} has no evals.jsonl; pass a finished run folder")
    rows = [json.loads(line) for line in evals.read_text().splitlines()]
    last = max(r["experience"] for r in rows)
    return {r["subset"]: r.get("accuracy") for r in rows if r["experience"] == last}


def forms_of_run(run: Path) -> list[dict]:
    config = json.loads((run / "config.json").read_text())
    if config.get("stream_sources"):
        raise SystemExit(f"{run}: a user stream; this script reads built-in SynthSLU-7 streams only")
    final = final_accuracies(run)
    config, train, backbone, parts = load_finished_run(run, "cpu")
    spec = StreamSpec(config["run"]["stream"], [tuple(e) for e in config["stream_experiences"]])
    built = build_stream(Path(config["corpus"]), spec, backbone.tokenizer, None,
                         train.max_eval_per_subset or None, feature_kind=backbone.feature_kind)
    wanted = [s for s in built.test_sets if TASKS[SUBSETS[s]].kind == "classification"]
    out = []
    for subset, res, _ in evaluate_subsets(backbone.model, backbone.tokenizer, built, parts,
                                           "cpu", train.eval_batch_size, train.precision,
                                           subsets=wanted):
        forms = label_forms(TASKS[SUBSETS[subset]], res.raw, res.predictions, res.references)
        top = Counter(res.raw).most_common(1)[0][0] if res.raw else ""
        out.append(dict(forms, subset=subset, run_accuracy=final.get(subset), example=top))
    return out


def shares(d: dict[str, float]) -> str:
    return ", ".join(f"{k} {100 * v:.0f}" for k, v in d.items() if v >= 0.005)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)  # the reference runs evaluate at one thread: same numbers
    for run in args.runs:
        print(f"\n{run}")
        print(f"  {'task':6s} {'accuracy %':>10s} {'(run)':>6s} {'body %':>7s}  "
              f"{'prefixes (share %)':30s} {'label bodies (share %)':30s} most frequent output")
        for r in forms_of_run(run):
            ran = "" if r["run_accuracy"] is None else f"{100 * r['run_accuracy']:.1f}"
            print(f"  {r['subset']:6s} {100 * r['accuracy']:10.1f} {ran:>6s} "
                  f"{100 * r['body_accuracy']:7.1f}  {shares(r['prefixes']):30s} "
                  f"{shares(r['bodies']):30s} {r['example']!r}")


if __name__ == "__main__":
    main()

"""What a finished run's final model emits for each classification task: its own label, another
task's label, or neither (benchmark.evaluation.output_forms says why this matters).

    python scripts/output_forms.py RUN_DIR [RUN_DIR ...]

Evaluates the run's final model (model.pt) on the run's own test sets, through the strategy's
view of each task (e.g. its subnetwork mask), exactly as the run's last evaluation did; the
accuracy column must therefore equal the run's final one (printed beside it as a check). Then
prints, per classification task: the share of predictions in each task's label format (prefix),
the share whose text after ':' is a label of each task (body), and the accuracy if the prefix
were ignored. Built-in streams on SynthSLU-7 only. One thread; about a
minute per Whisper tiny.en run.
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


def final_scores(run: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in (run / "evals.jsonl").read_text().splitlines()]
    last = max(r["experience"] for r in rows)
    return {r["subset"]: r.get("accuracy") for r in rows if r["experience"] == last}


def forms_of_run(run: Path) -> list[dict]:
    config, train, backbone, parts = load_finished_run(run, "cpu")
    if config.get("stream_sources"):
        raise SystemExit(f"{run}: a user stream; this script reads built-in SynthSLU-7 streams only")
    spec = StreamSpec(config["run"]["stream"], [tuple(e) for e in config["stream_experiences"]])
    built = build_stream(Path(config["corpus"]), spec, backbone.tokenizer, None,
                         train.max_eval_per_subset or None, feature_kind=backbone.feature_kind)
    final = final_scores(run)
    wanted = [s for s in built.test_sets if TASKS[SUBSETS[s]].kind == "classification"]
    out = []
    for subset, res, _ in evaluate_subsets(backbone.model, backbone.tokenizer, built, parts,
                                           "cpu", train.eval_batch_size, train.precision,
                                           subsets=wanted):
        forms = label_forms(TASKS[SUBSETS[subset]], res.raw, res.predictions, res.references)
        top = Counter(res.raw).most_common(1)[0][0] if res.raw else ""
        out.append(dict(forms, subset=subset, run_accuracy=final.get(subset), example=top))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for run in args.runs:
        print(f"\n{run}")
        print(f"  {'task':6s} {'acc %':>6s} {'(run)':>6s} {'body %':>7s}  {'prefixes (share %)':24s} "
              f"{'label bodies (share %)':24s} most frequent output")
        for r in forms_of_run(run):
            forms, bodies = (", ".join(f"{k} {100 * v:.0f}" for k, v in r[key].items())
                             for key in ("forms", "bodies"))
            ran = "" if r["run_accuracy"] is None else f"{100 * r['run_accuracy']:.1f}"
            print(f"  {r['subset']:6s} {100 * r['accuracy']:6.1f} {ran:>6s} "
                  f"{100 * r['body_accuracy']:7.1f}  {forms:24s} {bodies:24s} {r['example']!r}")


if __name__ == "__main__":
    main()

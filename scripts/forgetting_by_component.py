"""Which part of one experience's weight change cost the earlier tasks their scores.

    python scripts/forgetting_by_component.py RUN_DIR BEFORE.pt AFTER.pt [--subsets er,ic]

BEFORE.pt and AFTER.pt are a subnet or packnet run's resume checkpoints (`checkpoint.pt`,
overwritten after every experience: copy it away after each one) from before and after the
experience to study; RUN_DIR is the run's folder (config.json). For each component of the
network (encoder, decoder, and their convolution, attention, cross-attention and MLP weights), the model is
set to BEFORE's weights plus AFTER's change in that component alone, and the chosen subsets are
evaluated through their own masks, as the run evaluates them. The rows "none" and "all" must
reproduce the run's scores before and after the experience (a check that the set-up is the
run's). Classification rows also give which tasks' label prefixes the outputs carry (`em:` is
ER's, `lang:` LID's), which separates forgetting the answer format from forgetting the answer.
The components are named as in Whisper (a conformer run's rows other than "all" change nothing).
About 15 s per subset and row on one thread, plus loading the stream (~1 GB for seven_task).
"""
from __future__ import annotations

import argparse
import re
import shutil
import tempfile
from pathlib import Path

import torch

from benchmark.evaluation.evaluate import evaluate_subsets
from benchmark.evaluation.external import load_finished_run
from benchmark.evaluation.output_forms import label_forms
from benchmark.evaluation.scores import score
from benchmark.models.whisper.model import COMPONENTS
from benchmark.streams import StreamSpec, build_stream
from benchmark.tasks import SUBSETS, TASKS

PARTS = (("none", r"^$"), ("all", r""), ("encoder", r"^encoder\."), ("decoder", r"^decoder\."),
         *COMPONENTS)


def scores_by_component(run: Path, before_path: Path, after_path: Path, subsets: list[str],
                        components: list[str] | None = None) -> list[tuple[str, dict[str, tuple]]]:
    """[(component, {subset: (score, {task whose prefix it is: share of outputs} or None)})]
    for the components named in `components` (default: all of PARTS)."""
    before = torch.load(before_path, map_location="cpu", weights_only=True)
    after = torch.load(after_path, map_location="cpu", weights_only=True)
    with tempfile.TemporaryDirectory() as tmp:  # load_finished_run reads a finished run's layout
        for name in ("config.json", "environment.json"):
            shutil.copy(run / name, tmp)
        masks = after["strategy"].get("masks", after["strategy"])  # subnet's, or packnet's
        torch.save({"model": after["model"], "strategy": masks}, Path(tmp) / "model.pt")
        config, train, backbone, parts = load_finished_run(Path(tmp), "cpu")
    spec = StreamSpec(config["run"]["stream"], [tuple(e) for e in config["stream_experiences"]])
    built = build_stream(Path(config["corpus"]), spec, backbone.tokenizer, None,
                         train.max_eval_per_subset or None, feature_kind=backbone.feature_kind)
    rows = []
    for label, pattern in PARTS:
        if components is not None and label not in components:
            continue
        state = {k: after["model"][k] if re.search(pattern, k) else v
                 for k, v in before["model"].items()}
        backbone.model.load_state_dict(state)
        cells = {}
        for subset, res, _ in evaluate_subsets(backbone.model, backbone.tokenizer, built, parts,
                                               "cpu", train.eval_batch_size, train.precision,
                                               subsets=subsets):
            task = TASKS[SUBSETS[subset]]
            prefixes = None
            if task.kind == "classification":
                prefixes = label_forms(task, res.raw, res.predictions, res.references)["prefixes"]
            cells[subset] = (score(task.kind, res.metrics), prefixes)
        rows.append((label, cells))
    return rows


def prefix_shares(prefixes: dict[str, float] | None, top: int = 2) -> str:
    """'er 87, lid 13': the tasks whose label prefix the outputs carry, most frequent first."""
    if prefixes is None:
        return ""
    return ", ".join(f"{t} {100 * v:.0f}" for t, v in list(prefixes.items())[:top] if v >= 0.005)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--subsets", default="er,ic", help="comma-separated subsets to evaluate")
    ap.add_argument("--parts", default=",".join(label for label, _ in PARTS),
                    help="comma-separated components to apply (default: all rows)")
    args = ap.parse_args()
    torch.set_num_threads(1)  # the reference runs evaluate at one thread: same numbers
    wanted, components = args.subsets.split(","), args.parts.split(",")
    unknown = set(components) - {label for label, _ in PARTS}
    if unknown:
        raise SystemExit(f"unknown --parts {sorted(unknown)}; choose from "
                         f"{', '.join(label for label, _ in PARTS)}")
    print(f"{args.run}: {args.before.name} -> {args.after.name}")
    print(f"  {'change applied':24s} " + " ".join(f"{s + ' score':>10s} {'prefixes (%)':24s}"
                                                  for s in wanted))
    for label, cells in scores_by_component(args.run, args.before, args.after, wanted,
                                            components):
        text = [f"{cells[s][0]:10.1f} {prefix_shares(cells[s][1]):24s}" for s in wanted]
        print(f"  {label:24s} " + " ".join(text), flush=True)


if __name__ == "__main__":
    main()

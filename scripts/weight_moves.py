"""How far each experience of a masked run moved the weights every earlier task's mask reads.

    python scripts/weight_moves.py CKPT [CKPT ...]

Each CKPT is a subnet or packnet run's resume checkpoint (`checkpoint.pt`, overwritten after
every experience: copy it away after each one) or its final `model.pt`, in the order they were
written. The first is compared with the pretrained Whisper weights, each later one with the one
before. For each step it prints, per component of the network (encoder or decoder; attention,
cross-attention, MLP, conv), the relative change ||W_new - W_old|| / ||W_old|| of the prunable
weights, and for each task with a mask the same ratio inside that mask (the weights its view
reads), beside the task's score before and after the step (from the checkpoint's metrics). This
is what tells apart "a step moved task A's weights far" from "a small move cost task A a lot".
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch

from benchmark import masks as M
from benchmark.models.backbones import build_backbone
from benchmark.models.whisper.model import COMPONENTS


def load(path: Path) -> tuple[dict, M.TaskMasks, list[list[float]], list[str]]:
    """(weights, masks, score rows so far, tasks with a mask) of a checkpoint.pt, or of a
    model.pt whose scores are in the metrics.json beside it."""
    ck = torch.load(path, map_location="cpu", weights_only=True)
    strategy = ck["strategy"]
    masks = M.TaskMasks.from_state_dict(strategy.get("masks", strategy))
    if "state" in ck:
        rows = json.loads(ck["state"])["score_rows"]
    elif (path.parent / "metrics.json").is_file():
        rows = json.loads((path.parent / "metrics.json").read_text())["score"]["R"]
    else:
        rows = []
    return ck["model"], masks, rows, masks.tasks


def relative_change(old: dict, new: dict, names: list[str], mask: dict | None = None) -> float:
    num = den = 0.0
    for n in names:
        keep = mask[n].to(old[n].dtype) if mask is not None else 1.0
        num += float(((new[n] - old[n]) * keep).pow(2).sum())
        den += float((old[n] * keep).pow(2).sum())
    return (num / den) ** 0.5 if den else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", type=Path)
    ap.add_argument("--model", default="whisper-tiny.en", help="the run's model (config.json)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    old = {k: v.float() for k, v in build_backbone(args.model).model.state_dict().items()}
    old_rows: list[list[float]] = []
    for path in args.checkpoints:
        new, masks, rows, tasks = load(path)
        new = {k: v.float() for k, v in new.items()}
        names = [n for n in masks.names if n in new]
        steps = f"{len(old_rows) + 1}..{len(rows)}" if len(rows) > len(old_rows) + 1 \
            else str(len(rows))
        print(f"\n## {path}: masks for {', '.join(tasks)}; experience(s) {steps}")
        for label, pattern in COMPONENTS:
            part = [n for n in names if re.search(pattern, n)]
            print(f"  {label:24s} moved {100 * relative_change(old, new, part):6.2f} %")
        for i, task in enumerate(tasks):
            before = old_rows[-1][i] if old_rows else float("nan")
            after = rows[-1][i] if rows else float("nan")
            view = relative_change(old, new, names, masks.get(task))
            print(f"  {task:5s} view moved {100 * view:6.2f} %   score {before:5.1f} -> {after:5.1f}")
        old, old_rows = new, rows


if __name__ == "__main__":
    main()

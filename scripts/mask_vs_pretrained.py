"""How close each task's mask is to a magnitude mask of the untrained (pretrained) weights.

    python scripts/mask_vs_pretrained.py RUN_DIR [RUN_DIR ...]

For each finished masked run (subnet, packnet; needs its model.pt), builds the run's model
fresh, prunes it once by global magnitude to each task's sparsity over the same prunable
weights, and prints the IoU of that mask with the task's final mask. An IoU near 1 means the
mask search mostly re-found the weights that were already large before any training.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from benchmark import masks as M
from benchmark.models.backbones import build_backbone


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for run in args.runs:
        config = json.loads((run / "config.json").read_text())
        state = torch.load(run / "model.pt", map_location="cpu", weights_only=True)
        if not isinstance(state.get("strategy"), dict) or \
                state["strategy"].get("format") != "task_masks/v1":
            print(f"{run}: no task masks (not a subnet or packnet run)")
            continue
        name = config["train"]["model"]
        if not name.startswith("whisper"):  # a from-scratch model has no untrained weights to
            print(f"{run}: {name} is not pretrained; this compares with pretrained weights only")
            continue                        # compare with, only another random init
        task_masks = M.TaskMasks.from_state_dict(state["strategy"])
        fresh = build_backbone(name).model
        ones = M.TaskMasks.for_model(fresh).ones()
        cells = []
        for task in task_masks.tasks:
            pre = M.magnitude_prune(fresh, ones, task_masks.sparsity(task), scope="global")
            kept = task_masks.get(task)
            iou = M.mask_count(M.mask_and(kept, pre)) / M.mask_count(M.mask_or(kept, pre))
            cells.append(f"{task} {iou:.3f}")
        print(f"{run}: IoU with the untrained weights' magnitude mask: {', '.join(cells)}")


if __name__ == "__main__":
    main()

"""Write masks.json (mask accounting: kept weights, sparsity, exclusive weights, storage bits,
pairwise IoU) for finished runs made before `benchmark run` wrote it, from their model.pt.

    python scripts/write_mask_accounting.py results/seven_task/subnet/seed0 ...

It calls the function the runner calls at the end of a run (`masks.accounting_of_state`), so the
file is the same as a new run would write. Runs without masks, or without model.pt, are skipped.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from benchmark.io import atomic_write_json
from benchmark.masks import accounting_of_state
from benchmark.tasks import SUBSETS


def main(run_dirs: list[str]) -> int:
    for run_dir in map(Path, run_dirs):
        checkpoint, metrics = run_dir / "model.pt", run_dir / "metrics.json"
        if not checkpoint.exists() or not metrics.exists():
            print(f"skip {run_dir}: needs model.pt and metrics.json")
            continue
        state = torch.load(checkpoint, map_location="cpu", weights_only=True).get("strategy")
        # user-stream subsets are not registered here; their masks then keep their own order
        order = [SUBSETS.get(s, s) for s in json.loads(metrics.read_text())["eval_subsets"]]
        accounting = accounting_of_state(state, order)
        if accounting is None:
            print(f"skip {run_dir}: its strategy keeps no task masks")
            continue
        atomic_write_json(run_dir / "masks.json", accounting)
        print(f"wrote {run_dir / 'masks.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

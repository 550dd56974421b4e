"""Helpers for the tests of the analysis scripts in scripts/: import one as a module, and run a
real (tiny) training run while keeping a copy of every resume checkpoint it writes (the run
overwrites checkpoint.pt after each experience)."""
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from benchmark.runner import RunRequest, checkpoint, run

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load_script(name: str):
    """scripts/<name>.py as a module (registered in sys.modules: dataclasses look it up)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_keeping_checkpoints(request: RunRequest, keep_dir: Path) -> tuple[Path, dict[int, Path]]:
    """(the run's folder, {experiences completed: a copy of checkpoint.pt then}); each copy
    sits in its own folder with the run's config.json beside it, as in a run's folder."""
    real_save, copies = checkpoint.atomic_torch_save, {}

    def save_and_copy(path, obj):
        real_save(path, obj)
        if path.name == "checkpoint.pt":
            done = obj["completed"]
            copies[done] = keep_dir / f"after{done}" / "checkpoint.pt"
            copies[done].parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, copies[done])

    mp = pytest.MonkeyPatch()
    mp.setattr(checkpoint, "atomic_torch_save", save_and_copy)
    try:
        run_dir = run(request, log=lambda *a: None)
    finally:
        mp.undo()
    for copy in copies.values():
        shutil.copy(run_dir / "config.json", copy.parent / "config.json")
    return run_dir, copies

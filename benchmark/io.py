"""Safe result files: every write goes to a temporary file in the same folder, is flushed to
disk (fsync), then renamed over the target, and the folder entry is fsynced too. A crash or a
power cut leaves either the old file or the new one, never a torn one.

torch is imported only by `atomic_torch_save`, so the reporting side can use this module
without it.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """`write(tmp_path)` fills a temporary file next to `path`; it then replaces `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def _json_value(obj):
    """numpy scalars and arrays become their Python values; anything else is a bug to report,
    not a value to guess (json.dumps' `default=float` would turn a tensor into a float)."""
    if isinstance(obj, np.generic | np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot write a {type(obj).__name__} to JSON; convert it to a number, "
                    "string, list or dict first")


def atomic_write_json(path: Path, obj) -> None:
    text = json.dumps(obj, indent=2, sort_keys=True, default=_json_value) + "\n"
    atomic_write_text(path, text)


def atomic_torch_save(path: Path, obj) -> None:
    import torch

    atomic_write(path, lambda tmp: torch.save(obj, tmp))

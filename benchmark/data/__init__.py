"""SynthSLU-7: a synthetic (espeak-ng) speech corpus for seven SLU tasks.

Build with `benchmark.data.build.build_corpus`; read with `benchmark.data.manifest.read_manifest`
and `benchmark.data.features.load_features`.
"""
from __future__ import annotations

import json
from pathlib import Path

CORPUS_VERSION = "1.0"


def corpus_is_complete(root: str | Path) -> bool:
    """True when `root/corpus.json` exists and says the build finished."""
    try:
        info = json.loads((Path(root) / "corpus.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("complete") is True

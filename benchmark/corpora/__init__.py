"""Real SLU corpora read from local disk in their native layouts.

    loader (one file per corpus)  ->  Utterance list  ->  prepare.prepare_split (decode, 16 kHz,
    max duration, fbank cache)  ->  the same manifest + feature layout as SynthSLU-7

`benchmark list corpora` shows the loaders; `docs/real-corpora.md` shows the expected layouts.
A source is written `corpus:/path/to/root`, e.g. `speech_commands:/data/speech_commands_v0.02`.
"""
from __future__ import annotations

from pathlib import Path

# each import registers a loader
from benchmark.corpora import (  # noqa: F401
    common_voice,
    fsc,
    iemocap,
    jsonl,
    librispeech,
    slurp,
    speech_commands,
)
from benchmark.corpora.base import LOADERS, Utterance, get_loader, load_utterances
from benchmark.errors import UserError


def parse_source(text: str) -> tuple[str, Path]:
    """`corpus:/path` -> (corpus, path), with one-line errors."""
    name, sep, path = text.partition(":")
    if not sep or not name or not path:
        raise UserError(f"--data must look like CORPUS:/path/to/root, got {text!r}; corpora: "
                        f"{', '.join(sorted(LOADERS))}")
    get_loader(name)
    return name, Path(path)


__all__ = ["LOADERS", "Utterance", "get_loader", "load_utterances", "parse_source"]

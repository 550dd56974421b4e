"""What a real-corpus loader returns, and the registry that names loaders.

A loader reads a corpus *in its native layout* (the folders and index files its distributor
ships) and lists utterances with labels already mapped to the suite's task vocabulary
(`benchmark.tasks`). It does not read audio: `benchmark.corpora.prepare` decodes, resamples,
filters by duration and caches features, the same way for every corpus.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.errors import UserError
from benchmark.tasks import TASKS


@dataclass(frozen=True)
class Utterance:
    id: str  # unique within (corpus, split); becomes the manifest id
    audio: Path  # absolute path of the audio file (wav/flac/mp3/...; any rate, any channels)
    task: str  # one of benchmark.tasks.TASKS
    label: str | None = None  # classification label in the suite's naming (may be outside it)
    text: str = ""  # transcript for asr; the spoken sentence when the corpus gives it
    entities: tuple[tuple[str, str], ...] | None = None  # ner: (type, value), types mapped
    speaker: str = ""
    language: str = "en"


LoadFn = Callable[[Path, str, str], list[Utterance]]  # (root, task, split) -> utterances


@dataclass(frozen=True)
class LoaderInfo:
    name: str
    description: str
    tasks: tuple[str, ...]
    splits: tuple[str, ...]  # the split names this loader accepts (empty: any name)
    train_split: str  # defaults used by user streams when a source names no split
    test_split: str
    load: LoadFn = field(repr=False)


LOADERS: dict[str, LoaderInfo] = {}


def register_loader(name: str, description: str, tasks: tuple[str, ...], splits: tuple[str, ...],
                    train_split: str, test_split: str) -> Callable[[LoadFn], LoadFn]:
    """Decorator: `@register_loader("speech_commands", ...)` over `def load(root, task, split)`."""
    def wrap(fn: LoadFn) -> LoadFn:
        assert all(t in TASKS for t in tasks), tasks
        assert not splits or {train_split, test_split} <= set(splits), (train_split, test_split)
        LOADERS[name] = LoaderInfo(name, description, tasks, splits, train_split, test_split, fn)
        return fn
    return wrap


def get_loader(name: str) -> LoaderInfo:
    import benchmark.corpora  # noqa: F401 -- importing the package registers every loader

    if name not in LOADERS:
        raise UserError(f"unknown corpus '{name}'; valid corpora: {', '.join(sorted(LOADERS))}")
    return LOADERS[name]


def load_utterances(name: str, root: str | Path, task: str, split: str) -> list[Utterance]:
    """Validated entry point: checks the corpus, task, split and root before calling the loader."""
    info = get_loader(name)
    if task not in info.tasks:
        raise UserError(f"corpus '{name}' has no task '{task}'; it provides: "
                        f"{', '.join(info.tasks)}")
    if info.splits and split not in info.splits:
        raise UserError(f"corpus '{name}' has no split '{split}'; valid splits: "
                        f"{', '.join(info.splits)}")
    root = Path(root).expanduser()
    if not root.exists():
        raise UserError(f"{name}: {root} does not exist; pass the corpus root folder")
    utts = info.load(root.resolve(), task, split)
    if not utts:
        raise UserError(f"{name}: no utterances for task '{task}', split '{split}' under {root}")
    ids = [u.id for u in utts]
    if len(set(ids)) != len(ids):
        raise UserError(f"{name}: duplicate utterance ids under {root}; the layout is corrupt")
    return utts


def require(path: Path, corpus: str, hint: str) -> Path:
    """`path` if it exists, else a one-line UserError naming what is missing and `hint`."""
    if not path.exists():
        raise UserError(f"{corpus}: missing {path}; {hint}")
    return path

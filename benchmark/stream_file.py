"""User-defined streams: a YAML or TOML file that mixes sources into experiences.

    # my_stream.yaml  (run: benchmark run --stream my_stream.yaml --strategy subnet)
    name: real_three                 # optional label; results go to results/<file name>/
    max_duration: 20.0               # optional; files longer than this (s) are skipped
    experiences:                     # in training order; a list trains its sources together
      - [er_iemocap]
      - [ic_slurp]
      - [asr_libri, asr_synth]
    sources:
      er_iemocap: {task: er, corpus: iemocap, root: /data/IEMOCAP_full_release}
      ic_slurp:   {task: ic, corpus: slurp, root: /data/slurp, max_train: 5000}
      asr_libri:  {task: asr, corpus: librispeech, root: /data/LibriSpeech,
                   train_split: train-clean-100, test_split: dev-clean}
      asr_synth:  {task: asr, corpus: synthslu7, subset: asr}   # the built-in synthetic corpus

A source name becomes the subset name in results (a column of the accuracy matrix). `root` may be
relative to the stream file. Every source must be in an experience; each source's test split is
evaluated after every experience. `max_train`/`max_test` keep a seeded random sample of the
utterances whose labels the task vocabulary has, drawn before any audio is decoded.
Keys a source may have are in SOURCE_KEYS; anything else is an error that lists them.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmark.errors import UserError
from benchmark.tasks import BUILTIN_SUBSETS, TASKS, register_subset

SOURCE_KEYS = {
    "task": "task id (benchmark list tasks)",
    "corpus": "loader name (benchmark list corpora) or synthslu7",
    "root": "corpus root folder (not for synthslu7)",
    "subset": "synthslu7 only: which built-in subset (default: the task)",
    "train_split": "split trained on (default: the loader's)",
    "test_split": "split evaluated (default: the loader's)",
    "max_train": "cap on train utterances (0 = all)",
    "max_test": "cap on test utterances (0 = all)",
    "max_duration": "skip longer files, seconds (default: the file's, else 30)",
    "skip_bad": "skip unreadable audio files instead of stopping (default false)",
}
STREAM_KEYS = ("name", "max_duration", "experiences", "sources")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Source:
    name: str
    task: str
    corpus: str
    root: str | None = None
    subset: str | None = None
    train_split: str | None = None
    test_split: str | None = None
    max_train: int = 0
    max_test: int = 0
    max_duration: float = 30.0
    skip_bad: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def is_stream_file(name: str) -> bool:
    return name.endswith((".yaml", ".yml", ".toml"))


def read_stream_file(path: str | Path) -> tuple[str, list[tuple[str, ...]], dict[str, Source]]:
    """Parse and validate a stream file -> (name, experiences, sources)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"stream file {path} not found")
    doc = _parse(path)
    if not isinstance(doc, dict):
        raise UserError(f"{path}: expected a mapping with keys {', '.join(STREAM_KEYS)}")
    for key in doc:
        if key not in STREAM_KEYS:
            raise UserError(f"{path}: unknown key '{key}'; valid keys: {', '.join(STREAM_KEYS)}")
    default_max = _number(doc.get("max_duration", 30.0), f"{path}: max_duration")
    raw_sources = doc.get("sources")
    if not isinstance(raw_sources, dict) or not raw_sources:
        raise UserError(f"{path}: 'sources' must map source names to {{task, corpus, root}}")
    sources = {name: _source(path, name, spec, default_max) for name, spec in raw_sources.items()}
    exps = doc.get("experiences")
    if not isinstance(exps, list) or not exps:
        raise UserError(f"{path}: 'experiences' must be a non-empty list of source lists")
    experiences = []
    for i, exp in enumerate(exps):
        exp = [exp] if isinstance(exp, str) else exp
        if not isinstance(exp, list) or not exp or not all(isinstance(s, str) for s in exp):
            raise UserError(f"{path}: experience {i} must be a source name or a list of them")
        for s in exp:
            if s not in sources:
                raise UserError(f"{path}: experience {i} names unknown source '{s}'; sources: "
                                f"{', '.join(sources)}")
        experiences.append(tuple(exp))
    unused = [s for s in sources if not any(s in exp for exp in experiences)]
    if unused:
        raise UserError(f"{path}: source '{unused[0]}' is in no experience; add it to one or "
                        "remove it")
    for name, src in sources.items():
        register_subset(name, src.task)
    return str(doc.get("name", path.stem)), experiences, sources


def _parse(path: Path) -> object:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{path}: invalid TOML ({exc})") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise UserError(f"{where} must be a positive number, got {value!r}")
    return float(value)


def _source(path: Path, name: object, spec: object, default_max: float) -> Source:
    from benchmark.corpora import get_loader

    where = f"{path}: source '{name}'"
    if not isinstance(name, str) or not _NAME.match(name):
        raise UserError(f"{where}: names are lower-case letters, digits and _, e.g. er_iemocap")
    if not isinstance(spec, dict):
        raise UserError(f"{where}: expected a mapping with keys {', '.join(SOURCE_KEYS)}")
    for key in spec:
        if key not in SOURCE_KEYS:
            raise UserError(f"{where}: unknown key '{key}'; valid keys: "
                            + "; ".join(f"{k} ({h})" for k, h in SOURCE_KEYS.items()))
    task, corpus = spec.get("task"), spec.get("corpus")
    if task not in TASKS:
        raise UserError(f"{where}: 'task' must be one of {', '.join(TASKS)}")
    if not isinstance(corpus, str):
        raise UserError(f"{where}: 'corpus' is required (a loader name or synthslu7)")
    fields: dict = {"max_duration": _number(spec.get("max_duration", default_max),
                                            f"{where}: max_duration")}
    for key in ("max_train", "max_test"):
        value = spec.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise UserError(f"{where}: {key} must be a non-negative integer, got {value!r}")
        fields[key] = value
    if not isinstance(spec.get("skip_bad", False), bool):
        raise UserError(f"{where}: skip_bad must be true or false")
    fields["skip_bad"] = spec.get("skip_bad", False)
    if corpus == "synthslu7":
        ignored = [k for k in ("root", "train_split", "test_split", "max_duration", "skip_bad")
                   if k in spec]
        if ignored:
            raise UserError(f"{where}: '{ignored[0]}' does not apply to synthslu7 (its corpus "
                            "is the profile's, already cut and decoded)")
        subset = spec.get("subset", task)
        if BUILTIN_SUBSETS.get(subset) != task:
            raise UserError(f"{where}: synthslu7 has no subset '{subset}' for task '{task}'")
        if name in BUILTIN_SUBSETS and name != subset:
            raise UserError(f"{where}: '{name}' is a built-in subset name; pick another name")
        return Source(name, task, corpus, subset=subset, **fields)
    if name in BUILTIN_SUBSETS:
        raise UserError(f"{where}: '{name}' is a built-in subset name; pick another, e.g. "
                        f"{task}_{corpus}")
    info = get_loader(corpus)
    if task not in info.tasks:
        raise UserError(f"{where}: corpus '{corpus}' has no task '{task}'; it provides "
                        f"{', '.join(info.tasks)}")
    root = spec.get("root")
    if not isinstance(root, str):
        raise UserError(f"{where}: 'root' (the corpus folder) is required for '{corpus}'")
    root_path = Path(root).expanduser()
    if not root_path.is_absolute():
        root_path = (path.parent / root_path).resolve()
    splits = {}
    for key, default in (("train_split", info.train_split), ("test_split", info.test_split)):
        value = spec.get(key, default)
        if not isinstance(value, str) or (info.splits and value not in info.splits):
            raise UserError(f"{where}: {key} '{value}' is not a split of {corpus}: "
                            f"{', '.join(info.splits)}")
        splits[key] = value
    if splits["train_split"] == splits["test_split"]:
        raise UserError(f"{where}: train_split and test_split are both '{value}'; a model "
                        "would be tested on its training data")
    return Source(name, task, corpus, root=str(root_path), **splits, **fields)


def prepare_sources(spec, corpus: Path | None, log=print,
                    skip_bad: bool = False) -> tuple[dict, dict]:
    """(locations, prepare summaries) of every subset of a user stream (locations as in
    benchmark.streams.Locations); real-corpus splits are decoded and cached on first use."""
    from benchmark.corpora.prepare import prepare_split

    where, summaries = {}, {}
    for name in spec.eval_subsets:
        src: Source = spec.sources[name]
        if src.corpus == "synthslu7":
            for split in ("train", "test"):
                where[name, split] = (corpus, src.subset, split)
            continue
        for split, split_name, limit in (("train", src.train_split, src.max_train),
                                         ("test", src.test_split, src.max_test)):
            prepared = prepare_split(src.corpus, src.root, src.task, split_name,
                                     max_duration=src.max_duration,
                                     skip_bad=src.skip_bad or skip_bad, limit=limit, log=log)
            where[name, split] = (prepared.root, src.task, split_name)
            summaries[f"{name}/{split}"] = prepared.summary
    return where, summaries


def train_feature_stats(built) -> tuple:
    """Global CMVN (mean, std) over every train frame of a built stream (user streams have no
    corpus-wide stats file)."""
    import torch

    total, sq, n = torch.zeros(80, dtype=torch.float64), torch.zeros(80, dtype=torch.float64), 0
    for exp in built.benchmark.train_stream:
        for x, _, _ in torch.utils.data.DataLoader(exp.dataset, batch_size=256,
                                                   collate_fn=exp.dataset.collate_fn):
            valid = x[..., 80] > 0
            f = x[..., :80][valid].double()
            total, sq, n = total + f.sum(0), sq + (f * f).sum(0), n + f.shape[0]
    mean = total / n
    std = (sq / n - mean * mean).clamp_min(1e-8).sqrt()
    return mean.float(), std.float()

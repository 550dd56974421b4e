"""Experience streams built from the corpus manifests and cached features (Avalanche).

A stream is a list of experiences; each experience trains on the train split of one or more
*subsets* (see `benchmark.tasks.SUBSETS`). After every experience the runner evaluates the test
split of every subset in the stream, seen or not, which fills the matrix R[i][j].
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets
from avalanche.benchmarks.scenarios.task_aware import with_task_labels
from avalanche.benchmarks.utils import AvalancheDataset
from avalanche.benchmarks.utils.data_attribute import DataAttribute, TaskLabels
from torch.utils.data import Dataset

from benchmark.errors import UserError
from benchmark.evaluation.cl_metrics import learned_at_from_stream
from benchmark.tasks import SUBSETS, TASKS
from benchmark.text import PAD_TARGET, Tokenizer

SEVEN = ("er", "ic", "asr", "scr", "ner", "lid", "acc")

# stream name -> experiences; each experience is a tuple of subsets trained together.
STREAMS: dict[str, list[tuple[str, ...]]] = {
    "three_task": [("er",), ("ic",), ("asr",)],
    "seven_task": [(t,) for t in SEVEN],
    # The paper's experiment: a jointly trained multi-task base, then new data for ASR, then IC.
    "adaptation": [("er", "ic", "asr"), ("asr_new",), ("ic_new",)],
    "adaptation_seven": [SEVEN, ("asr_new",), ("ic_new",)],
}
STREAM_DESCRIPTIONS = {
    "three_task": "er -> ic -> asr, one task per experience",
    "seven_task": "er -> ic -> asr -> scr -> ner -> lid -> acc, one task per experience",
    "adaptation": "joint er+ic+asr base, then asr_new, then ic_new (arXiv 2406.12317)",
    "adaptation_seven": "joint seven-task base, then asr_new, then ic_new",
}


@dataclass
class StreamSpec:
    name: str
    experiences: list[tuple[str, ...]]
    # user streams (benchmark.stream_file): subset -> where its data comes from
    sources: dict = field(default_factory=dict)

    @property
    def uses_synthslu7(self) -> bool:
        return any(self.sources.get(s) is None or self.sources[s].corpus == "synthslu7"
                   for s in self.eval_subsets)

    @property
    def eval_subsets(self) -> list[str]:
        """Columns of R: every subset in the stream, in first-appearance order."""
        seen: list[str] = []
        for exp in self.experiences:
            seen += [s for s in exp if s not in seen]
        return seen

    def trained_at(self, which: str = "last") -> list[int]:
        """For each eval subset, the last (or first) experience that trains it. A user stream
        may train a source in several experiences: BWT/forgetting measure from the last, FWT
        from the first (see benchmark.evaluation.cl_metrics.cl_summary)."""
        return learned_at_from_stream(self.experiences, self.eval_subsets, which=which)


def get_stream(name: str, order: list[str] | None = None) -> StreamSpec:
    """A built-in stream by name, or a user stream file (.yaml/.yml/.toml)."""
    from benchmark.stream_file import is_stream_file, read_stream_file

    sources = {}
    if is_stream_file(name):
        _, exps, sources = read_stream_file(name)
    elif name not in STREAMS:
        raise UserError(f"unknown stream '{name}'; valid streams: {', '.join(STREAMS)}, "
                        "or a stream file (.yaml/.toml)")
    else:
        exps = list(STREAMS[name])
    if order:
        bad = [s for s in order if s not in SUBSETS]
        if bad:
            raise UserError(f"unknown task '{bad[0]}' in order; valid tasks: {', '.join(SUBSETS)}")
        if any(len(e) != 1 for e in exps):
            raise UserError(f"stream '{name}' has joint experiences; its order can't be changed")
        if sorted(order) != sorted(e[0] for e in exps):
            have = ",".join(e[0] for e in exps)
            raise UserError(f"order must be a permutation of the stream's tasks: {have}")
        exps = [(s,) for s in order]
    return StreamSpec(name, exps, sources)


class FeatureDataset(Dataset):
    """Utterances of one subset/split: (features (T, dim) float32, target token ids).

    Features stay in one contiguous fp16 tensor (loaded once); items are slices of it.
    """

    def __init__(self, feats: torch.Tensor, offsets: torch.Tensor, targets: list[torch.Tensor]):
        self.feats, self.offsets, self.targets = feats, offsets, targets

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        return self.feats[self.offsets[i]:self.offsets[i + 1]].float(), self.targets[i]

    def num_frames(self, i: int) -> int:
        return int(self.offsets[i + 1] - self.offsets[i])


# Batches are padded to a multiple of this many frames (0.32 s). Every distinct input length
# makes oneDNN build and cache new kernels and leaves differently sized blocks in the heap; with
# exact lengths a default Whisper run's resident size grew by ~20 MB per step (2.2 -> 3.5 GB in
# 60 steps), with multiples of 32 it stays flat within an experience (2.6 GB). Padding is masked,
# so results do not change; it costs ~5 % more frames.
PAD_FRAMES_MULTIPLE = 32


def collate(batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad a list of (features, target, task) into the batch contract `(x, y, t)`.

    x: (B, T, dim + 1) features (fbank or Whisper log-mel) plus a validity channel (1 = real
    frame), so that Avalanche plugins that call `model(x)` themselves get the padding
    information; T is the longest utterance rounded up to PAD_FRAMES_MULTIPLE. y: (B, L) token
    ids padded with PAD_TARGET (-100).
    """
    feats, targets, tasks = zip(*batch)
    dim = feats[0].shape[1]
    frames = math.ceil(max(f.shape[0] for f in feats) / PAD_FRAMES_MULTIPLE) * PAD_FRAMES_MULTIPLE
    x = torch.zeros(len(feats), frames, dim + 1)
    y = torch.full((len(targets), max(len(t) for t in targets)), PAD_TARGET, dtype=torch.long)
    for i, (f, t) in enumerate(zip(feats, targets)):
        x[i, : f.shape[0], :dim] = f
        x[i, : f.shape[0], dim] = 1.0
        y[i, : len(t)] = t
    return x, y, torch.as_tensor(tasks, dtype=torch.long)


def load_subset(root: Path, subset: str, split: str, tokenizer: Tokenizer,
                task: str | None = None, feature_kind: str = "fbank", corpus: str = "synthslu7",
                log=None) -> tuple[FeatureDataset, list[dict]]:
    """The cached features (of `feature_kind`) and manifest rows of `root`'s subset/split;
    targets carry `corpus`'s dataset token where the tokenizer has one.

    Rows whose classification label is outside the task vocabulary (possible in real corpora)
    are left out: the model has no token for them. `benchmark.corpora.prepare` reports them.
    """
    from benchmark.data.features import load_features
    from benchmark.data.manifest import read_manifest

    spec = TASKS[task or SUBSETS[subset]]
    manifest = root / "manifests" / subset / f"{split}.jsonl"
    if not manifest.exists():
        raise UserError(f"no manifest {manifest}; build the corpus with `benchmark data build`")
    rows = read_manifest(manifest)
    if not rows:
        raise UserError(f"split '{split}' of '{subset}' is empty in {manifest}")
    cache = load_features(root, subset, split, feature_kind, log)
    if list(cache["ids"]) != [r["id"] for r in rows]:
        raise UserError(f"features of {subset}/{split} don't match its manifest; rebuild the corpus")
    feats, offsets = cache["feats"], cache["offsets"]
    keep = [i for i, r in enumerate(rows)
            if spec.kind != "classification" or r["label"] in spec.labels]
    if not keep:
        raise UserError(f"no label of {manifest} is in the '{spec.id}' vocabulary; "
                        "see `benchmark list tasks`")
    if len(keep) < len(rows):
        rows = [rows[i] for i in keep]
        feats = torch.cat([feats[offsets[i]:offsets[i + 1]] for i in keep])
        lengths = (offsets[1:] - offsets[:-1])[keep]
        offsets = torch.cat([torch.zeros(1, dtype=lengths.dtype), lengths.cumsum(0)])
    targets = [torch.tensor(tokenizer.encode_target(spec, r, corpus), dtype=torch.long)
               for r in rows]
    return FeatureDataset(feats, offsets, targets), rows


def to_avalanche(ds: FeatureDataset, rows: list[dict], subset: str) -> AvalancheDataset:
    spec = TASKS[SUBSETS[subset]]
    # `targets` is the class index for classification tasks (used by class-balanced replay
    # policies) and 0 for sequence tasks.
    labels = [spec.labels.index(r["label"]) if spec.kind == "classification" else 0 for r in rows]
    return AvalancheDataset(
        [ds],
        data_attributes=[DataAttribute(labels, "targets"), TaskLabels([spec.index] * len(ds))],
        collate_fn=collate,
    )


@dataclass
class BuiltStream:
    spec: StreamSpec
    benchmark: object  # avalanche CLScenario with train_stream/test_stream
    test_sets: dict[str, AvalancheDataset]  # eval subset -> test dataset
    test_order: dict[str, list[int]]  # eval subset -> indices sorted by length (for decoding)
    train_sizes: list[int]


# (subset, "train" | "test") -> (corpus-layout root, subset folder in it, split name in it)
Locations = dict[tuple[str, str], tuple[Path, str, str]]



def synthslu7_locations(root: Path, spec: StreamSpec) -> Locations:
    """Every subset of a built-in stream lives in the SynthSLU-7 corpus under its own name."""
    return {(s, split): (root, s, split) for s in spec.eval_subsets for split in ("train", "test")}


def build_stream(root: Path | None, spec: StreamSpec, tokenizer: Tokenizer,
                 max_train_per_subset: int | None = None,
                 max_eval_per_subset: int | None = None,
                 locations: Locations | None = None, feature_kind: str = "fbank",
                 log=None) -> BuiltStream:
    """Avalanche benchmark for `spec`: one train experience per stream entry, test per subset.

    `locations` (user streams) says where each subset's data is; by default SynthSLU-7 at `root`.
    `feature_kind` is what the model reads (benchmark.data.features.FEATURE_KINDS).
    """
    where = locations or synthslu7_locations(root, spec)
    caps = {name: (src.max_train, src.max_test) for name, src in spec.sources.items()}
    corpus_of = {name: src.corpus for name, src in spec.sources.items()}

    def load(subset: str, split: str):
        return load_subset(*where[subset, split], tokenizer, SUBSETS[subset], feature_kind,
                           corpus_of.get(subset, "synthslu7"), log)

    train_exps, sizes = [], []
    for exp in spec.experiences:
        parts = []
        for subset in exp:
            ds, rows = load(subset, "train")
            av = to_avalanche(ds, rows, subset)
            cap = caps.get(subset, (0, 0))[0] or max_train_per_subset
            if cap and len(av) > cap:
                av = av.subset(range(cap))
            parts.append(av)
        merged = _concat(parts)
        train_exps.append(merged)
        sizes.append(len(merged))
    test_sets, test_order = {}, {}
    for subset in spec.eval_subsets:
        ds, rows = load(subset, "test")
        test_sets[subset] = to_avalanche(ds, rows, subset)
        cap = caps.get(subset, (0, 0))[1] or max_eval_per_subset or len(ds)
        keep = range(min(len(ds), cap))
        test_order[subset] = sorted(keep, key=ds.num_frames)
    bm = with_task_labels(benchmark_from_datasets(train=train_exps, test=list(test_sets.values())))
    return BuiltStream(spec, bm, test_sets, test_order, sizes)


def _concat(parts: list[AvalancheDataset]) -> AvalancheDataset:
    out = parts[0]
    for p in parts[1:]:
        out = out.concat(p)
    return out


class ItemsDataset(Dataset):
    """Utterances held as a list of (features, tokens) tensors (e.g. a restored replay buffer)."""

    def __init__(self, feats: list[torch.Tensor], targets: list[torch.Tensor]):
        self.feats, self.targets = feats, targets

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        return self.feats[i], self.targets[i]


def dataset_from_items(feats: list[torch.Tensor], ys: list[torch.Tensor], tasks: list[int],
                       labels: list[int]) -> AvalancheDataset:
    return AvalancheDataset([ItemsDataset(feats, ys)],
                            data_attributes=[DataAttribute(labels, "targets"), TaskLabels(tasks)],
                            collate_fn=collate)

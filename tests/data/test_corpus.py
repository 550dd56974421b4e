"""Layout, schema, speakers, balance and audio validity of the quick corpus."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import soundfile as sf
import torch

from benchmark.data import corpus_is_complete
from benchmark.data.build import SIZES, split_sizes
from benchmark.data.features import compute_fbank, load_features, load_stats
from benchmark.data.manifest import FIELDS, manifest_path, read_manifest
from benchmark.tasks import ACCENT_VOICES, BUILTIN_SUBSETS, ENTITY_TYPES, LANGUAGE_VOICES, TASKS
from benchmark.text import normalize_text

SPLITS = ("train", "dev", "test")


def _rows(root, subset, split):
    return read_manifest(manifest_path(root, subset, split))


def test_layout_and_corpus_json(quick_corpus):
    assert corpus_is_complete(quick_corpus)
    info = json.loads((quick_corpus / "corpus.json").read_text())
    assert info["complete"] is True and info["size"] == "quick" and info["seed"] == 0
    for name in ("DATACARD.md", "checksums.sha256", "features/stats.pt"):
        assert (quick_corpus / name).is_file(), name
    assert not (quick_corpus / ".work").exists()
    assert not list(quick_corpus.rglob("*.tmp"))
    card = (quick_corpus / "DATACARD.md").read_text()
    assert "SYNTHETIC" in card and "not real emotion" in card
    for subset in BUILTIN_SUBSETS:
        for split, n in split_sizes(SIZES["quick"], subset).items():
            assert len(_rows(quick_corpus, subset, split)) == n == info["counts"][subset][split]


def test_checksums_cover_every_file(quick_corpus):
    listed = {line.split("  ", 1)[1] for line in
              (quick_corpus / "checksums.sha256").read_text().splitlines()}
    on_disk = {p.relative_to(quick_corpus).as_posix()
               for d in ("audio", "manifests", "features") for p in (quick_corpus / d).rglob("*")
               if p.is_file()}
    assert listed == on_disk


def test_manifest_schema(quick_corpus):
    for subset, task in BUILTIN_SUBSETS.items():
        spec = TASKS[task]
        for split in SPLITS:
            for row in _rows(quick_corpus, subset, split):
                assert set(row) == set(FIELDS)
                assert row["subset"] == subset and row["split"] == split and row["task"] == task
                assert (quick_corpus / row["path"]).is_file()
                assert row["sample_rate"] == 16000 and row["duration"] > 0.3
                if spec.kind == "classification":
                    assert row["label"] in spec.labels
                else:
                    assert row["label"] is None
                if task == "ner":
                    for ent in row["entities"]:
                        assert ent["type"] in ENTITY_TYPES
                        assert ent["value"] and f" {ent['value']} " in f" {row['text']} "
                else:
                    assert row["entities"] is None
                if task == "lid":
                    assert row["voice"].startswith(LANGUAGE_VOICES[row["label"]] + "+")
                else:
                    assert row["text"] == normalize_text(row["text"])
                if task == "acc":
                    assert row["voice"].startswith(ACCENT_VOICES[row["label"]] + "+")


def test_ner_has_entities_mostly(quick_corpus):
    rows = _rows(quick_corpus, "ner", "train")
    assert sum(bool(r["entities"]) for r in rows) >= 0.85 * len(rows)
    assert {e["type"] for r in rows for e in r["entities"]} == set(ENTITY_TYPES)


def test_speakers_disjoint(quick_corpus):
    main, shift = set(), set()
    for subset in BUILTIN_SUBSETS:
        per_split = {sp: {r["speaker"] for r in _rows(quick_corpus, subset, sp)} for sp in SPLITS}
        assert not per_split["train"] & per_split["dev"], subset
        assert not per_split["train"] & per_split["test"], subset
        assert not per_split["dev"] & per_split["test"], subset
        (shift if subset.endswith("_new") else main).update(*per_split.values())
    assert main and shift and not main & shift


def test_label_balance(quick_corpus):
    for subset, task in BUILTIN_SUBSETS.items():
        spec = TASKS[task]
        if spec.kind != "classification":
            continue
        for split in ("train", "test"):
            counts = Counter(r["label"] for r in _rows(quick_corpus, subset, split))
            assert set(counts) == set(spec.labels), (subset, split)
            assert max(counts.values()) <= min(counts.values()) + 1, (subset, split, counts)


def test_er_text_gives_no_label(quick_corpus):
    rows = _rows(quick_corpus, "er", "train")
    by_text = {}
    for r in rows:
        by_text.setdefault(r["text"], set()).add(r["label"])
    # The sentence pool is shared by all classes: many sentences occur with several labels.
    assert sum(len(v) > 1 for v in by_text.values()) >= len(by_text) // 2


def test_audio_valid(quick_corpus):
    for subset in BUILTIN_SUBSETS:
        for split in SPLITS:
            for row in _rows(quick_corpus, subset, split)[::7]:
                path = quick_corpus / row["path"]
                info = sf.info(path)
                assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
                x, _ = sf.read(path, dtype="float32")
                assert abs(len(x) / 16000 - row["duration"]) < 1e-3
                assert np.abs(x).max() < 1.0
                assert np.sqrt(np.mean(x ** 2)) > 1e-3, row["id"]


def test_features_match_audio_and_manifest(quick_corpus):
    for subset in ("er", "asr_new"):
        data = load_features(quick_corpus, subset, "dev")
        rows = _rows(quick_corpus, subset, "dev")
        assert data["ids"] == [r["id"] for r in rows]
        assert data["feats"].dtype == torch.float16 and data["feats"].shape[1] == 80
        assert data["offsets"].dtype == torch.long and int(data["offsets"][-1]) == len(
            data["feats"])
        x, _ = sf.read(quick_corpus / rows[3]["path"], dtype="float32")
        ref = compute_fbank(x)
        got = data["feats"][data["offsets"][3]:data["offsets"][4]].float()
        assert got.shape == ref.shape
        assert torch.allclose(got, ref, atol=0.05)
    mean, std = load_stats(quick_corpus)
    assert mean.shape == std.shape == (80,) and mean.dtype == torch.float32
    assert bool((std > 0).all())

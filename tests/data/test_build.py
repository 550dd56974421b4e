"""Determinism, resume and error handling of the builder."""
from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest

from benchmark.data.build import build_corpus, default_corpus_dir
from benchmark.data.generate import make_context, make_utterance
from benchmark.data.manifest import read_manifest
from benchmark.data.speakers import build_pools
from benchmark.data.tts import Espeak
from benchmark.errors import UserError
from benchmark.tasks import ACCENT_VOICES, LANGUAGE_VOICES

QUIET = {"log": lambda _msg: None}


def test_same_seed_is_byte_identical(quick_corpus, tmp_path):
    # Chunks land on different workers in a different order each run; output must not change.
    again = build_corpus("quick", out=tmp_path / "again", seed=0, jobs=2, **QUIET)
    assert (again / "checksums.sha256").read_bytes() == \
        (quick_corpus / "checksums.sha256").read_bytes()


def test_different_seed_differs():
    def sample(seed):
        ctx = make_context(seed, build_pools(seed, (24, 6, 6), (8, 3, 3)))
        with Espeak() as engine:
            return [make_utterance(ctx, engine, s, "train", i)
                    for s in ("er", "asr") for i in range(3)]
    a, b = sample(0), sample(1)
    assert any(ra != rb or not np.array_equal(wa, wb) for (ra, wa), (rb, wb) in zip(a, b))
    assert build_pools(0, (24, 6, 6), (8, 3, 3)) != build_pools(1, (24, 6, 6), (8, 3, 3))


def test_resume_after_interruption(quick_corpus, tmp_path):
    root = tmp_path / "resume"
    shutil.copytree(quick_corpus, root)
    # Simulate a crash: corpus not complete, one split never merged, audio of another split
    # partly missing, a half-written temporary file left behind.
    (root / "corpus.json").unlink()
    (root / "manifests" / "lid" / "test.jsonl").unlink()
    (root / "features" / "lid" / "test.pt").unlink()
    for p in sorted((root / "audio" / "er" / "dev").glob("*.flac"))[:5]:
        p.unlink()
    (root / "audio" / "scr" / "dev" / "scr-dev-000000.flac.tmp").write_bytes(b"half")
    (root / "checksums.sha256").write_text("garbage\n")
    build_corpus("quick", out=root, seed=0, jobs=2, **QUIET)
    assert (root / "checksums.sha256").read_bytes() == \
        (quick_corpus / "checksums.sha256").read_bytes()
    assert json.loads((root / "corpus.json").read_text())["complete"] is True


def test_complete_corpus_returns_immediately(quick_corpus):
    t0 = time.time()
    assert build_corpus("quick", out=quick_corpus, seed=0, **QUIET) == quick_corpus
    assert time.time() - t0 < 2.0


def test_complete_corpus_of_other_seed_refused(quick_corpus):
    with pytest.raises(UserError, match="seed 0"):
        build_corpus("quick", out=quick_corpus, seed=1, **QUIET)


def test_unknown_size():
    with pytest.raises(UserError, match="valid sizes: quick, default, large"):
        build_corpus("huge", **QUIET)


def test_unwritable_out(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot write"):
        build_corpus("quick", out=blocker / "corpus", **QUIET)


def test_out_dir_of_other_build_refused(tmp_path):
    (tmp_path / "build.json").write_text(json.dumps({"size": "default", "seed": 3}))
    with pytest.raises(UserError, match="different build"):
        build_corpus("quick", out=tmp_path, seed=0, **QUIET)


def test_default_dir():
    assert default_corpus_dir("quick", 3).as_posix() == "data/synthslu7-quick-seed3"


def test_read_manifest_errors(tmp_path, quick_corpus):
    good = (quick_corpus / "manifests" / "ic" / "dev.jsonl").read_text().splitlines()[0]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good + "\n{not json\n")
    with pytest.raises(UserError, match=r"bad\.jsonl:2"):
        read_manifest(bad)
    row = json.loads(good)
    del row["speaker"]
    bad.write_text(good + "\n" + good + "\n" + json.dumps(row) + "\n")
    with pytest.raises(UserError, match=r"bad\.jsonl:3: missing field 'speaker'"):
        read_manifest(bad)
    with pytest.raises(UserError, match="missing manifest"):
        read_manifest(tmp_path / "nope.jsonl")


def test_voices_exist_and_unknown_voice_rejected():
    with Espeak() as engine:
        for base in set(LANGUAGE_VOICES.values()) | set(ACCENT_VOICES.values()):
            assert len(engine.synth("one", base + "+m3")) > 1000
        with pytest.raises(UserError, match="no voice"):
            engine.set_voice("en-gb")

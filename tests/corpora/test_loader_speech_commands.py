"""Speech Commands v2 loader on a tiny native tree (tests/corpora/layouts/speech_commands.py)."""
from __future__ import annotations

import shutil

import pytest
from layouts import speech_commands as layout

import benchmark.corpora.speech_commands  # noqa: F401 -- registers the loader
from benchmark.corpora.base import load_utterances
from benchmark.errors import UserError


@pytest.fixture(scope="module")
def root(tmp_path_factory, say):
    return layout.write(tmp_path_factory.mktemp("speech_commands"), say)


def _load(root, split):
    return {u.id: u for u in load_utterances("speech_commands", root, "scr", split)}


def test_splits_follow_the_lists(root):
    train, val, test = (_load(root, s) for s in ("train", "validation", "test"))
    assert set(test) == {p.removesuffix(".wav") for p in layout.TESTING}
    assert set(val) == {p.removesuffix(".wav") for p in layout.VALIDATION}
    assert "yes/c1d39ce8_nohash_0" in test and "yes/c1d39ce8_nohash_0" not in train
    assert not (set(train) & set(test)) and not (set(train) & set(val))
    assert len(train) + len(val) + len(test) == len(layout.CLIPS)
    assert {u.speaker for u in test.values()} == {"c1d39ce8"}  # speakers stay in one split


def test_labels_speakers_and_paths(root):
    utts = [u for s in ("train", "validation", "test") for u in _load(root, s).values()]
    assert all("_background_noise_" not in str(u.audio) for u in utts)
    assert sorted((u.audio.parent.name, u.audio.name) for u in utts) == sorted(layout.CLIPS)
    for u in utts:
        assert u.audio.is_absolute() and u.audio.is_file()
        assert u.label == u.text == u.audio.parent.name and u.task == "scr"
        assert u.speaker == u.audio.name.split("_nohash_")[0] and u.language == "en"
    bed = _load(root, "train")["bed/0a7c2a8d_nohash_0"]
    assert bed.label == "bed"  # outside COMMANDS, kept for the caching layer to report


def test_missing_list_names_the_file(root, tmp_path):
    shutil.copytree(root / "yes", tmp_path / "yes")
    shutil.copy(root / "validation_list.txt", tmp_path)
    with pytest.raises(UserError, match=r"missing .*testing_list\.txt; pass the folder"):
        load_utterances("speech_commands", tmp_path, "scr", "train")


def test_wrong_task_and_split(root):
    with pytest.raises(UserError, match="has no task 'asr'; it provides: scr"):
        load_utterances("speech_commands", root, "asr", "train")
    with pytest.raises(UserError, match="has no split 'dev'; valid splits: train, validation"):
        load_utterances("speech_commands", root, "scr", "dev")

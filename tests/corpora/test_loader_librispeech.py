"""LibriSpeech loader on a tiny native tree (tests/corpora/layouts/librispeech.py)."""
from __future__ import annotations

import pytest
from layouts import librispeech as layout

import benchmark.corpora.librispeech  # noqa: F401 -- registers the loader
from benchmark.corpora.base import get_loader, load_utterances
from benchmark.errors import UserError


@pytest.fixture(scope="module")
def root(tmp_path_factory, say):
    return layout.write(tmp_path_factory.mktemp("librispeech"), say)


def test_transcripts_speakers_and_flac_paths(root):
    for split, expected in layout.TRANSCRIPTS.items():
        utts = load_utterances("librispeech", root, "asr", split)
        assert {u.id: u.text for u in utts} == expected
        for u in utts:
            assert u.audio.is_absolute() and u.audio.is_file() and u.audio.suffix == ".flac"
            assert u.audio.name == f"{u.id}.flac" and u.speaker == u.id.split("-")[0]
            assert u.task == "asr" and u.label is None and u.language == "en"
    assert layout.TRANSCRIPTS["train-clean-100"]["26-496-0000"] == "SHE DIDN'T ANSWER AT ONCE"


def test_root_may_be_the_folder_holding_librispeech(root):
    assert root.name == "LibriSpeech"
    direct = load_utterances("librispeech", root, "asr", "test-clean")
    parent = load_utterances("librispeech", root.parent, "asr", "test-clean")
    assert direct == parent


def test_defaults_are_the_standard_splits():
    info = get_loader("librispeech")
    assert (info.train_split, info.test_split) == ("train-clean-100", "test-clean")


def test_missing_split_lists_the_existing_ones(root):
    with pytest.raises(UserError, match=r"no dev-clean/ folder .*split folders there: "
                                        r"test-clean, train-clean-100 \(download"):
        load_utterances("librispeech", root.parent, "asr", "dev-clean")


def test_wrong_task_and_split(root):
    with pytest.raises(UserError, match="has no task 'lid'; it provides: asr"):
        load_utterances("librispeech", root, "lid", "test-clean")
    with pytest.raises(UserError, match="has no split 'test'; valid splits: train-clean-100"):
        load_utterances("librispeech", root, "asr", "test")

"""Common Voice loader on a tiny native release (tests/corpora/layouts/common_voice.py)."""
from __future__ import annotations

import shutil

import pytest
from layouts import common_voice as layout

import benchmark.corpora.common_voice  # noqa: F401 -- registers the loader
from benchmark.corpora.base import load_utterances
from benchmark.errors import UserError


@pytest.fixture(scope="module")
def root(tmp_path_factory, say):
    return layout.write(tmp_path_factory.mktemp("common_voice"), say)


def _expected(split):
    return {(loc, layout.clip_name(loc, n).removesuffix(".mp3"), sentence)
            for loc, rows in layout.ROWS.items() for n, _, s, sentence in rows
            if split in (s, "validated")}


def test_lid_labels_are_language_subtags_from_every_locale(root):
    utts = load_utterances("common_voice", root, "lid", "train")
    assert {(u.label, u.audio.stem, u.text) for u in utts} == _expected("train")
    assert {u.label for u in utts} == {"en", "de", "pt"}  # pt kept: outside the vocabulary
    assert all(u.language == u.label and u.task == "lid" for u in utts)
    quoted = next(u for u in utts if u.audio.stem == "common_voice_en_18512984")
    assert quoted.text == 'He said "hello" and left.'
    assert quoted.speaker == layout.client_id("en", "a")


def test_asr_text_and_splits(root):
    for split in ("dev", "test", "validated"):
        utts = load_utterances("common_voice", root / "en", "asr", split)
        assert {(u.language, u.audio.stem, u.text) for u in utts} == {
            e for e in _expected(split) if e[0] == "en"}
        assert all(u.label is None and u.task == "asr" for u in utts)


def test_asr_refuses_non_english_locales(root):
    # the ASR vocabulary is a-z and apostrophe: German or Portuguese text would be mangled
    for where in (root, root / "de"):
        with pytest.raises(UserError, match="asr reads English only"):
            load_utterances("common_voice", where, "asr", "dev")


def test_mp3_clips_and_converted_wav_fallback(root):
    utts = load_utterances("common_voice", root, "lid", "validated")
    assert all(u.audio.is_absolute() and u.audio.is_file() for u in utts)
    wavs = [u for u in utts if u.audio.suffix == ".wav"]
    assert [(u.language, u.audio.stem) for u in wavs] == [layout.CONVERTED]
    assert not wavs[0].audio.with_suffix(".mp3").exists()
    assert {u.audio.suffix for u in utts if u not in wavs} == {".mp3"}


def test_single_locale_folder_missing_clip_kept_and_region_subtag(root, tmp_path):
    en = load_utterances("common_voice", root / "en", "lid", "test")
    assert [(u.label, u.audio.stem) for u in en] == [("en", "common_voice_en_18513001")]
    # A single `fy-NL` folder (old header, no locale column) with one clip gone from clips/.
    fy = tmp_path / "fy-NL"
    shutil.copytree(root / "pt", fy)
    (fy / "clips" / layout.clip_name("pt", 30000012)).unlink()
    utts = load_utterances("common_voice", fy, "lid", "validated")
    assert {u.label for u in utts} == {"fy"} and len(utts) == len(layout.ROWS["pt"])
    assert [u.audio.is_file() for u in utts] == [True, False]  # missing clip kept, not dropped


def test_errors(root, tmp_path):
    shutil.copytree(root / "de", tmp_path / "de")
    (tmp_path / "de" / "dev.tsv").unlink()
    with pytest.raises(UserError, match=r"missing .*de/dev\.tsv; each locale folder needs"):
        load_utterances("common_voice", tmp_path, "lid", "dev")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"no locale folders .* pass the extracted cv-corpus"):
        load_utterances("common_voice", tmp_path / "empty", "lid", "dev")
    with pytest.raises(UserError, match="has no task 'scr'; it provides: lid, asr"):
        load_utterances("common_voice", root, "scr", "train")
    with pytest.raises(UserError, match="has no split 'other'; valid splits: train, dev"):
        load_utterances("common_voice", root, "lid", "other")

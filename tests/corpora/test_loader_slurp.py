"""SLURP loader on a tiny native tree (tests/corpora/layouts/slurp.py)."""
from __future__ import annotations

import json
import shutil

import pytest
from layouts import slurp as layout

import benchmark.corpora.slurp  # noqa: F401 -- registers the loader
from benchmark.corpora.base import get_loader, load_utterances
from benchmark.errors import UserError
from benchmark.tasks import ENTITY_TYPES, INTENTS


@pytest.fixture(scope="module")
def root(tmp_path_factory, say):
    return layout.write(tmp_path_factory.mktemp("slurp"), say)


def _load(root, task, split):
    return {u.id: u for u in load_utterances("slurp", root, task, split)}


def test_one_utterance_per_recording_with_scenario_action_labels(root):
    train = _load(root, "ic", "train")
    recordings = [r for line in (root / "dataset/slurp/train.jsonl").read_text().splitlines()
                  for r in json.loads(line)["recordings"]]
    assert len(train) == len(recordings) == 22
    u = train["1001-audio-1490101001-headset"]
    assert (u.label, u.text, u.speaker) == ("alarm_set", "wake me up at five am this week", "")
    assert u.audio == root / "audio/slurp_real/audio-1490101001-headset.flac"
    assert u.task == "ic" and u.entities is None and u.language == "en"
    assert train["1001-audio-1490101001"].audio.name == "audio-1490101001.flac"  # far-field mic
    assert sum(x.id.startswith("1010-") for x in train.values()) == 4  # two sessions, two mics
    assert all(x.audio.is_file() for x in train.values())
    # the label is scenario_action even where SLURP's `intent` field was mistyped; intents
    # outside the suite's vocabulary keep their SLURP name
    assert {x.label for x in train.values() if x.id.startswith("1009-")} == {"iot_hue_lightup"}
    assert "iot_hue_lightup" not in INTENTS and "iot_hue_lightson" in INTENTS
    # SLURP spells the lights-on action `hue_lighton`; the suite's intent is iot_hue_lightson
    assert {x.label for x in train.values() if x.id.startswith("1004-")} == {"iot_hue_lightson"}
    test = _load(root, "ic", "test")
    assert len(test) == 12 and not set(train) & set(test)
    assert {x.label for x in test.values()} - set(INTENTS) == {"general_quirky"}


def test_entities_come_from_the_annotation_with_types_mapped(root):
    ner = {u.id.split("-")[0]: u.entities for u in load_utterances("slurp", root, "ner", "train")}
    assert ner["1001"] == (("time", "five am"), ("date", "this week"))
    assert ner["1002"] == (("time", "seven am"), ("date", "tomorrow"))  # digits spelled out
    assert ner["1003"] == (("place", "london"), ("date", "today"))
    assert ner["1004"] == (("place", "kitchen"),)  # house_place: a room is a place
    assert ner["1005"] == (("place", "bedroom"), ("device", "lamp"))
    assert ner["1006"] == ()  # music_genre and artist_name are dropped
    assert ner["1007"] == (("person", "mom"),)  # relation -> person; event_name dropped
    assert ner["1008"] == ner["1009"] == ()
    assert ner["1010"] == (("person", "john"), ("time", "three thirty pm"))
    test = {u.id.split("-")[0]: u for u in load_utterances("slurp", root, "ner", "test")}
    assert test["2004"].entities == (("time", "evening"),)  # timeofday -> time
    assert test["2005"].entities == (("date", "the second of may"),)
    assert test["2005"].text == "what is on my calendar on the 2nd of may"  # text as given
    assert test["2005"].label is None
    assert {t for u in test.values() for t, _ in u.entities} <= set(ENTITY_TYPES)


def test_devel_and_synthetic_splits(root):
    devel = _load(root, "ner", "devel")
    assert {u.entities for u in devel.values()} == {()}  # food_type, business_name dropped
    synth = _load(root, "ic", "train_synthetic")
    assert {u.label for u in synth.values()} == {"alarm_set", "datetime_query"}
    assert all(u.audio.parent == root / "audio" / "slurp_synth" and u.audio.is_file()
               for u in synth.values())


def test_flat_layout_jsonl_and_audio_folders_in_root(root, tmp_path):
    for split in ("test", "train_synthetic"):
        shutil.copy(root / "dataset/slurp" / f"{split}.jsonl", tmp_path)
    for name in ("slurp_real", "slurp_synth"):
        shutil.copytree(root / "audio" / name, tmp_path / name)
    test = load_utterances("slurp", tmp_path, "ic", "test")
    assert [u.id for u in test] == [u.id for u in load_utterances("slurp", root, "ic", "test")]
    assert all(u.audio.parent == tmp_path / "slurp_real" and u.audio.is_file() for u in test)
    synth = load_utterances("slurp", tmp_path, "ic", "train_synthetic")
    assert all(u.audio.parent == tmp_path / "slurp_synth" for u in synth)


def test_speaker_from_user_id_when_present(tmp_path):
    (tmp_path / "audio" / "slurp_real").mkdir(parents=True)
    row = {"slurp_id": 7, "sentence": "hi", "sentence_annotation": "hi", "scenario": "general",
           "action": "greet", "intent": "general_greet", "entities": [],
           "recordings": [{"file": "audio-1.flac", "user_id": "u42"}, {"file": "audio-2.flac"}]}
    (tmp_path / "devel.jsonl").write_text(json.dumps(dict(row, user_id="u9")) + "\n")
    utts = load_utterances("slurp", tmp_path, "ic", "devel")
    assert [(u.id, u.speaker) for u in utts] == [("7-audio-1", "u42"), ("7-audio-2", "u9")]


def test_missing_index_audio_and_bad_lines(root, tmp_path):
    with pytest.raises(UserError, match=r"no devel\.jsonl in .*dataset/slurp or .*; pass the "
                                        r"root of the slurp repository clone"):
        load_utterances("slurp", tmp_path, "ic", "devel")
    shutil.copy(root / "dataset/slurp/devel.jsonl", tmp_path)
    with pytest.raises(UserError, match=r"no slurp_real in .*audio or .*; download "
                                        r"slurp_real\.tar\.gz"):
        load_utterances("slurp", tmp_path, "ic", "devel")
    (tmp_path / "slurp_real").mkdir()
    (tmp_path / "devel.jsonl").write_text('{"slurp_id": 1, "sentence": "hi"}\n{oops\n')
    with pytest.raises(UserError, match=r"devel\.jsonl:1 lacks 'scenario'; re-download"):
        load_utterances("slurp", tmp_path, "ic", "devel")
    (tmp_path / "devel.jsonl").write_text("{oops\n")
    with pytest.raises(UserError, match=r"devel\.jsonl:1 is not valid JSON"):
        load_utterances("slurp", tmp_path, "ic", "devel")


def test_wrong_task_split_and_defaults(root):
    with pytest.raises(UserError, match="has no task 'er'; it provides: ic, ner"):
        load_utterances("slurp", root, "er", "train")
    with pytest.raises(UserError, match="has no split 'dev'; valid splits: train, devel, test, "
                                        "train_synthetic"):
        load_utterances("slurp", root, "ic", "dev")
    info = get_loader("slurp")
    assert (info.train_split, info.test_split) == ("train", "test")

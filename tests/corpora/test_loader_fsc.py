"""Fluent Speech Commands loader on a tiny native tree (tests/corpora/layouts/fsc.py)."""
from __future__ import annotations

import pytest
from layouts import fsc as layout

import benchmark.corpora.fsc  # noqa: F401 -- registers the loader
from benchmark.corpora.base import get_loader, load_utterances
from benchmark.corpora.fsc import INTENT_MAP, intent_label
from benchmark.errors import UserError
from benchmark.tasks import INTENTS


@pytest.fixture(scope="module")
def root(tmp_path_factory, say):
    return layout.write(tmp_path_factory.mktemp("fsc"), say)


def _labels(root, split):
    return {u.text: u.label for u in load_utterances("fsc", root, "ic", split)}


def test_intents_map_onto_the_suite_or_keep_a_readable_label(root):
    assert _labels(root, "train") == {
        "Turn on the lights in the kitchen": "iot_hue_lightson",  # location dropped
        "Switch off the lamp": "iot_hue_lightoff",  # a lamp is a light
        "Turn up the heat in the kitchen": "increase_heat_kitchen",
        "Change language": "change_language",
        "Volume up": "audio_volume_up", "Put on the music": "play_music",
        "Bring me some juice": "bring_juice", "Lights off": "iot_hue_lightoff"}
    assert _labels(root, "valid") == {"Decrease the volume": "audio_volume_down",
                                      "Switch to Chinese": "change_language_chinese",
                                      "Stop the music": "deactivate_music"}
    assert set(_labels(root, "test").values()) == {"iot_hue_lightson", "decrease_heat_washroom",
                                                   "audio_volume_down"}


def test_mapping_table_covers_the_31_fsc_intents():
    rooms = ("none", "kitchen", "bedroom", "washroom")
    triples = ([("change language", o, "none") for o in
                ("none", "Chinese", "English", "German", "Korean")]
               + [(a, "lights", r) for a in ("activate", "deactivate") for r in rooms]
               + [(a, "heat", r) for a in ("increase", "decrease") for r in rooms]
               + [(a, o, "none") for a in ("activate", "deactivate") for o in ("lamp", "music")]
               + [(a, "volume", "none") for a in ("increase", "decrease")]
               + [("bring", o, "none") for o in ("juice", "newspaper", "shoes", "socks")])
    labels = [intent_label(*t) for t in triples]
    assert len(triples) == 31 and set(INTENT_MAP.values()) <= set(INTENTS)
    assert sum(label in INTENTS for label in labels) == 13
    assert len(set(labels)) == 5 + 18  # 13 triples share 5 suite intents; 18 stay distinct
    assert all(label.replace("_", "").isalpha() and label.islower() for label in labels)


def test_paths_speakers_and_ids(root):
    for split, rows in layout.ROWS.items():
        utts = load_utterances("fsc", root, "ic", split)
        assert [u.text for u in utts] == [r[1] for r in rows]
        for u in utts:
            assert u.audio.is_file() and u.audio.parent == root / "wavs/speakers" / u.speaker
            assert u.id == f"{u.speaker}/{u.audio.stem}" and u.task == "ic"
        assert len({u.speaker for u in utts}) == len({r[0] for r in rows})
    assert load_utterances("fsc", root.parent, "ic", "test") == load_utterances(
        "fsc", root, "ic", "test")  # the folder the archive was extracted in works too
    info = get_loader("fsc")
    assert (info.train_split, info.test_split) == ("train", "test")


def test_missing_csv_and_bad_header(tmp_path):
    with pytest.raises(UserError, match=r"missing .*data/valid_data\.csv; pass the "
                                        r"fluent_speech_commands_dataset folder"):
        load_utterances("fsc", tmp_path, "ic", "valid")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "valid_data.csv").write_text(",path,speakerId,transcription\n")
    with pytest.raises(UserError, match=r"lacks column\(s\) action, object, location; expected"):
        load_utterances("fsc", tmp_path, "ic", "valid")


def test_wrong_task_and_split(root):
    with pytest.raises(UserError, match="has no task 'ner'; it provides: ic"):
        load_utterances("fsc", root, "ner", "train")
    with pytest.raises(UserError, match="has no split 'dev'; valid splits: train, valid, test"):
        load_utterances("fsc", root, "ic", "dev")

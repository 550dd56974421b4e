"""IEMOCAP loader on a tiny native tree (tests/corpora/layouts/iemocap.py)."""
from __future__ import annotations

import shutil
from collections import Counter

import pytest
from layouts import iemocap as layout

import benchmark.corpora.iemocap  # noqa: F401 -- registers the loader
from benchmark.corpora.base import get_loader, load_utterances
from benchmark.errors import UserError
from benchmark.tasks import EMOTIONS


@pytest.fixture(scope="module")
def root(tmp_path_factory, say):
    return layout.write(tmp_path_factory.mktemp("iemocap"), say)


def _load(root, split):
    return {u.id: u for u in load_utterances("iemocap", root, "er", split)}


def test_four_classes_with_excited_merged_into_happy(root):
    s1 = _load(root, "session1")
    assert {i: u.label for i, u in s1.items()} == {
        "Ses01F_impro01_F000": "neutral", "Ses01F_impro01_M000": "happy",
        "Ses01F_impro01_F001": "happy",  # exc
        "Ses01F_impro01_M001": "sad", "Ses01F_impro01_F002": "angry"}
    # fru (M002) and xxx (F003) are excluded; their wavs exist but are not listed
    assert (root / "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M002.wav").is_file()
    s5 = _load(root, "session5")
    assert Counter(u.label for u in s5.values()) == {"happy": 3, "neutral": 2, "sad": 2,
                                                     "angry": 1}
    assert "Ses05F_script01_1_M001" not in s5  # sur
    assert {u.label for u in s5.values()} == set(EMOTIONS)


def test_paths_and_speakers(root):
    utts = [u for n in range(1, 6) for u in _load(root, f"session{n}").values()]
    for u in utts:
        dialog = u.id.rsplit("_", 1)[0]
        assert u.audio == root / f"Session{u.id[4]}/sentences/wav/{dialog}/{u.id}.wav"
        assert u.audio.is_file() and u.task == "er" and u.text == "" and u.language == "en"
    speakers = {u.id: u.speaker for u in utts}
    assert speakers["Ses01F_impro01_M000"] == "Ses01M"
    assert speakers["Ses02M_impro02_F000"] == "Ses02F"
    assert speakers["Ses05F_script01_1_M000"] == "Ses05M"
    assert len(set(speakers.values())) == 10  # two actors per session


def test_folds_leave_one_session_out(root):
    sessions = {n: set(_load(root, f"session{n}")) for n in range(1, 6)}
    assert all(len(ids) == 5 for n, ids in sessions.items() if n < 5) and len(sessions[5]) == 8
    for n in range(1, 6):
        train = set(_load(root, f"train_fold{n}"))
        assert train == set().union(*(ids for m, ids in sessions.items() if m != n))
        assert not train & sessions[n]
    assert {i[:5] for i in _load(root, "train_fold5")} == {"Ses01", "Ses02", "Ses03", "Ses04"}
    info = get_loader("iemocap")
    assert (info.train_split, info.test_split) == ("train_fold5", "session5")


def test_root_may_hold_iemocap_full_release(root, tmp_path):
    shutil.copytree(root / "Session5", tmp_path / "IEMOCAP_full_release" / "Session5")
    nested = load_utterances("iemocap", tmp_path, "er", "session5")
    assert [u.id for u in nested] == [u.id for u in load_utterances("iemocap", root, "er",
                                                                     "session5")]


def test_missing_session_lists_what_exists(root, tmp_path):
    for n in (1, 2, 4, 5):
        (tmp_path / f"Session{n}").symlink_to(root / f"Session{n}")
    assert len(load_utterances("iemocap", tmp_path, "er", "train_fold3")) == 5 * 3 + 8
    with pytest.raises(UserError, match=r"no Session3/ folder in .* \(split 'train_fold5' needs "
                                        r"it\); session folders there: Session1, Session2, "
                                        r"Session4, Session5; pass the IEMOCAP_full_release"):
        load_utterances("iemocap", tmp_path, "er", "train_fold5")
    (tmp_path / "Session3" / "dialog" / "EmoEvaluation").mkdir(parents=True)
    with pytest.raises(UserError, match=r"no EmoEvaluation/\*\.txt in .*Session3.*re-extract"):
        load_utterances("iemocap", tmp_path, "er", "session3")


def test_wrong_task_and_split(root):
    with pytest.raises(UserError, match="has no task 'ic'; it provides: er"):
        load_utterances("iemocap", root, "ic", "session5")
    with pytest.raises(UserError, match="has no split 'fold5'; valid splits: session1, .*"
                                        "train_fold5"):
        load_utterances("iemocap", root, "er", "fold5")

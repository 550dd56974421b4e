"""The JSONL manifest loader and the shared prepare step (decode, 16 kHz, filter, cache)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from benchmark.corpora.base import load_utterances
from benchmark.corpora.prepare import prepare_split, read_audio
from benchmark.data.features import compute_fbank, load_features
from benchmark.errors import UserError


@pytest.fixture(scope="module")
def manifest_root(tmp_path_factory, say):
    root = tmp_path_factory.mktemp("jsonl")
    say("set an alarm for seven", root / "clips" / "a.wav", sample_rate=8000)
    say("what is the weather like", root / "clips" / "b.flac", sample_rate=44100, channels=2)
    say("tell me a joke", root / "clips" / "c.mp3", sample_rate=48000)
    say("hello there", root / "clips" / "d.wav")
    long = np.zeros(16000 * 4, dtype=np.float32)
    long[::50] = 0.1
    sf.write(root / "clips" / "long.wav", long, 16000)  # 4 s: over max_duration below
    rows = [
        {"audio": "clips/a.wav", "task": "ic", "label": "alarm_set", "speaker": "s1"},
        {"audio": "clips/b.flac", "task": "ic", "label": "weather_query", "id": "b"},
        {"audio": str(root / "clips" / "c.mp3"), "task": "ic", "label": "general_joke"},
        {"audio": "clips/d.wav", "task": "ic", "label": "greeting_hello"},  # not in vocabulary
        {"audio": "clips/long.wav", "task": "ic", "label": "alarm_set"},
        {"audio": "clips/a.wav", "task": "asr", "text": "Set an alarm for seven."},
    ]
    (root / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_jsonl_rows_by_task(manifest_root):
    ic = load_utterances("jsonl", manifest_root, "ic", "test")
    assert [u.label for u in ic] == ["alarm_set", "weather_query", "general_joke",
                                     "greeting_hello", "alarm_set"]
    assert ic[0].id == "test-1" and ic[1].id == "b" and ic[0].speaker == "s1"
    assert ic[0].audio == (manifest_root / "clips" / "a.wav").resolve()
    asr = load_utterances("jsonl", manifest_root, "asr", "test")
    assert len(asr) == 1 and asr[0].text == "Set an alarm for seven."


def test_jsonl_errors(tmp_path):
    with pytest.raises(UserError, match="no train.jsonl"):
        load_utterances("jsonl", tmp_path, "ic", "train")
    (tmp_path / "train.jsonl").write_text('{"audio": "x.wav", "task": "ic"}\n')
    with pytest.raises(UserError, match=r"train.jsonl:1: task 'ic' needs a string \"label\""):
        load_utterances("jsonl", tmp_path, "ic", "train")
    (tmp_path / "train.jsonl").write_text('{"audio": "x.wav", "task": "ner", "entities": '
                                          '[{"type": "colour", "value": "red"}]}\n')
    with pytest.raises(UserError, match="types from: date"):
        load_utterances("jsonl", tmp_path, "ner", "train")
    with pytest.raises(UserError, match="unknown corpus 'nope'"):
        load_utterances("nope", tmp_path, "ic", "train")


def test_read_audio_resamples_to_16k_mono(manifest_root):
    wave, sr, duration = read_audio(manifest_root / "clips" / "b.flac")
    assert sr == 44100 and wave.ndim == 1
    assert abs(wave.size / 16000 - duration) < 0.01
    wave8, sr8, dur8 = read_audio(manifest_root / "clips" / "a.wav")
    assert sr8 == 8000 and abs(wave8.size - round(dur8 * 16000)) <= 1


def test_prepare_filters_caches_and_reports(manifest_root, tmp_path):
    logs = []
    p = prepare_split("jsonl", manifest_root, "ic", "test", max_duration=3.0, cache_dir=tmp_path,
                      log=logs.append)
    s = p.summary
    assert (s["listed"], s["kept"], s["skipped_too_long"], s["skipped_unreadable"]) == (5, 4, 1, 0)
    assert s["outside_vocabulary"] == {"greeting_hello": 1}
    assert "labels outside the task vocabulary" in logs[-1]
    # other rates are resampled and stereo is downmixed, and the log says so
    assert s["resampled_from_hz"] == {"8000": 1, "44100": 1, "48000": 1}
    assert s["downmixed_to_mono"] == 1
    assert "resampled to 16 kHz: 3 (from 8000 Hz: 1, 44100 Hz: 1, 48000 Hz: 1)" in logs[-1]
    assert "downmixed to mono: 1" in logs[-1]
    feats = load_features(p.root, "ic", "test")
    rows = p.rows
    assert list(feats["ids"]) == [r["id"] for r in rows]
    # cached features equal the suite's fbank of the 16-kHz waveform (fp16 storage)
    wave, _, _ = read_audio(manifest_root / "clips" / "a.wav")
    first = feats["feats"][feats["offsets"][0]:feats["offsets"][1]].float()
    assert torch.allclose(first, compute_fbank(wave), atol=0.02)
    assert rows[1]["sample_rate"] == 44100 and rows[1]["snr_db"] is None
    # second call: served from the cache, nothing is decoded again
    stamp = (p.root / "features" / "ic" / "test.pt").stat().st_mtime_ns
    again = prepare_split("jsonl", manifest_root, "ic", "test", max_duration=3.0,
                          cache_dir=tmp_path, log=logs.append)
    assert again.root == p.root and len(logs) == 2
    assert (p.root / "features" / "ic" / "test.pt").stat().st_mtime_ns == stamp
    # another duration limit is another cache entry
    other = prepare_split("jsonl", manifest_root, "ic", "test", max_duration=10.0,
                          cache_dir=tmp_path, log=logs.append)
    assert other.root != p.root and other.summary["kept"] == 5


def test_limit_samples_known_labels_before_decoding(manifest_root, tmp_path):
    p = prepare_split("jsonl", manifest_root, "ic", "test", max_duration=10.0, limit=2,
                      cache_dir=tmp_path, log=lambda m: None)
    s = p.summary
    assert (s["listed"], s["decoded"], s["kept"]) == (5, 2, 2)
    assert s["outside_vocabulary_listed"] == {"greeting_hello": 1}
    assert all(r["label"] != "greeting_hello" for r in p.rows)
    again = prepare_split("jsonl", manifest_root, "ic", "test", max_duration=10.0, limit=2,
                          cache_dir=tmp_path, log=lambda m: None)
    assert [r["id"] for r in again.rows] == [r["id"] for r in p.rows]  # seeded


@pytest.mark.parametrize("name, reason", [
    ("broken.wav", "Format not recognised"),   # corrupt: not audio at all
    ("empty.wav", "Format not recognised"),    # a zero-byte file
    ("silent.wav", "empty or shorter than 50 ms"),  # a valid header and no samples
    ("cut.wav", "truncated: its header declares"),  # a copy cut short mid-data
    ("cut.flac", "LibsndfileError"),           # a FLAC stream cut short
    ("missing.wav", "missing"),
])
def test_bad_audio_names_the_file_or_is_skipped(manifest_root, tmp_path, name, reason):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "broken.wav").write_bytes(b"RIFF not really a wav")
    (root / "empty.wav").write_bytes(b"")
    sf.write(root / "silent.wav", np.zeros(0, dtype=np.float32), 16000)
    for suffix in ("wav", "flac"):
        sf.write(root / f"full.{suffix}", np.sin(np.arange(32000) / 9).astype(np.float32) * .3,
                 16000)
        data = (root / f"full.{suffix}").read_bytes()
        (root / f"cut.{suffix}").write_bytes(data[:len(data) // 2])
    rows = [{"audio": str(manifest_root / "clips" / "a.wav"), "task": "ic", "label": "alarm_set"},
            {"audio": name, "task": "ic", "label": "alarm_set"}]
    (root / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(UserError, match=rf"cannot use .*{name} \(.*{reason}.*--skip-bad"):
        prepare_split("jsonl", root, "ic", "test", cache_dir=tmp_path / "c", log=lambda m: None)
    p = prepare_split("jsonl", root, "ic", "test", skip_bad=True, cache_dir=tmp_path / "c",
                      log=lambda m: None)
    assert (p.summary["kept"], p.summary["skipped_unreadable"]) == (1, 1)
    assert f"{name}: " in p.summary["examples_unreadable"][0]
    assert reason in p.summary["examples_unreadable"][0]

"""A tiny Speech Commands v2 tree: 16 kHz mono wav clips in word folders, the two split lists,
a `_background_noise_` folder and the loose files the real archive has at its root.

Speakers keep to one split, as in the real corpus (its lists are hash-based per speaker):
c1d39ce8 is the test speaker, 1b4c9b89 the validation speaker, the others are train.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

# (word folder, file name). `bed` is a v2 word outside the suite's vocabulary.
CLIPS = (
    ("yes", "0a7c2a8d_nohash_0.wav"), ("yes", "0a7c2a8d_nohash_1.wav"),
    ("yes", "1b4c9b89_nohash_0.wav"), ("yes", "c1d39ce8_nohash_0.wav"),
    ("no", "0b09edd3_nohash_0.wav"), ("no", "c1d39ce8_nohash_0.wav"),
    ("stop", "0a7c2a8d_nohash_0.wav"), ("stop", "c1d39ce8_nohash_0.wav"),
    ("seven", "0b09edd3_nohash_0.wav"), ("seven", "1b4c9b89_nohash_0.wav"),
    ("bed", "0a7c2a8d_nohash_0.wav"), ("bed", "c1d39ce8_nohash_0.wav"),
)
VALIDATION = ("seven/1b4c9b89_nohash_0.wav", "yes/1b4c9b89_nohash_0.wav")
TESTING = ("bed/c1d39ce8_nohash_0.wav", "no/c1d39ce8_nohash_0.wav",
           "stop/c1d39ce8_nohash_0.wav", "yes/c1d39ce8_nohash_0.wav")
_VOICES = {"0a7c2a8d": "en-us", "0b09edd3": "en", "1b4c9b89": "en-us+f3", "c1d39ce8": "en+m3"}


def write(root: Path, say) -> Path:
    """Write the tree under `root` and return `root` (what a user passes as the corpus root)."""
    for word, name in CLIPS:
        say(word, root / word / name, sample_rate=16000, voice=_VOICES[name.split("_")[0]])
    (root / "validation_list.txt").write_text("".join(f"{p}\n" for p in VALIDATION))
    (root / "testing_list.txt").write_text("".join(f"{p}\n" for p in TESTING))
    noise = root / "_background_noise_"
    noise.mkdir()
    rng = np.random.default_rng(0)  # noise, not speech: it must never become an utterance
    sf.write(noise / "white_noise.wav", 0.1 * rng.standard_normal(16000 * 2), 16000)
    (noise / "README.md").write_text("Background noise files for augmentation.\n")
    (root / "README.md").write_text("Speech Commands Data Set v0.02\n")
    (root / "LICENSE").write_text("Creative Commons BY 4.0\n")
    return root

"""Fixtures for the real-corpus loaders: a speaker that writes synthesized audio files.

Nothing can be downloaded, so each loader test writes a tiny tree in the corpus's exact native
layout (`tests/corpora/layouts/<corpus>.py`) and fills it with espeak-ng speech.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmark.data.tts import ESPEAK_RATE, Espeak


class Speaker:
    """`say(text, path, sample_rate=16000, voice="en-us")` writes speech in the format of the
    file suffix (.wav/.flac/.mp3), resampled to `sample_rate` (native corpora differ)."""

    def __init__(self) -> None:
        self.engine = Espeak()

    def __call__(self, text: str, path: Path, sample_rate: int = 16000, voice: str = "en-us",
                 channels: int = 1) -> Path:
        import torch
        import torchaudio

        wave = self.engine.synth(text, voice).astype(np.float32) / 32768.0
        if sample_rate != ESPEAK_RATE:
            # one thread: resampling a short clip on 2 threads next to other work was 20x slower
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                wave = torchaudio.functional.resample(torch.from_numpy(wave), ESPEAK_RATE,
                                                      sample_rate).numpy()
            finally:
                torch.set_num_threads(threads)
        if channels > 1:
            wave = np.stack([wave] * channels, axis=1)
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, wave, sample_rate)
        return path


@pytest.fixture(scope="session")
def say():
    speaker = Speaker()
    yield speaker
    speaker.engine.close()


@pytest.fixture(autouse=True)
def _restore_subsets():
    """User streams register their source names as subsets (module state); forget them after
    each test so that no other test sees them."""
    from benchmark.tasks import SUBSETS

    before = dict(SUBSETS)
    yield
    SUBSETS.clear()
    SUBSETS.update(before)

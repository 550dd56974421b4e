"""Thin ctypes wrapper around libespeak-ng (shipped by the `espeakng-loader` wheel).

espeak-ng keeps global state (current voice, parameters, callback), so one `Espeak` object per
*process*; the corpus builder parallelises with worker processes, each initialised once.
"""
from __future__ import annotations

import _ctypes
import ctypes
import os
import shutil
import tempfile
from typing import Self

import numpy as np

from benchmark.errors import UserError

ESPEAK_RATE = 22050  # what espeak_Initialize returns for espeak-ng 1.52
_SYNCHRONOUS = 2
_CHARS_UTF8 = 0x1
_SSML = 0x10
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4}

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.c_void_p)


class Espeak:
    """One initialised espeak-ng engine; `synth` returns int16 samples at `ESPEAK_RATE` Hz.

    Determinism: espeak-ng's output depends on hidden state left by earlier utterances (noise
    generators, wave generator state), and espeak_Terminate/espeak_Initialize does not reset it;
    only a freshly loaded library replaying the same call sequence is byte-identical. So each
    `Espeak` loads a *private copy* of the shared library (a new file name gives a new,
    independent copy of its static state, even in a forked child of a process that already
    used espeak). The builder makes one engine per chunk; `close()` releases it.
    """

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - dependency is pinned
            raise UserError("espeakng-loader is not installed; run `pip install -e .`") from exc
        self._tmpdir = tempfile.mkdtemp(prefix="espeak-")
        private = os.path.join(self._tmpdir, "libespeak-ng-private.so")
        shutil.copyfile(espeakng_loader.get_library_path(), private)
        self._lib = ctypes.CDLL(private, mode=ctypes.RTLD_LOCAL)
        # The mapping stays valid after unlinking; deleting now leaves nothing behind even if
        # the process is killed.
        shutil.rmtree(self._tmpdir, ignore_errors=True)
        data = espeakng_loader.get_data_path().encode()
        self._lib.espeak_Initialize.restype = ctypes.c_int
        rate = self._lib.espeak_Initialize(_SYNCHRONOUS, 0, ctypes.c_char_p(data), 0)
        if rate != ESPEAK_RATE:
            raise UserError(f"espeak-ng initialisation failed (returned {rate}); reinstall "
                            "espeakng-loader==0.2.4")
        self._chunks: list[np.ndarray] = []
        # Fixed seeds for espeak's own noise generator and libc rand(), which some espeak
        # builds use for voicing noise.
        self._lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        self._lib.espeak_ng_SetRandSeed(1)
        ctypes.CDLL(None).srand(1)

        def _collect(wav, n, _events):  # called synchronously from espeak_Synth
            if n > 0 and wav:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        self._cb = _CALLBACK(_collect)  # keep a reference: espeak holds only the raw pointer
        self._lib.espeak_SetSynthCallback(self._cb)
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        self._voice: str | None = None

    def set_voice(self, name: str) -> None:
        """Select a voice such as `en-gb-scotland+f3`.

        espeak_SetVoiceByName returns non-zero for an unknown name and silently keeps the previous
        voice, which would make the corpus lie about its speakers; so the return value is checked.
        """
        if name == self._voice:
            return
        err = self._lib.espeak_SetVoiceByName(name.encode())
        if err != 0:
            raise UserError(f"espeak-ng has no voice '{name}'; fix the voice name in "
                            "benchmark/tasks.py or benchmark/data/speakers.py")
        self._voice = name

    def synth(self, text: str, voice: str, rate: int = 160, pitch: int = 50, range_: int = 50,
              ssml: bool = False) -> np.ndarray:
        """Speak `text` (plain or SSML) with absolute espeak parameters; int16 samples."""
        self.set_voice(voice)
        # Parameters are (re)applied for every utterance: they are global and a voice change
        # may reset them.
        for key, val in (("rate", rate), ("pitch", pitch), ("range", range_), ("volume", 100)):
            self._lib.espeak_SetParameter(_PARAM[key], int(val), 0)
        self._chunks = []
        data = text.encode("utf-8")
        flags = _CHARS_UTF8 | (_SSML if ssml else 0)
        err = self._lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, flags, None, None)
        if err != 0:
            raise RuntimeError(f"espeak_Synth failed with code {err} for text {text!r}")
        if not self._chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._chunks).astype(np.int16)

    def close(self) -> None:
        """Free espeak's memory and unload the private library copy."""
        if self._lib is None:
            return
        self._lib.espeak_Terminate()
        _ctypes.dlclose(self._lib._handle)
        self._lib = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

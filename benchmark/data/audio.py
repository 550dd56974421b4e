"""Post-processing of synthesised speech: trim, resample, loudness, gain, padding and noise.

Order matters:
1. trim espeak's own leading/trailing silence (we add our own, randomised);
2. resample 22050 -> 16000 Hz;
3. loudness-normalise the *speech frames* to a reference RMS (REF_DBFS);
4. apply gains that are meant to survive: per-speaker level and, for ER, the class gain. Applying
   the ER gain after step 3 is deliberate: normalising after it would erase the loudness cue;
5. pad random silence, then add noise at an SNR measured over speech frames only (padding would
   otherwise inflate the speech power estimate's denominator and skew the SNR);
6. peak guard: scale so that |x| <= PEAK; nothing clips. REF_DBFS is low enough that the
   guard is rarely needed, so the gain cue is rarely touched.
"""
from __future__ import annotations

import numpy as np
import torch
import torchaudio
from scipy.fft import next_fast_len

SAMPLE_RATE = 16000
REF_DBFS = -26.0
PEAK = 0.99
_FRAME = 320  # 20 ms at 16 kHz

_resamplers: dict[int, torchaudio.transforms.Resample] = {}


def trim(wave_i16: np.ndarray, threshold: int = 150) -> np.ndarray:
    """Cut leading/trailing samples whose magnitude stays below `threshold` (int16 units)."""
    idx = np.flatnonzero(np.abs(wave_i16.astype(np.int32)) > threshold)
    if idx.size == 0:
        return wave_i16
    return wave_i16[max(0, idx[0] - 80): idx[-1] + 80]


def resample(wave_i16: np.ndarray, orig_sr: int) -> np.ndarray:
    """int16 at `orig_sr` -> float32 at 16 kHz (Resample objects cache their filter kernel)."""
    if orig_sr not in _resamplers:
        _resamplers[orig_sr] = torchaudio.transforms.Resample(orig_sr, SAMPLE_RATE)
    x = torch.from_numpy(wave_i16.astype(np.float32) / 32768.0)
    # oneDNN builds a new conv primitive for every input length (each utterance has its own),
    # which made this 10x slower (6.5 ms vs 0.5 ms per 3-s clip); the native kernel is fine.
    prev = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        with torch.no_grad():
            return _resamplers[orig_sr](x).numpy()
    finally:
        torch.backends.mkldnn.enabled = prev


def speech_rms(x: np.ndarray) -> float:
    """RMS over 20-ms frames within 35 dB of the loudest frame (i.e. speech, not pauses)."""
    n = max(1, len(x) // _FRAME)
    frames = x[: n * _FRAME].reshape(n, -1) if len(x) >= _FRAME else x.reshape(1, -1)
    power = (frames.astype(np.float64) ** 2).mean(axis=1)
    active = power >= power.max() * 10 ** (-35 / 10)
    return float(np.sqrt(power[active].mean()) + 1e-12)


def db(gain_db: float) -> float:
    return float(10 ** (gain_db / 20))


def normalise(x: np.ndarray, ref_dbfs: float = REF_DBFS) -> np.ndarray:
    return x * (db(ref_dbfs) / speech_rms(x))


def pad(x: np.ndarray, lead_s: float, trail_s: float) -> tuple[np.ndarray, int]:
    """Silence around `x`; returns (padded, index where speech starts)."""
    lead = round(lead_s * SAMPLE_RATE)
    trail = round(trail_s * SAMPLE_RATE)
    return np.concatenate([np.zeros(lead, np.float32), x.astype(np.float32),
                           np.zeros(trail, np.float32)]), lead


def _coloured(rng: np.random.Generator, n: int, exponent: float,
              band: tuple[float, float] | None = None) -> np.ndarray:
    """Noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown), optionally
    attenuated outside `band` (Hz). Generated at a fast FFT length, then cut to `n`."""
    m = next_fast_len(n, real=True)
    spec = np.fft.rfft(rng.standard_normal(m))
    f = np.fft.rfftfreq(m, 1 / SAMPLE_RATE)
    f[0] = f[1]
    spec /= f ** (exponent / 2)
    if band is not None:
        spec[(f < band[0]) | (f > band[1])] *= 0.1
    return np.fft.irfft(spec, m)[:n]


def _babble(rng: np.random.Generator, n: int) -> np.ndarray:
    """Babble-like noise: four speech-shaped (pink, 150-4000 Hz) 'talkers', each with its own
    syllabic (3-7 Hz) amplitude modulation, summed. The talkers are circular shifts of one
    shaped noise (one FFT instead of four) - cheap, and non-stationary like a crowd."""
    t = np.arange(n) / SAMPLE_RATE
    base = _coloured(rng, n, 1.0, band=(150.0, 4000.0))
    base /= base.std() + 1e-12
    out = np.zeros(n)
    for _ in range(4):
        env = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(3, 7) * t + rng.uniform(0, 6.3))
        out += np.roll(base, int(rng.integers(n))) * env
    return out


def _hum(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mains hum with harmonics over brown noise (an appliance-room background)."""
    t = np.arange(n) / SAMPLE_RATE
    f0 = float(rng.choice([50.0, 60.0]))
    hum = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 6))
    brown = _coloured(rng, n, 2.0)
    return hum / (np.std(hum) + 1e-12) + brown / (brown.std() + 1e-12)


NOISE_TYPES = ("white", "pink", "babble", "hum")


def make_noise(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind == "pink":
        x = _coloured(rng, n, 1.0)
    elif kind == "babble":
        x = _babble(rng, n)
    elif kind == "hum":
        x = _hum(rng, n)
    else:
        raise ValueError(f"unknown noise type {kind!r}")
    return (x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


def add_noise(x: np.ndarray, speech_level: float, snr_db: float, kind: str,
              rng: np.random.Generator) -> np.ndarray:
    """Add unit-RMS noise scaled so that speech_level / noise_rms == snr_db."""
    noise = make_noise(kind, rng, len(x))
    return x + noise * (speech_level / db(snr_db))


def peak_guard(x: np.ndarray, peak: float = PEAK) -> np.ndarray:
    m = float(np.max(np.abs(x))) if len(x) else 0.0
    return x * (peak / m) if m > peak else x


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)

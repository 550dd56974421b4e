"""One utterance from (seed, subset, split, index): text, speaker, prosody, noise, audio.

Every random choice comes from a generator seeded by exactly those four values, so the corpus
is identical whatever the number of workers or the order in which chunks finish.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.data import audio
from benchmark.data import sentences as S
from benchmark.data.speakers import Speaker
from benchmark.data.tts import ESPEAK_RATE, Espeak
from benchmark.tasks import ACCENT_VOICES, BUILTIN_SUBSETS, LANGUAGE_VOICES, TASKS

SUBSET_CODE = {s: i for i, s in enumerate(BUILTIN_SUBSETS)}
SPLIT_CODE = {"train": 0, "dev": 1, "test": 2}

# ER prosody styles, relative to each speaker's own baseline (SSML prosody is relative to the
# current voice settings). Columns: pitch %, range %, rate %, gain dB (applied after loudness
# normalisation). Compared with NOTES.md the classes are pushed further apart and angry/happy
# differ in contour (range) and tempo, not only level; per-speaker spread is halved for ER.
ER_PROFILES = {
    "neutral": (0.0, 100.0, 100.0, 0.0),
    "happy": (30.0, 200.0, 108.0, 3.0),
    "sad": (-20.0, 30.0, 76.0, -7.0),
    "angry": (6.0, 120.0, 128.0, 7.5),
}
ER_JITTER = (4.0, 12.0, 3.0, 1.0)  # uniform +- on each column
ER_SPEAKER_SPREAD = 0.5

# Background noise: main subsets vs. the harder, different noise of the *_new subsets.
NOISE_MAIN = (("white", "pink"), (10.0, 25.0))
NOISE_SHIFT = (("babble", "hum"), (5.0, 15.0))
SILENCE_S = (0.05, 0.2)  # random leading / trailing silence (kept short: disk budget)
SCR_CLIP_S = 1.0


@dataclass(frozen=True)
class Context:
    """Everything an utterance needs besides its own index (picklable, sent to workers)."""
    seed: int
    pools: dict  # {'main'|'shift': {split: [Speaker]}}
    acc_sentences: tuple[str, ...]


def make_context(seed: int, pools: dict) -> Context:
    rng = np.random.default_rng([seed, 104729])
    # A fixed pool spoken in every accent: the words never reveal the accent.
    acc = tuple(dict.fromkeys(S.asr_sentence(rng) for _ in range(240)))
    return Context(seed, pools, acc)


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def make_utterance(ctx: Context, engine: Espeak, subset: str, split: str, index: int
                   ) -> tuple[dict, np.ndarray]:
    """Returns (manifest row without `path`-independent fields missing, int16 16 kHz audio)."""
    rng = np.random.default_rng([ctx.seed, SUBSET_CODE[subset], SPLIT_CODE[split], index])
    task = BUILTIN_SUBSETS[subset]
    spec = TASKS[task]
    shift = subset.endswith("_new")
    speakers: list[Speaker] = ctx.pools["shift" if shift else "main"][split]
    label = entities = None
    if spec.kind == "classification":
        # Labels cycle (exact balance). Within each round of L labels the speakers are spread
        # evenly over the pool (stride m), and from round to round every label moves on to the
        # next speaker, so each label is said by every speaker equally often: speaker identity
        # carries no label information, and even small splits use many speakers.
        n_lab, n_spk = len(spec.labels), len(speakers)
        label = spec.labels[index % n_lab]
        stride = max(1, n_spk // n_lab)
        spk = speakers[(index // n_lab + (index % n_lab) * stride) % n_spk]
    else:
        spk = speakers[index % len(speakers)]
    voice, language, accent = spk.voice(), "en", spk.accent
    params = spk.params()
    level_db = spk.level_db
    ssml_text = None
    if task == "er":
        text = _pick(rng, S.ER_SENTENCES)
        params = spk.params(ER_SPEAKER_SPREAD)
        level_db *= ER_SPEAKER_SPREAD
        prof = [base + rng.uniform(-j, j) for base, j in zip(ER_PROFILES[label], ER_JITTER)]
        ssml_text = (f'<speak><prosody pitch="{prof[0]:+.0f}%" range="{prof[1]:.0f}%" '
                     f'rate="{prof[2]:.0f}%">{text}</prosody></speak>')
        level_db += prof[3]
    elif task == "ic":
        text, _ = S.intent_utterance(label, rng, shift)
    elif task == "asr":
        text = S.asr_sentence(rng, shift)
    elif task == "scr":
        text = label
    elif task == "ner":
        text, entities = S.ner_utterance(rng)
    elif task == "lid":
        text = _pick(rng, S.LID_PHRASES[label])
        voice, language, accent = spk.voice(LANGUAGE_VOICES[label]), label, None
    elif task == "acc":
        text = _pick(rng, ctx.acc_sentences)
        voice, accent = spk.voice(ACCENT_VOICES[label]), label
    else:  # pragma: no cover - tasks.py and this module disagree
        raise ValueError(f"no recipe for task {task}")

    raw = engine.synth(ssml_text or text, voice, ssml=ssml_text is not None, **params)
    x = audio.resample(audio.trim(raw), ESPEAK_RATE)
    x = audio.normalise(x) * audio.db(level_db)
    x = audio.peak_guard(x, 0.9)
    level = audio.speech_rms(x)
    if task == "scr":
        room = max(0.04, SCR_CLIP_S - len(x) / audio.SAMPLE_RATE)
        lead = rng.uniform(0.02, room - 0.02) if room > 0.04 else 0.02
        x, _ = audio.pad(x, lead, max(0.02, room - lead))
    else:
        x, _ = audio.pad(x, rng.uniform(*SILENCE_S), rng.uniform(*SILENCE_S))
    kinds, (lo, hi) = NOISE_SHIFT if shift else NOISE_MAIN
    snr = float(rng.uniform(lo, hi))
    x = audio.add_noise(x, level, snr, _pick(rng, kinds), rng)
    wave = audio.to_int16(audio.peak_guard(x))
    row = {
        "task": task, "subset": subset, "split": split, "text": text, "label": label,
        "entities": entities, "speaker": spk.id, "voice": voice, "language": language,
        "accent": accent, "duration": round(len(wave) / audio.SAMPLE_RATE, 3),
        "sample_rate": audio.SAMPLE_RATE, "snr_db": round(snr, 2),
    }
    return row, wave

"""DATACARD.md: what the corpus is (synthetic!), how it was made, and its statistics."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from benchmark.data.lexicon import vocabulary
from benchmark.data.manifest import atomic_write_text, manifest_path, read_manifest
from benchmark.tasks import BUILTIN_SUBSETS, TASKS

SPLITS = ("train", "dev", "test")


def _table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def summarise(root: str | Path) -> dict:
    """{subset: {split: rows}} read back from the manifests."""
    return {s: {sp: read_manifest(manifest_path(root, s, sp)) for sp in SPLITS}
            for s in BUILTIN_SUBSETS}


def write_datacard(root: str | Path, settings: dict, pools: dict) -> str:
    """Write `root/DATACARD.md` from the manifests; returns the text."""
    from benchmark.data import generate as G

    data = summarise(root)
    counts, hours = [], 0.0
    for s in BUILTIN_SUBSETS:
        n = [len(data[s][sp]) for sp in SPLITS]
        h = sum(r["duration"] for sp in SPLITS for r in data[s][sp]) / 3600
        spk = [len({r["speaker"] for r in data[s][sp]}) for sp in SPLITS]
        hours += h
        counts.append([s, BUILTIN_SUBSETS[s], *n, f"{h:.2f}", "/".join(map(str, spk))])
    balance = []
    for s in BUILTIN_SUBSETS:
        spec = TASKS[BUILTIN_SUBSETS[s]]
        if spec.kind != "classification":
            continue
        for sp in ("train", "test"):
            c = Counter(r["label"] for r in data[s][sp])
            balance.append([s, sp, len(c), min(c.values()), max(c.values())])
    ner_types = Counter(e["type"] for sp in SPLITS for r in data["ner"][sp]
                        for e in r["entities"])
    prof = [[k, f"{p:+.0f}%", f"{r:.0f}%", f"{t:.0f}%", f"{g:+.1f} dB"]
            for k, (p, r, t, g) in G.ER_PROFILES.items()]
    text = f"""# SynthSLU-7 data card

**This corpus is entirely SYNTHETIC.** Every utterance was generated with the espeak-ng 1.52
formant synthesiser (via the `espeakng-loader` wheel), post-processed and mixed with synthetic
noise. No human speech is included. Results on it say nothing directly about real speech.

**Emotion (ER) classes are synthetic prosody styles, not real emotion.** `neutral`, `happy`,
`sad` and `angry` are names for four prosody profiles (pitch, pitch range, rate and gain set
relative to each speaker's baseline, with jitter). All classes share the same emotion-neutral
sentences, so the words never reveal the label.

## Build settings

- size: `{settings['size']}`, seed: `{settings['seed']}`, corpus version: `{settings['version']}`,
  worker processes: {settings.get('jobs')} (the output does not depend on it)
- audio: 16 kHz mono, 16-bit PCM FLAC; features: 80-dim Kaldi fbank (25/10 ms, dither 0), fp16
- random leading/trailing silence {G.SILENCE_S[0]}-{G.SILENCE_S[1]} s (SCR: word inside a
  {G.SCR_CLIP_S:.0f} s clip)
- loudness: speech frames normalised to -26 dBFS, then per-speaker level (+-3 dB) and, for ER
  only, the class gain are applied *after* normalisation (normalising after the gain would
  erase the loudness cue); a peak guard keeps |x| <= 0.99, so nothing clips
- noise (SNR measured over speech frames only): main subsets {'/'.join(G.NOISE_MAIN[0])} at
  {G.NOISE_MAIN[1][0]:.0f}-{G.NOISE_MAIN[1][1]:.0f} dB; `asr_new`/`ic_new`
  {'/'.join(G.NOISE_SHIFT[0])} at {G.NOISE_SHIFT[1][0]:.0f}-{G.NOISE_SHIFT[1][1]:.0f} dB
- English grammar vocabulary: {len(vocabulary())} word types (plus slot values of IC/NER)
- every utterance is seeded from (seed, subset, split, index): identical seed and size give
  byte-identical audio, manifests and features

## Speakers

A synthetic speaker is an espeak voice variant plus per-speaker pitch (+-12 on espeak's 0-100
scale), rate (x0.9-1.1), pitch range (+-6) and level (+-3 dB) offsets, and an English accent
(for tasks other than LID/ACC, where the language/accent is the label and every speaker speaks
every class equally often). Train/dev/test speakers are disjoint. `asr_new` and `ic_new` use a
separate pool of named espeak variants that no other subset uses.

- main pool (train/dev/test): {'/'.join(str(len(pools['main'][s])) for s in SPLITS)}
- adaptation pool (train/dev/test): {'/'.join(str(len(pools['shift'][s])) for s in SPLITS)}

## Subsets

Speakers column: distinct speakers in train/dev/test.

{_table(['subset', 'task', 'train', 'dev', 'test', 'hours', 'speakers'], counts)}

Total: {hours:.2f} hours.

## Class balance (classification subsets)

{_table(['subset', 'split', 'classes', 'min per class', 'max per class'], balance)}

NER entity counts (all splits): {', '.join(f'{k} {v}' for k, v in sorted(ner_types.items()))}.

## ER prosody profiles (relative to each speaker's baseline)

Jitter (uniform +-): pitch {G.ER_JITTER[0]:.0f}%, range {G.ER_JITTER[1]:.0f}%, rate
{G.ER_JITTER[2]:.0f}%, gain {G.ER_JITTER[3]:.0f} dB. ER uses {G.ER_SPEAKER_SPREAD}x the
per-speaker offsets, so speaker variation does not swamp the class differences.

{_table(['style', 'pitch', 'range', 'rate', 'gain'], prof)}

## Domain shift subsets

- `asr_new`: a different sentence domain (health, science, technology, logistics vocabulary and
  templates), unseen speakers, babble/hum noise at lower SNR.
- `ic_new`: the same 26 intents phrased differently (polite/indirect) with new slot values,
  unseen speakers, babble/hum noise at lower SNR.

## Known limitations

- espeak-ng is a formant synthesiser: robotic timbre, no coarticulation variety, no
  disfluencies. Accent/language cues are espeak's phoneme rules, not real accents.
- Sentences come from small template grammars; ASR word sequences can be semantically odd.
"""
    atomic_write_text(Path(root) / "DATACARD.md", text)
    return text

"""Synthetic speakers: an espeak voice variant plus per-speaker pitch / rate / range / level.

Two disjoint pools are drawn from the corpus seed:
- the *main* pool (standard variants +m1..m7, +f1..f5, each with an English accent) is split
  into train / dev / test speakers shared by the seven main subsets, so splits are
  speaker-disjoint;
- the *shift* pool (named espeak variants never used by the main pool, e.g. +Annie, +benjamin)
  serves only `asr_new` / `ic_new`, so adaptation speakers are unseen anywhere else.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from benchmark.tasks import ACCENT_VOICES

MAIN_VARIANTS = tuple(f"m{i}" for i in range(1, 8)) + tuple(f"f{i}" for i in range(1, 6))
# Named variants that sound like plausible voices (robotic/whisper/demonic ones left out).
SHIFT_VARIANTS = ("Annie", "Andy", "adam", "anika", "aunty", "benjamin", "david", "edward",
                  "linda", "max", "steph", "travis", "Alex", "paul", "quincy", "zac")
SPLITS = ("train", "dev", "test")

# espeak defaults are pitch 50, range 50 (0-100 scales) and rate 175 wpm. A moderate base rate
# keeps CTC's frames-to-labels ratio healthy after 4x subsampling (see NOTES.md).
BASE_PITCH, BASE_RANGE, BASE_RATE = 50, 50, 150


@dataclass(frozen=True)
class Speaker:
    id: str
    variant: str  # espeak variant name, appended as "+variant"
    accent: str  # accent label (tasks.ACCENT_VOICES key) used for English non-accent tasks
    pitch: float  # offset on espeak's 0-100 pitch scale
    rate: float  # speaking-rate factor
    range_: float  # offset on espeak's 0-100 pitch-range scale
    level_db: float  # per-speaker loudness offset

    def voice(self, base: str | None = None) -> str:
        """espeak voice name; `base` overrides the speaker's accent voice (lid, acc)."""
        return f"{base or ACCENT_VOICES[self.accent]}+{self.variant}"

    def params(self, spread: float = 1.0) -> dict:
        """Absolute espeak parameters; `spread` < 1 shrinks the speaker offsets (used by ER)."""
        return {"pitch": round(BASE_PITCH + spread * self.pitch),
                "rate": round(BASE_RATE * (1.0 + spread * (self.rate - 1.0))),
                "range_": round(BASE_RANGE + spread * self.range_)}

    def to_dict(self) -> dict:
        return asdict(self)


def _draw(rng: np.random.Generator, sid: str, variant: str, accent: str) -> Speaker:
    return Speaker(sid, variant, accent,
                   pitch=round(float(rng.uniform(-12, 12)), 2),
                   rate=round(float(rng.uniform(0.9, 1.1)), 3),
                   range_=round(float(rng.uniform(-6, 6)), 2),
                   level_db=round(float(rng.uniform(-3, 3)), 2))


def build_pools(seed: int, main: tuple[int, int, int], shift: tuple[int, int, int]
                ) -> dict[str, dict[str, list[Speaker]]]:
    """{'main'|'shift': {split: [Speaker]}}; ids are unique over both pools."""
    rng = np.random.default_rng([seed, 7919])
    accents = list(ACCENT_VOICES)
    pools: dict[str, dict[str, list[Speaker]]] = {}
    for pool, counts, variants, prefix in (("main", main, MAIN_VARIANTS, "spk"),
                                           ("shift", shift, SHIFT_VARIANTS, "new")):
        total = sum(counts)
        # Variant/accent pairs are spread evenly, then shuffled before the split so that
        # every split gets a mix of male/female variants and accents.
        pairs = [(variants[i % len(variants)], accents[(i * 5 + i // len(variants)) % 8])
                 for i in range(total)]
        order = rng.permutation(total)
        speakers = [_draw(rng, f"{prefix}{k:03d}", *pairs[i]) for k, i in enumerate(order)]
        pools[pool] = {}
        start = 0
        for split, n in zip(SPLITS, counts):
            pools[pool][split] = speakers[start:start + n]
            start += n
    return pools

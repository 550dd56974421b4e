"""A tiny Common Voice release: `cv-corpus-17.0-2024-03-15/` with locales en, de and pt, 48 kHz
mono mp3 clips and the release's tab-separated index files.

- en and de use the current header (with `locale`); pt uses an older release's header without
  it, so the locale comes from the folder name. pt is outside the suite's `lid` vocabulary.
- One de clip was "converted by the user": only `clips/<name>.wav` exists, not the mp3 the tsv
  names (see CONVERTED).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

RELEASE = "cv-corpus-17.0-2024-03-15"
_HEADER = ("client_id\tpath\tsentence_id\tsentence\tsentence_domain\tup_votes\tdown_votes\tage\t"
           "gender\taccents\tvariant\tlocale\tsegment")
_OLD_HEADER = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccent"
_VOICES = {"en": "en-us", "de": "de", "pt": "pt"}

# locale -> rows (clip number, speaker, split, sentence). Sentences keep CV's punctuation,
# including a bare double quote that the tsv does not escape.
ROWS = {
    "en": ((18512983, "a", "train", "The quick brown fox jumps."),
           (18512984, "a", "train", 'He said "hello" and left.'),
           (18512990, "b", "dev", "Where is the station?"),
           (18513001, "c", "test", "It rained all day.")),
    "de": ((20001001, "d", "train", "Guten Morgen."),
           (20001002, "e", "dev", "Wie spät ist es?"),
           (20001003, "f", "test", "Das Wetter ist schön.")),
    "pt": ((30000011, "g", "train", "Bom dia."),
           (30000012, "h", "test", "Obrigado, até logo.")),
}
CONVERTED = ("de", "common_voice_de_20001002")  # only the .wav of this clip exists


def clip_name(locale: str, number: int) -> str:
    return f"common_voice_{locale}_{number}.mp3"


def client_id(locale: str, speaker: str) -> str:
    return hashlib.sha512(f"{locale}-{speaker}".encode()).hexdigest()  # CV's 128-hex client ids


def write(root: Path, say) -> Path:
    """Write the release under `root` and return its folder (what a user passes as the root)."""
    release = root / RELEASE
    for locale, rows in ROWS.items():
        folder = release / locale
        tsvs: dict[str, list[str]] = {s: [] for s in ("train", "dev", "test", "validated")}
        for number, speaker, split, sentence in rows:
            name = clip_name(locale, number)
            clip = folder / "clips" / name
            if (locale, Path(name).stem) == CONVERTED:
                clip = clip.with_suffix(".wav")
            say(sentence, clip, sample_rate=48000, voice=_VOICES[locale])
            cid = client_id(locale, speaker)
            if locale == "pt":
                line = f"{cid}\t{name}\t{sentence}\t2\t0\t\t\t"
            else:
                line = f"{cid}\t{name}\t{number:x}\t{sentence}\t\t2\t0\t\t\t\t\t{locale}\t"
            tsvs[split].append(line)
            tsvs["validated"].append(line)
        header = _OLD_HEADER if locale == "pt" else _HEADER
        for split, lines in tsvs.items():
            (folder / f"{split}.tsv").write_text("\n".join([header, *lines]) + "\n",
                                                 encoding="utf-8")
        (folder / "invalidated.tsv").write_text(header + "\n", encoding="utf-8")
    return release

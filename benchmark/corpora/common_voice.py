"""Mozilla Common Voice for tasks `lid` and `asr`, read in its native layout.

ROOT is the extracted release folder (`cv-corpus-<version>-<date>/`) holding one folder per
locale, or a single locale folder:

    ROOT/<locale>/{train,dev,test,validated}.tsv   tab separated, header with at least
                                                   `client_id`, `path`, `sentence` (newer
                                                   releases add `locale`)
    ROOT/<locale>/clips/<path>                     48 kHz mp3 clips named in `path`

Splits: train, dev, test (the release's official split) and validated (all validated clips).
Every locale folder under ROOT is used, so `lid` classifies among the locales the user downloaded.

Language: the locale's language subtag, lower-cased (`en` -> en, `fy-NL` -> fy, `zh-CN` -> zh,
`sv-SE` -> sv). For `lid` it is the label; the suite's vocabulary is the keys of
`benchmark.tasks.LANGUAGE_VOICES` (en, de, fr, es, it, nl, pl). Other languages (`pt`, ...) keep
their code: the caching/eval layer reports and filters labels outside the vocabulary. The locale
comes from the `locale` column when present, else from the folder name.

ASR reads one English locale folder only: the suite's ASR vocabulary is a-z and apostrophe, and
other languages' letters would be stripped into garbage targets (an error says so).

Audio: `clips/X.mp3` (soundfile 0.14 decodes mp3). If it is absent but `clips/X.wav` or
`clips/X.flac` exists (clips converted by the user), that file is used. Rows whose clip is missing
entirely are kept: the caching layer reports missing files instead of shrinking the set silently.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from benchmark.corpora.base import Utterance, register_loader, require
from benchmark.errors import UserError

SPLITS = ("train", "dev", "test", "validated")
_COLUMNS = ("client_id", "path", "sentence")


@register_loader("common_voice", "Mozilla Common Voice: ROOT/<locale>/<split>.tsv + clips/",
                 tasks=("lid", "asr"), splits=SPLITS, train_split="train", test_split="test")
def load(root: Path, task: str, split: str) -> list[Utterance]:
    folders = _locale_folders(root)
    if task == "asr" and [f.name.split("-")[0].lower() for f in folders] != ["en"]:
        # normalize_text keeps a-z and apostrophes only: other languages' transcripts would
        # lose their letters (Größe -> gr e) and become silent garbage targets
        raise UserError("common_voice: asr reads English only (the ASR vocabulary is a-z and "
                        f"'); pass the en locale folder, not {root}")
    utts = []
    for folder in folders:
        tsv = require(folder / f"{split}.tsv", "common_voice", "each locale folder needs the "
                      "release's train/dev/test/validated.tsv; re-extract that locale")
        converted = _converted_clips(folder / "clips")
        for row in _read_tsv(tsv):
            language = (row.get("locale") or folder.name).split("-")[0].lower()
            clip = folder / "clips" / row["path"]
            if not clip.suffix:  # the earliest releases name clips without the extension
                clip = clip.with_suffix(".mp3")
            if clip.stem in converted and not clip.exists():
                clip = converted[clip.stem]
            utts.append(Utterance(id=f"{folder.name}/{clip.stem}", audio=clip, task=task,
                                  label=language if task == "lid" else None,
                                  text=row["sentence"] or "", speaker=row["client_id"] or "",
                                  language=language))
    return utts


def _locale_folders(root: Path) -> list[Path]:
    if (root / "clips").is_dir() or any(root.glob("*.tsv")):
        return [root]  # a single locale folder
    folders = sorted(p for p in root.iterdir()
                     if p.is_dir() and ((p / "clips").is_dir() or any(p.glob("*.tsv"))))
    if not folders:
        raise UserError(f"common_voice: no locale folders (with clips/ and *.tsv) in {root}; pass "
                        "the extracted cv-corpus-* folder or one locale folder")
    return folders


def _converted_clips(clips: Path) -> dict[str, Path]:
    """stem -> .wav/.flac file in clips/. One directory scan rather than a stat per row: large
    locales have over a million clips, and in the usual case (no conversions) nothing is stat'ed."""
    if not clips.is_dir():
        return {}
    with os.scandir(clips) as entries:
        return {Path(e.name).stem: clips / e.name for e in entries
                if e.name.endswith((".wav", ".flac"))}


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        # QUOTE_NONE: sentences contain bare quotes, which the release does not escape.
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise UserError(f"common_voice: {path} lacks column(s) {', '.join(missing)}; expected "
                            "the release's tab-separated header (client_id, path, sentence, ...)")
        return [row for row in reader if row.get("path")]

"""LibriSpeech (Panayotov et al. 2015) for task `asr`, read in its native layout.

ROOT is the `LibriSpeech/` folder, or the folder that contains it (the openslr tarballs all
extract into `LibriSpeech/`, so several splits downloaded to one place share it):

    ROOT/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac
    ROOT/<split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt   lines `<utt id> <TRANSCRIPT>`

Splits are the standard folder names (train-clean-100, ..., test-other). Utterances are the lines of
the transcript files, not the flac files found: the transcripts are the index the corpus ships, and
a listed flac that is missing is reported by the caching layer rather than silently skipped.
Text is passed through as given (upper case, apostrophes); `benchmark.text.normalize_text` is
applied later, the same way for every corpus. Speaker: the speaker folder name.
"""
from __future__ import annotations

from pathlib import Path

from benchmark.corpora.base import Utterance, register_loader
from benchmark.errors import UserError

SPLITS = ("train-clean-100", "train-clean-360", "train-other-500", "dev-clean", "dev-other",
          "test-clean", "test-other")


@register_loader("librispeech", "LibriSpeech: ROOT/<split>/<speaker>/<chapter>/*.flac + "
                 "*.trans.txt", tasks=("asr",), splits=SPLITS, train_split="train-clean-100",
                 test_split="test-clean")
def load(root: Path, task: str, split: str) -> list[Utterance]:
    folder = _split_folder(root, split)
    utts = []
    for trans in sorted(folder.glob("*/*/*.trans.txt")):
        speaker = trans.parent.parent.name
        for lineno, line in enumerate(trans.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            utt_id, _, text = line.strip().partition(" ")
            if not text.strip():
                raise UserError(f"librispeech: {trans}:{lineno} has no transcript after the id; "
                                "the file is damaged, re-extract the archive")
            utts.append(Utterance(id=utt_id, audio=trans.parent / f"{utt_id}.flac", task=task,
                                  text=text.strip(), speaker=speaker, language="en"))
    return utts


def _split_folder(root: Path, split: str) -> Path:
    base = root / "LibriSpeech" if (root / "LibriSpeech").is_dir() else root
    if (base / split).is_dir():
        return base / split
    have = sorted(p.name for p in base.iterdir() if p.is_dir() and p.name in SPLITS)
    raise UserError(f"librispeech: no {split}/ folder in {base}; split folders there: "
                    f"{', '.join(have) or 'none'} (download and extract {split}.tar.gz)")

"""Google Speech Commands v2 (Warden 2018) for task `scr`, read in its native layout.

ROOT is the folder the `speech_commands_v0.02.tar.gz` archive extracts into:

    ROOT/<word>/<speaker>_nohash_<n>.wav     one folder per spoken word, 1 s clips at 16 kHz
    ROOT/validation_list.txt                 paths relative to ROOT, e.g. `yes/0a7c2a8d_nohash_0.wav`
    ROOT/testing_list.txt
    ROOT/_background_noise_/                 long noise recordings, not utterances: ignored

Splits follow the distributor's lists: `validation` and `test` are the files listed there, `train`
is every other clip (as in the dataset's README). Both lists are required even for one split, since
`train` is defined as what they leave out.

Labels: the word folder name. The suite's vocabulary (`benchmark.tasks.COMMANDS`) holds the 10
command words and the digits zero..nine; the other 15 v2 words (bed, bird, ..., visual) keep their
own name. They are not dropped here: the caching/eval layer reports and filters labels outside the
vocabulary, so the user sees how much of the corpus is unused. Folders starting with `_`
(`_background_noise_`, and `_silence_`/`_unknown_` in the separate test-set archive) are skipped.
Speaker: the hash before `_nohash_`, which the corpus uses to keep a speaker in one split.
"""
from __future__ import annotations

from pathlib import Path

from benchmark.corpora.base import Utterance, register_loader, require

SPLITS = ("train", "validation", "test")
_LISTS = {"validation": "validation_list.txt", "test": "testing_list.txt"}


@register_loader("speech_commands", "Speech Commands v2: ROOT/<word>/*.wav + validation/testing "
                 "lists", tasks=("scr",), splits=SPLITS, train_split="train", test_split="test")
def load(root: Path, task: str, split: str) -> list[Utterance]:
    listed = {name: _read_list(root / filename) for name, filename in _LISTS.items()}
    held_out = listed["validation"] | listed["test"]
    utts = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for wav in sorted(folder.glob("*.wav")):
            rel = f"{folder.name}/{wav.name}"
            keep = rel not in held_out if split == "train" else rel in listed[split]
            if keep:
                utts.append(Utterance(id=rel.removesuffix(".wav"), audio=wav, task=task,
                                      label=folder.name, text=folder.name,
                                      speaker=wav.name.split("_nohash_")[0], language="en"))
    return utts


def _read_list(path: Path) -> set[str]:
    require(path, "speech_commands", "pass the folder of the extracted speech_commands_v0.02 "
            "archive (it ships validation_list.txt and testing_list.txt)")
    # The lists use forward slashes on every platform; tolerate CRLF and blank lines.
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}

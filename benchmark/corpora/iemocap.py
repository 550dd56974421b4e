"""IEMOCAP (Busso et al. 2008) for task `er`, read in its native layout.

ROOT is the `IEMOCAP_full_release/` folder (or the folder that contains it):

    ROOT/Session<N>/dialog/EmoEvaluation/<dialog>.txt     one file per dialog, N = 1..5
    ROOT/Session<N>/sentences/wav/<dialog>/<utterance>.wav

Each utterance has one line in its dialog's EmoEvaluation file, tab separated:
`[6.2901 - 8.2357]  Ses01F_impro01_F000  neu  [2.5000, 2.5000, 2.5000]` (times, id, the
evaluators' majority label, valence/activation/dominance). Only those lines are read: the
per-evaluator lines under them and the Categorical/, Attribute/, Self-evaluation/ subfolders
are not.

Labels: the common 4-class setup. neu -> neutral, hap -> happy, exc (excited) -> happy (merged
with hap, as most IEMOCAP papers do), sad -> sad, ang -> angry. Every other label (fru, sur, fea,
dis, oth, and xxx: no majority among evaluators) is excluded here, so the fold sizes match
the literature's (5,531 utterances over the five sessions). Note the suite's ER classes are
synthetic prosody styles; IEMOCAP's are acted emotions.

Splits are leave-one-session-out folds, so test speakers are never seen in training: `sessionN`
is session N alone (a fold's test set) and `train_foldN` is the four other sessions. Defaults:
train on `train_fold5`, test on `session5`. A split needs every session it names; a missing
one is an error rather than a quietly smaller fold.

Speaker: session plus the speaker's gender, from the id's last part (`Ses01F_impro01_M003` is
spoken by the male actor of session 1: `Ses01M`; the F in `Ses01F` is who led the dialog).
"""
from __future__ import annotations

import re
from pathlib import Path

from benchmark.corpora.base import Utterance, register_loader
from benchmark.errors import UserError

SESSIONS = (1, 2, 3, 4, 5)
SPLITS = tuple(f"session{n}" for n in SESSIONS) + tuple(f"train_fold{n}" for n in SESSIONS)
EMOTIONS = {"neu": "neutral", "hap": "happy", "exc": "happy", "sad": "sad", "ang": "angry"}
_TURN = re.compile(r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s+(Ses\S+)\s+(\w+)\s+\[", re.MULTILINE)


@register_loader("iemocap", "IEMOCAP: ROOT/Session<N>/dialog/EmoEvaluation/*.txt + "
                 "sentences/wav/", tasks=("er",), splits=SPLITS, train_split="train_fold5",
                 test_split="session5")
def load(root: Path, task: str, split: str) -> list[Utterance]:
    base = root / "IEMOCAP_full_release" if (root / "IEMOCAP_full_release").is_dir() else root
    fold = int(split[-1])
    sessions = [fold] if split.startswith("session") else [n for n in SESSIONS if n != fold]
    utts = []
    for n in sessions:
        folder = _session(base, n, split)
        for txt in _evaluations(folder):
            for utt_id, code in _TURN.findall(txt.read_text(encoding="utf-8", errors="replace")):
                if code in EMOTIONS:
                    speaker = utt_id[:5] + utt_id.rsplit("_", 1)[-1][:1]
                    utts.append(Utterance(
                        id=utt_id, audio=folder / "sentences" / "wav" / txt.stem / f"{utt_id}.wav",
                        task=task, label=EMOTIONS[code], speaker=speaker, language="en"))
    return utts


def _session(base: Path, n: int, split: str) -> Path:
    folder = base / f"Session{n}"
    if folder.is_dir():
        return folder
    have = sorted(p.name for p in base.iterdir() if p.is_dir() and p.name.startswith("Session"))
    raise UserError(f"iemocap: no Session{n}/ folder in {base} (split '{split}' needs it); "
                    f"session folders there: {', '.join(have) or 'none'}; pass the "
                    "IEMOCAP_full_release folder")


def _evaluations(folder: Path) -> list[Path]:
    evals = folder / "dialog" / "EmoEvaluation"
    # `._*` files are macOS metadata that some copies of the release carry.
    files = sorted(p for p in evals.glob("*.txt") if not p.name.startswith("."))
    if not files:
        raise UserError(f"iemocap: no EmoEvaluation/*.txt in {evals}; the session is incomplete, "
                        "re-extract it from the IEMOCAP release")
    return files

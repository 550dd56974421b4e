"""A tiny IEMOCAP_full_release tree: Session1..Session5, each with one or two dialogs, their
`dialog/EmoEvaluation/<dialog>.txt` (majority-label lines followed by per-evaluator lines, as in
the release), a `Categorical/` subfolder and a transcription the loader must not read, and
16 kHz mono `sentences/wav/<dialog>/<utterance>.wav`.

Every session has all of neu, hap, exc, sad, ang (kept: 5 per session, 8 in session 5) and
excluded labels (fru, xxx, sur). Speakers: the letter of the utterance's last id part
(Ses01F_impro01_M000 is the male actor of session 1).
"""
from __future__ import annotations

from pathlib import Path

import torch

# dialog -> (utterance suffix, label, text); every session gets its own copy of the first dialog
_DIALOG = (("F000", "neu", "okay"), ("M000", "hap", "that is great"), ("F001", "exc", "yes wow"),
           ("M001", "sad", "i miss her"), ("F002", "ang", "get out"), ("M002", "fru", "why not"),
           ("F003", "xxx", "hmm"))
_EXTRA = (("F000", "neu", "sure"), ("M000", "exc", "we won"), ("F001", "sad", "it is over"),
          ("M001", "sur", "really"))
_VAD = {"neu": "2.5000, 2.5000, 2.5000", "hap": "4.0000, 3.5000, 3.0000",
        "exc": "4.5000, 4.0000, 3.0000", "sad": "1.5000, 2.0000, 2.0000",
        "ang": "1.5000, 4.0000, 4.0000"}


def dialogs(session: int) -> dict[str, tuple]:
    """dialog name -> its turns, for one session of the tree."""
    lead = "F" if session % 2 else "M"
    out = {f"Ses0{session}{lead}_impro0{session}": _DIALOG}
    if session == 5:
        out["Ses05F_script01_1"] = _EXTRA
    return out


def write(root: Path, say) -> Path:
    """Write the tree under `root` and return `root` (the IEMOCAP_full_release folder)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # `say` resamples: tiny clips are ~20x faster on one thread
    try:
        for session in range(1, 6):
            for dialog, turns in dialogs(session).items():
                _write_dialog(root / f"Session{session}", dialog, turns, say)
    finally:
        torch.set_num_threads(threads)
    (root / "README.txt").write_text("IEMOCAP: Interactive Emotional Dyadic Motion Capture\n")
    return root


def _write_dialog(folder: Path, dialog: str, turns: tuple, say) -> None:
    lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"]
    transcript, categorical = [], []
    for i, (suffix, label, text) in enumerate(turns):
        utt = f"{dialog}_{suffix}"
        voice = "en-us+f3" if suffix[0] == "F" else "en-us+m3"
        say(text, folder / "sentences" / "wav" / dialog / f"{utt}.wav", voice=voice)
        start, end = 2.0 * i + 0.5, 2.0 * i + 1.8
        lines.append(f"[{start:.4f} - {end:.4f}]\t{utt}\t{label}\t"
                     f"[{_VAD.get(label, '3.0000, 3.0000, 3.0000')}]\n"
                     "C-E1:\tNeutral;\t()\nC-E2:\tFrustration;\t()\n"
                     "A-E1:\tval 3; act 2; dom  2;\t()\n\n")
        transcript.append(f"{utt} [{start:08.4f}-{end:08.4f}]: {text}\n")
        categorical.append(f"{utt} :Neutral state; ()\n")
    evals = folder / "dialog" / "EmoEvaluation"
    (evals / "Categorical").mkdir(parents=True, exist_ok=True)
    (evals / f"{dialog}.txt").write_text("".join(lines))
    (evals / "Categorical" / f"{dialog}_e1_cat.txt").write_text("".join(categorical))
    (folder / "dialog" / "transcriptions").mkdir(parents=True, exist_ok=True)
    (folder / "dialog" / "transcriptions" / f"{dialog}.txt").write_text("".join(transcript))

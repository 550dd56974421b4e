"""A tiny Fluent Speech Commands tree as its archive extracts: `fluent_speech_commands_dataset/`
with `data/{train,valid,test}_data.csv` (pandas-written: an unnamed index column first, and the
object/location `none` where a slot is empty) and 16 kHz mono wavs under
`wavs/speakers/<speakerId>/<uuid>.wav`. Speakers keep to one split, as in the release.
"""
from __future__ import annotations

import csv
import uuid
from pathlib import Path

import torch

# split -> (speakerId, transcription, action, object, location)
ROWS = {
    "train": (
        ("2BqVo8kVB2Skwgyb", "Turn on the lights in the kitchen", "activate", "lights", "kitchen"),
        ("2BqVo8kVB2Skwgyb", "Switch off the lamp", "deactivate", "lamp", "none"),
        ("2BqVo8kVB2Skwgyb", "Turn up the heat in the kitchen", "increase", "heat", "kitchen"),
        ("2BqVo8kVB2Skwgyb", "Change language", "change language", "none", "none"),
        ("4BrX8aDqK2cLZRYl", "Volume up", "increase", "volume", "none"),
        ("4BrX8aDqK2cLZRYl", "Put on the music", "activate", "music", "none"),
        ("4BrX8aDqK2cLZRYl", "Bring me some juice", "bring", "juice", "none"),
        ("4BrX8aDqK2cLZRYl", "Lights off", "deactivate", "lights", "none"),
    ),
    "valid": (
        ("52XVOeXMXYuaElyw", "Decrease the volume", "decrease", "volume", "none"),
        ("52XVOeXMXYuaElyw", "Switch to Chinese", "change language", "Chinese", "none"),
        ("52XVOeXMXYuaElyw", "Stop the music", "deactivate", "music", "none"),
    ),
    "test": (
        ("4aGjX3AG5xcxeL7a", "Turn the lights on in the bedroom", "activate", "lights", "bedroom"),
        ("4aGjX3AG5xcxeL7a", "Heat down in the washroom", "decrease", "heat", "washroom"),
        ("4aGjX3AG5xcxeL7a", "Turn on the lamp", "activate", "lamp", "none"),
        ("4aGjX3AG5xcxeL7a", "Quieter please", "decrease", "volume", "none"),
    ),
}
_VOICES = {"2BqVo8kVB2Skwgyb": "en-us", "4BrX8aDqK2cLZRYl": "en-us+f3",
           "52XVOeXMXYuaElyw": "en+m3", "4aGjX3AG5xcxeL7a": "en-us+f2"}


def write(root: Path, say) -> Path:
    """Write the tree under `root` and return `root/fluent_speech_commands_dataset` (the corpus
    root; the loader also accepts `root`, the folder the archive was extracted in)."""
    corpus = root / "fluent_speech_commands_dataset"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # `say` resamples: tiny clips are ~20x faster on one thread
    try:
        for split, rows in ROWS.items():
            table = []
            for i, (speaker, text, action, obj, location) in enumerate(rows):
                rel = f"wavs/speakers/{speaker}/{uuid.uuid5(uuid.NAMESPACE_URL, text)}.wav"
                say(text.lower(), corpus / rel, voice=_VOICES[speaker])
                table.append((i, rel, speaker, text, action, obj, location))
            (corpus / "data").mkdir(parents=True, exist_ok=True)
            with (corpus / "data" / f"{split}_data.csv").open("w", newline="") as f:
                out = csv.writer(f)
                out.writerow(("", "path", "speakerId", "transcription", "action", "object",
                              "location"))
                out.writerows(table)
    finally:
        torch.set_num_threads(threads)
    (corpus / "readme.md").write_text("Fluent Speech Commands dataset\n")
    return corpus

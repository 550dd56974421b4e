"""Fluent Speech Commands (Lugosch et al. 2019) for task `ic`, read in its native layout.

ROOT is the `fluent_speech_commands_dataset/` folder (or the folder that contains it):

    ROOT/data/{train,valid,test}_data.csv   header `,path,speakerId,transcription,action,object,
                                            location` (the first column is a pandas index)
    ROOT/wavs/speakers/<speakerId>/<uuid>.wav   16 kHz mono; `path` is relative to ROOT

Splits: train, valid, test (the distributor's speaker-disjoint split). Speaker: `speakerId`.
Text: the transcription as given ("Turn on the lights in the kitchen").

Labels: FSC's intent is the (action, object, location) triple, 31 in all. INTENT_MAP below maps
an (action, object) pair onto the suite's SLURP-style INTENTS where the meaning is the same: 13
triples become 5 suite intents. The location is dropped there, since SLURP names the room as a
slot, not in the intent (the four "lights on" triples, one per room, all become
iot_hue_lightson), and a lamp is a light. The other 18 triples have no equivalent in the suite
(heating, changing the language, bringing objects, stopping the music: the suite has no "stop"
intent, and mute is not stop). They keep a readable label, `<action>_<object>_<location>`
lower-cased with spaces as `_` and `none` left out (`increase_heat_kitchen`,
`change_language_chinese`, `bring_juice`): the caching/eval layer reports and filters labels
outside the vocabulary.
"""
from __future__ import annotations

import csv
from pathlib import Path

from benchmark.corpora.base import Utterance, register_loader, require
from benchmark.errors import UserError

SPLITS = ("train", "valid", "test")
INTENT_MAP = {  # (action, object) -> suite intent, for every location
    ("activate", "lights"): "iot_hue_lightson", ("activate", "lamp"): "iot_hue_lightson",
    ("deactivate", "lights"): "iot_hue_lightoff", ("deactivate", "lamp"): "iot_hue_lightoff",
    ("increase", "volume"): "audio_volume_up", ("decrease", "volume"): "audio_volume_down",
    ("activate", "music"): "play_music",
}
_COLUMNS = ("path", "speakerId", "transcription", "action", "object", "location")


@register_loader("fsc", "Fluent Speech Commands: ROOT/data/<split>_data.csv + ROOT/wavs/",
                 tasks=("ic",), splits=SPLITS, train_split="train", test_split="test")
def load(root: Path, task: str, split: str) -> list[Utterance]:
    nested = root / "fluent_speech_commands_dataset"
    base = nested if nested.is_dir() else root
    csv_path = require(base / "data" / f"{split}_data.csv", "fsc", "pass the "
                       "fluent_speech_commands_dataset folder (it holds data/*_data.csv and wavs/)")
    utts = []
    for row in _read_csv(csv_path):
        audio = base / row["path"]
        utts.append(Utterance(id=f"{row['speakerId']}/{audio.stem}", audio=audio, task=task,
                              label=intent_label(row["action"], row["object"], row["location"]),
                              text=row["transcription"], speaker=row["speakerId"], language="en"))
    return utts


def intent_label(action: str, obj: str, location: str) -> str:
    """The suite's intent for an FSC triple, or the readable FSC label when there is none."""
    action, obj, location = (s.strip().lower() for s in (action, obj, location))
    if (action, obj) in INTENT_MAP:
        return INTENT_MAP[(action, obj)]
    return "_".join(s.replace(" ", "_") for s in (action, obj, location) if s != "none")


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise UserError(f"fsc: {path} lacks column(s) {', '.join(missing)}; expected the "
                            "release's header (,path,speakerId,transcription,action,object,"
                            "location)")
        return [row for row in reader if row.get("path")]

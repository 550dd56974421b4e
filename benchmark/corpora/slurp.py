"""SLURP (Bastianelli et al. 2020) for tasks `ic` and `ner`, read in its native layout.

ROOT is a clone of the SLURP repository with the audio archives extracted into it:

    ROOT/dataset/slurp/{train,devel,test,train_synthetic}.jsonl   (or these files directly in ROOT)
    ROOT/audio/slurp_real/*.flac    recordings of train/devel/test    (or ROOT/slurp_real/)
    ROOT/audio/slurp_synth/*.flac   recordings of train_synthetic     (or ROOT/slurp_synth/)

Each jsonl line is one sentence: `slurp_id`, `sentence`, `sentence_annotation` ("wake me up at
[time : five am]"), `scenario`, `action`, `intent`, `entities` and `recordings` ([{"file": ...}]).
Every recording becomes one utterance, id `<slurp_id>-<file stem>`; speaker is a `user_id` field
when there is one (the public release has none), else "". Text is the sentence as given.

ic: the label is `<scenario>_<action>`. It equals `intent` except where `intent` was mistyped
(a few lines say `hue_lightup` for scenario iot). The suite's INTENTS use SLURP's names; the other
SLURP intents (iot_hue_lightup, general_quirky, ...) keep their name: the caching/eval layer
reports and filters labels outside the vocabulary.

ner: entities are parsed from `sentence_annotation`, in spoken order, and their SLURP type mapped
by ENTITY_TYPES below onto the suite's types (date, time, place, person, device, number). A type is
mapped only when its values are the same kind of thing as the suite's: a room (house_place) is a
place; a relation ("mom", "my boss") names a person. Every other type is dropped, a known loss:
business_name ("starbucks") and event_name are fillers, not entities, in SynthSLU-7, and SLURP has
no plain number type (change_amount holds "a bit", "twenty percent"), so `number` gets nothing.
A sentence left with no mapped entity is kept with `()` (the "no entity" target). Values are
lower-cased and digits spelled out ("7:30" -> "seven thirty", "2nd" -> "second", "20%" -> "twenty
percent") with the suite's own `number_words`, then normalised to a-z, apostrophe and spaces.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from benchmark.corpora.base import Utterance, register_loader
from benchmark.data.sentences import number_words
from benchmark.errors import UserError
from benchmark.text import normalize_text

SPLITS = ("train", "devel", "test", "train_synthetic")
# SLURP's own spelling -> the suite's intent name where they differ (same meaning)
INTENT_ALIASES = {"iot_hue_lighton": "iot_hue_lightson"}
ENTITY_TYPES = {  # SLURP type -> suite type; unlisted types are dropped
    "date": "date", "time": "time", "timeofday": "time", "place_name": "place",
    "house_place": "place", "person": "person", "relation": "person", "device_type": "device",
}
_ENTITY = re.compile(r"\[\s*([^\]:]+?)\s*:\s*([^\]]*?)\s*\]")
_NUMBER = re.compile(r"(\d+)(st|nd|rd|th)?")
_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
            "nine": "ninth", "twelve": "twelfth"}


@register_loader("slurp", "SLURP: ROOT/dataset/slurp/<split>.jsonl + ROOT/audio/slurp_real|synth",
                 tasks=("ic", "ner"), splits=SPLITS, train_split="train", test_split="test")
def load(root: Path, task: str, split: str) -> list[Utterance]:
    index = _find([root / "dataset" / "slurp", root], f"{split}.jsonl",
                  "pass the root of the slurp repository clone (it ships dataset/slurp/*.jsonl)")
    audio_name = "slurp_synth" if split == "train_synthetic" else "slurp_real"
    audio = _find([root / "audio", root], audio_name,
                  f"download {audio_name}.tar.gz (scripts/download_audio.sh) and extract it "
                  "into ROOT/audio")
    utts = []
    for where, row in _read_jsonl(index):
        try:
            label = f"{row['scenario']}_{row['action']}"
            label = INTENT_ALIASES.get(label, label)
            sid, sentence, annotation = row["slurp_id"], row["sentence"], row["sentence_annotation"]
            files = [rec["file"] for rec in row["recordings"]]
        except KeyError as exc:
            raise UserError(f"slurp: {where} lacks {exc}; re-download the SLURP jsonl "
                            "files") from exc
        entities = _entities(annotation) if task == "ner" else None
        for rec, name in zip(row["recordings"], files):
            utts.append(Utterance(
                id=f"{sid}-{Path(name).stem}", audio=audio / name, task=task,
                label=label if task == "ic" else None, text=sentence, entities=entities,
                speaker=str(rec.get("user_id") or row.get("user_id") or ""), language="en"))
    return utts


def _find(places: list[Path], name: str, hint: str) -> Path:
    for place in places:
        if (place / name).exists():
            return place / name
    looked = " or ".join(str(p) for p in places)
    raise UserError(f"slurp: no {name} in {looked}; {hint}")


def _read_jsonl(path: Path):
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                yield f"{path}:{lineno}", json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"slurp: {path}:{lineno} is not valid JSON ({exc.msg}); "
                                "re-download the SLURP jsonl files") from exc


def _entities(annotation: str) -> tuple[tuple[str, str], ...]:
    """`[type : value]` spans of a SLURP annotated sentence, types mapped, unmapped dropped."""
    out = []
    for slurp_type, value in _ENTITY.findall(annotation):
        kind = ENTITY_TYPES.get(slurp_type.strip().lower())
        value = _spell(value)
        if kind and value:
            out.append((kind, value))
    return tuple(out)


def _spell(value: str) -> str:
    value = re.sub(r":00(?!\d)", " ", value.lower()).replace(":0", " oh ").replace(":", " ")
    return normalize_text(_NUMBER.sub(_words, value.replace("%", " percent")))


def _words(match: re.Match) -> str:
    digits, suffix = match.groups()
    n = int(digits)  # above 9999 (phone numbers, codes) the digits are read one by one
    words = number_words(n) if n < 10000 else " ".join(number_words(int(d)) for d in digits)
    if suffix:
        head, _, last = words.rpartition(" ")
        last = _ORDINAL.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
        words = f"{head} {last}"
    return f" {words} "

"""The suite's own JSONL manifest format, for any corpus without a dedicated loader.

ROOT is a folder holding one `<split>.jsonl` per split (any split names), or ROOT/manifests/.
One JSON object per line:

    {"audio": "clips/0001.wav", "task": "ic", "label": "alarm_set", "speaker": "s01"}
    {"audio": "/abs/path/0002.flac", "task": "asr", "text": "turn the lights off"}
    {"audio": "x.wav", "task": "ner", "entities": [{"type": "time", "value": "five am"}]}

- `audio` (required): path relative to the manifest's folder, or absolute; any format and rate
  soundfile reads (wav, flac, ogg, mp3).
- `task` (required): a task id (`benchmark list tasks`); a file may mix tasks, rows of other
  tasks than the one asked for are ignored.
- `label` (classification tasks), `text` (asr; optional elsewhere), `entities` (ner; types from
  benchmark.tasks.ENTITY_TYPES).
- optional: `id` (default: `<split>-<line>`), `speaker`, `language` (default "en").
"""
from __future__ import annotations

import json
from pathlib import Path

from benchmark.corpora.base import Utterance, register_loader
from benchmark.errors import UserError
from benchmark.tasks import ENTITY_TYPES, TASKS


@register_loader("jsonl", "the suite's JSONL manifest format (docs in benchmark/corpora/jsonl.py)",
                 tasks=tuple(TASKS), splits=(), train_split="train", test_split="test")
def load(root: Path, task: str, split: str) -> list[Utterance]:
    path = _manifest_file(root, split)
    utts = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("audio"), str):
            raise UserError(f"{where}: each line needs an object with an \"audio\" path")
        if row.get("task") not in TASKS:
            raise UserError(f"{where}: \"task\" must be one of {', '.join(TASKS)}")
        if row["task"] == task:
            utts.append(_utterance(row, path.parent, f"{split}-{lineno}", where))
    return utts


def _manifest_file(root: Path, split: str) -> Path:
    if root.is_file():
        raise UserError(f"jsonl: pass the folder that holds {split}.jsonl, not the file {root}")
    for folder in (root, root / "manifests"):
        if (folder / f"{split}.jsonl").is_file():
            return folder / f"{split}.jsonl"
    have = sorted(p.stem for p in root.glob("*.jsonl"))
    raise UserError(f"jsonl: no {split}.jsonl in {root}; splits there: {', '.join(have) or 'none'}")


def _utterance(row: dict, base: Path, default_id: str, where: str) -> Utterance:
    kind = TASKS[row["task"]].kind
    if kind == "classification" and not isinstance(row.get("label"), str):
        raise UserError(f"{where}: task '{row['task']}' needs a string \"label\"")
    if kind == "transcription" and not isinstance(row.get("text"), str):
        raise UserError(f"{where}: task 'asr' needs a string \"text\"")
    entities = None
    if kind == "entities":
        ents = row.get("entities")
        if not isinstance(ents, list) or not all(
                isinstance(e, dict) and e.get("type") in ENTITY_TYPES
                and isinstance(e.get("value"), str) for e in ents):
            raise UserError(f"{where}: \"entities\" must be a list of {{type, value}} with types "
                            f"from: {', '.join(ENTITY_TYPES)}")
        entities = tuple((e["type"], e["value"]) for e in ents)
    audio = Path(row["audio"])
    return Utterance(id=str(row.get("id", default_id)), audio=audio if audio.is_absolute()
                     else (base / audio).resolve(), task=row["task"], label=row.get("label"),
                     text=row.get("text") or "", entities=entities,
                     speaker=str(row.get("speaker") or ""),
                     language=str(row.get("language") or "en"))

"""Manifest files: one JSON object per line, keys sorted, floats rounded -> byte-stable output."""
from __future__ import annotations

import json
import os
from pathlib import Path

from benchmark.errors import UserError

FIELDS = ("id", "path", "task", "subset", "split", "text", "label", "entities", "speaker",
          "voice", "language", "accent", "duration", "sample_rate", "snr_db")
_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,), "path": (str,), "task": (str,), "subset": (str,), "split": (str,),
    "text": (str,), "label": (str, type(None)), "entities": (list, type(None)),
    "speaker": (str,), "voice": (str,), "language": (str,), "accent": (str, type(None)),
    "duration": (float, int), "sample_rate": (int,),
    "snr_db": (float, int, type(None)),  # None for real recordings (unknown SNR)
}


def manifest_path(root: str | Path, subset: str, split: str) -> Path:
    return Path(root) / "manifests" / subset / f"{split}.jsonl"


def dumps_row(row: dict) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file + os.replace so readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_manifest(path: str | Path, rows: list[dict]) -> None:
    atomic_write_text(Path(path), "".join(dumps_row(r) + "\n" for r in rows))


def validate_row(row: object, where: str) -> dict:
    """Check one manifest row; raises UserError naming `where` (file:line)."""
    if not isinstance(row, dict):
        raise UserError(f"{where}: expected a JSON object; rebuild the corpus")
    for key in FIELDS:
        if key not in row:
            raise UserError(f"{where}: missing field '{key}'; rebuild the corpus")
        if not isinstance(row[key], _TYPES[key]) or isinstance(row[key], bool):
            raise UserError(f"{where}: field '{key}' has type {type(row[key]).__name__}; "
                            "rebuild the corpus")
    for ent in row["entities"] or []:
        if not (isinstance(ent, dict) and isinstance(ent.get("type"), str)
                and isinstance(ent.get("value"), str)):
            raise UserError(f"{where}: malformed entity {ent!r}; rebuild the corpus")
    return row


def read_manifest(path: str | Path) -> list[dict]:
    """Parse and validate a manifest; any bad line raises UserError with `file:line`."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"missing manifest {path}; run `benchmark data build` first")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{lineno}: not valid JSON ({exc.msg}); "
                                "rebuild the corpus") from exc
            rows.append(validate_row(row, f"{path}:{lineno}"))
    return rows

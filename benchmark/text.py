"""Tokenizer for the task-prompted decoder (UniverSLU style).

Every target is `<sot> <|task|> content... <eos>`:
- classification: one label token, e.g. `em:happy`, `in:alarm_set`, `cmd:stop`, `lang:de`.
- transcription (asr): characters of the normalised transcript.
- entities (ner): for each entity, a type token `<ent:date>` followed by the value's characters.
  `[]` (no entity) is just `<sot> <|ner|> <eos>`.

The prompt `<sot> <|task|>` is given to the decoder; the loss covers what follows it.
"""
from __future__ import annotations

import re

from benchmark.tasks import ENTITY_TYPES, TASKS, TaskSpec

SPECIALS = ("<pad>", "<sot>", "<eos>", "<unk>")
# The batch contract pads targets y with this (transformers' ignore index): never a token id, so
# no vocabulary (this one, Whisper's) loses a token to padding.
PAD_TARGET = -100
# Most tokens generated per utterance (eos included), per task kind: one label token; entity
# type tokens + characters; characters.
MAX_LEN = {"classification": 3, "entities": 100, "transcription": 200}
CHARS = tuple(" abcdefghijklmnopqrstuvwxyz'")
_NON_TEXT = re.compile(r"[^a-z' ]+")
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Lower-case, keep a-z, apostrophe and single spaces. Digits must already be spelled out."""
    return _SPACES.sub(" ", _NON_TEXT.sub(" ", text.lower())).strip()


class Tokenizer:
    """Fixed vocabulary built from `benchmark.tasks`; the same on every machine and run.

    The interface every model family's tokenizer offers (see WhisperTaskTokenizer):
    prompt_len, task_pos, prompt(), task_token_id(), encode_target(), decode(), text(),
    max_len(), eos_id, pad_id, len().
    """

    prompt_len = 2  # `<sot> <|task|>`
    task_pos = 1

    def __init__(self) -> None:
        tokens = list(SPECIALS)
        tokens += [f"<|{t}|>" for t in TASKS]
        for spec in TASKS.values():
            tokens += [spec.label_token(label) for label in spec.labels]
        tokens += [f"<ent:{e}>" for e in ENTITY_TYPES]
        tokens += list(CHARS)
        self.tokens = tokens
        self.ids = {tok: i for i, tok in enumerate(tokens)}
        self.pad_id, self.sot_id, self.eos_id, self.unk_id = (self.ids[s] for s in SPECIALS)
        self.char_ids = [self.ids[c] for c in CHARS]  # CTC output units (ASR), blank = pad_id

    def __len__(self) -> int:
        return len(self.tokens)

    def prompt(self, task_id: str, corpus: str = "synthslu7") -> list[int]:
        """`<sot> <|task|>`; this vocabulary has no dataset tokens, so `corpus` is unused."""
        return [self.sot_id, self.task_token_id(task_id)]

    def task_token_id(self, task_id: str) -> int:
        return self.ids[f"<|{task_id}|>"]

    def max_len(self, spec: TaskSpec) -> int:
        return MAX_LEN[spec.kind]

    def encode_chars(self, text: str) -> list[int]:
        return [self.ids.get(c, self.unk_id) for c in normalize_text(text)]

    def encode_target(self, spec: TaskSpec, row: dict, corpus: str = "synthslu7") -> list[int]:
        """Full sequence `<sot> <|task|> content <eos>` for one manifest row."""
        if spec.kind == "classification":
            body = [self.ids.get(spec.label_token(row["label"]), self.unk_id)]
        elif spec.kind == "transcription":
            body = self.encode_chars(row["text"])
        else:
            body = []
            for ent in row["entities"]:
                body.append(self.ids[f"<ent:{ent['type']}>"])
                body += self.encode_chars(ent["value"])
        return self.prompt(spec.id, corpus) + body + [self.eos_id]

    def _content_tokens(self, ids: list[int]) -> list[str]:
        toks: list[str] = []
        for i in ids:
            if i == self.eos_id:
                break
            if 0 <= i != self.pad_id:
                toks.append(self.tokens[i])
        return toks

    def text(self, ids: list[int]) -> str:
        """Content ids -> the raw text the model emitted, before `decode` parses it (so a
        prediction `decode` calls "<invalid>" can still be read, e.g. another task's label).
        Every token is kept, special ones included (`<|er|>`, `<unk>`); a multi-character token
        (a label, an entity type) starts a new word, so `em:happy em:sad` reads as two labels."""
        out = ""
        for tok in self._content_tokens(ids):
            if len(tok) > 1 and out and not out.endswith(" "):
                out += " "
            out += tok
        return out

    def decode(self, spec: TaskSpec, ids: list[int]) -> str | list[dict]:
        """Content ids (no prompt, stops at <eos>) -> label / transcript / entity list."""
        toks = self._content_tokens(ids)
        if spec.kind == "classification":
            prefix = spec.label_prefix + ":"
            first = toks[0] if toks else ""
            return first[len(prefix):] if first.startswith(prefix) else "<invalid>"
        if spec.kind == "transcription":
            return normalize_text("".join(t for t in toks if len(t) == 1))
        entities: list[dict] = []
        for t in toks:
            if t.startswith("<ent:"):
                entities.append({"type": t[5:-1], "value": ""})
            elif len(t) == 1 and entities:
                entities[-1]["value"] += t
        return [{"type": e["type"], "value": normalize_text(e["value"])} for e in entities]

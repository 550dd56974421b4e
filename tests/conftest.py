"""Shared fixtures: the quick SynthSLU-7 corpus, built once per test session, and a
bit-for-bit comparison of saved models and strategy states."""
from __future__ import annotations

import os

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _threads():
    torch.set_num_threads(int(os.environ.get("TEST_THREADS", "2")))


def _assert_same_tree(a, b, where: str = "model.pt") -> None:
    """Bit-identical nested dicts/lists of tensors and plain values."""
    assert type(a) is type(b), where
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same_tree(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_tree(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b), where
    else:
        assert a == b, where


@pytest.fixture
def assert_same_tree():
    """Compares two loaded `model.pt` files (model and strategy state) to the bit."""
    return _assert_same_tree


@pytest.fixture(scope="session")
def quick_corpus(tmp_path_factory):
    from benchmark.data.build import build_corpus

    return build_corpus("quick", out=tmp_path_factory.mktemp("corpus") / "quick", seed=0,
                        log=lambda *a: None)


@pytest.fixture(scope="session")
def tiny_whisper_dir(tmp_path_factory):
    """A randomly initialised Whisper (d=32, 2+2 layers, ffn 4d as in OpenAI's, tiny.en's 51,864-token vocabulary) in
    Hugging Face format (config.json + model.safetensors), as `model=whisper:<dir>` reads it.
    No tokenizer.json: English-only vocabularies fall back to the embedded tiny.en's."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    torch.manual_seed(0)
    config = WhisperConfig(vocab_size=51864, num_mel_bins=80, d_model=32, encoder_layers=2,
                           decoder_layers=2, encoder_attention_heads=2,
                           decoder_attention_heads=2, encoder_ffn_dim=128, decoder_ffn_dim=128,
                           max_source_positions=1500, max_target_positions=448,
                           pad_token_id=50256, bos_token_id=50256, eos_token_id=50256,
                           decoder_start_token_id=50257)
    out = tmp_path_factory.mktemp("whisper") / "tiny-random"
    WhisperForConditionalGeneration(config).save_pretrained(out)
    return out


# Small real runs for the reporting and provenance tests: naive and subnet x seeds 0, 1 on
# three_task (quick profile, one epoch, 32 utterances per subset), made once per session.
REPORT_RUNS_FAST = ["epochs=1", "max_train_per_subset=32", "max_eval_per_subset=16"]


@pytest.fixture(scope="session")
def small_runs(quick_corpus, tmp_path_factory):
    from benchmark.runner import RunRequest, run

    out = tmp_path_factory.mktemp("reporting_runs")
    for strategy in ("naive", "subnet"):
        for seed in (0, 1):
            run(RunRequest(stream="three_task", strategy=strategy, seed=seed, profile="quick",
                           out=str(out), corpus=str(quick_corpus), overrides=REPORT_RUNS_FAST,
                           progress=False), log=lambda *a: None)
    return out

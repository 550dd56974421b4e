import pytest
import torch

from benchmark.models import MODEL_SIZES, build_model, count_parameters


def test_counts_add_up(tiny):
    counts = count_parameters(tiny)
    assert counts["total"] == sum(p.numel() for p in tiny.parameters())
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")
    assert counts["cmvn"] == 0  # buffers are not parameters
    no_emb = count_parameters(tiny, include_embeddings=False)
    assert counts["total"] - no_emb["total"] == tiny.decoder.embed.weight.numel()


@pytest.mark.parametrize(("size", "low", "high"), [("small", 3e6, 6e6), ("base", 30e6, 40e6)])
def test_size_budgets(size, low, high, tokenizer):
    with torch.device("meta"):  # shapes only: no memory, no init time
        model = build_model(size, len(tokenizer))
    assert low <= count_parameters(model)["total"] <= high


# The exact counts of the conformer as documented; a change here means results made with it no
# longer describe the model the suite builds. block_final_norm=True is the conformer of suite
# 0.1 (a LayerNorm closing every block), which the committed from-scratch results used.
@pytest.mark.parametrize(("size", "block_final_norm", "total"), [
    ("tiny", False, 247_228), ("small", False, 3_713_324), ("base", False, 32_817_372),
    ("tiny", True, 247_356), ("small", True, 3_714_764), ("base", True, 32_823_004)])
def test_every_size_builds_with_its_documented_count(size, block_final_norm, total, tokenizer):
    assert set(MODEL_SIZES) == {"tiny", "small", "base"}
    with torch.device("meta"):
        model = build_model(size, len(tokenizer), block_final_norm=block_final_norm)
    assert count_parameters(model)["total"] == total

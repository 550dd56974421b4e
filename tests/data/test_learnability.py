"""Smoke check: a tiny classifier on pooled fbank beats chance on unseen test speakers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.data.features import load_features
from benchmark.data.manifest import manifest_path, read_manifest


def _pooled(root, subset, split):
    data = load_features(root, subset, split)
    f, off = data["feats"].float(), data["offsets"]
    x = torch.stack([torch.cat([f[a:b].mean(0), f[a:b].std(0)])
                     for a, b in zip(off[:-1].tolist(), off[1:].tolist())])
    y = [r["label"] for r in read_manifest(manifest_path(root, subset, split))]
    return x.numpy(), np.array(y)


# (subset, minimum test accuracy). Chance: er 0.25, lid 0.14, acc 0.125. Measured on the quick
# corpus: about 0.95 / 0.5 / 0.45; thresholds leave room for seed-to-seed variation.
@pytest.mark.parametrize("subset,minimum", [("er", 0.6), ("lid", 0.3), ("acc", 0.25)])
def test_beats_chance(quick_corpus, subset, minimum):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    xtr, ytr = _pooled(quick_corpus, subset, "train")
    xte, yte = _pooled(quick_corpus, subset, "test")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500))
    clf.fit(xtr, ytr)
    acc = float((clf.predict(xte) == yte).mean())
    assert acc >= minimum, f"{subset}: test accuracy {acc:.2f} < {minimum}"

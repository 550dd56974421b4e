"""The README's results section is generated from the committed results/ and cannot go stale;
the claim verdicts follow their stated rules."""
from __future__ import annotations

import json

from benchmark.reporting import readme


def test_readme_matches_the_committed_results():
    assert readme.main(["--check"]) == 0, "README.md is stale: python -m benchmark.reporting.readme"


def _study(direction, metric_by_sparsity):
    sparsity = [0.0, 0.2, 0.36, 0.488, 0.59, 0.67]
    metric = [metric_by_sparsity.get(s, 0.5) for s in sparsity]
    return {"direction": direction, "sparsity": sparsity, "metric": metric,
            "unpruned": metric[0]}


def _metrics(R):
    return {"eval_subsets": ["er", "ic", "asr", "asr_new", "ic_new"], "score": {"R": R}}


def test_claim_verdicts_follow_their_rules(tmp_path):
    comp = tmp_path / "compression" / "adaptation" / "seed0"
    comp.mkdir(parents=True)
    study = {"er": _study("higher", {0.0: 0.90, 0.36: 0.905, 0.67: 0.895}),
             "ic": _study("higher", {0.0: 0.80, 0.36: 0.80, 0.67: 0.81}),
             "asr": _study("lower", {0.0: 0.10, 0.36: 0.12, 0.67: 0.20})}
    (comp / "compression.json").write_text(json.dumps(study))
    row = readme.claim_compression(tmp_path)[0]
    assert row.endswith("| holds |") and "er 90.0 -> 90.5 / 89.5" in row
    study["ic"] = _study("higher", {0.0: 0.80, 0.36: 0.78, 0.67: 0.81})  # IC loses 2 points
    (comp / "compression.json").write_text(json.dumps(study))
    assert "partly: ER/IC not kept, ASR most sensitive" in readme.claim_compression(tmp_path)[0]

    steady = [[90, 80, 70, 0, 0], [89.5, 80, 70, 50, 0], [89.5, 80, 69.5, 50, 60]]
    forget = [[90, 80, 70, 0, 0], [40, 30, 70, 50, 0], [10, 80, 20, 50, 60]]
    for folder, R in (("adaptation/subnet", steady), ("update_exclusive/adaptation/subnet",
                                                        steady), ("adaptation/naive", forget)):
        d = tmp_path / folder / "seed0"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps(_metrics(R)))
    row = readme.claim_adaptation(tmp_path)[0]
    assert "subnet: worst -0.5" in row and "naive: worst -50.0" in row
    assert row.endswith("| holds |")
    (tmp_path / "adaptation/subnet/seed0/metrics.json").write_text(json.dumps(_metrics(forget)))
    assert readme.claim_adaptation(tmp_path)[0].endswith("| holds only with update=exclusive |")

"""Every registered strategy runs three_task end to end on the quick profile (timm style), on
both model families (the quick profile's conformer-tiny, and a tiny random Whisper through the
same code as the pretrained default): a strategy added later is tested here without new test
code. These runs show a strategy runs, not that it does anything: its mechanism (penalties,
replay, projections, masks) is checked in tests/strategies/test_mechanisms.py, which fails for a
registered strategy without a check."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from benchmark.reporting.runs import load_runs
from benchmark.runner import RunRequest, run
from strategies import list_strategies

FAST = ["epochs=1", "max_train_per_subset=48", "max_eval_per_subset=24"]


def _run(corpus, out, strategy, overrides=(), stream="three_task", seed=0):
    req = RunRequest(stream=stream, strategy=strategy, seed=seed, profile="quick",
                     out=str(out), corpus=str(corpus), overrides=FAST + list(overrides),
                     progress=False)
    return run(req, log=lambda *a: None)


def whisper_overrides(model_dir) -> list[str]:
    return [f"model=whisper:{model_dir}", "ctc_weight=0", "lr=1e-3", "precision=bf16"]


@pytest.mark.parametrize("family", ["conformer", "whisper"])
@pytest.mark.parametrize("strategy", list_strategies())
def test_strategy_runs_three_task(strategy, family, quick_corpus, tiny_whisper_dir, tmp_path):
    overrides = whisper_overrides(tiny_whisper_dir) if family == "whisper" else []
    run_dir = _run(quick_corpus, tmp_path, strategy, overrides)
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["complete"] is True and m["incomplete_reason"] is None
    R = np.array(m["score"]["R"])
    assert R.shape == (3, 3) and np.isfinite(R).all()
    assert m["eval_subsets"] == ["er", "ic", "asr"]
    for subset, metric in [("er", "accuracy"), ("ic", "uar"), ("asr", "wer")]:
        assert len(m["per_task"][subset][metric]) == 3
    s = m["score"]["summary"]
    assert {"acc", "bwt", "forgetting"} <= set(s)
    assert len(m["params"]["updated_per_experience"]) == 3
    assert all(0 < u <= m["params"]["total"] for u in m["params"]["updated_per_experience"])
    if (run_dir / "masks.json").exists():  # the runner's count = the report's, from the masks
        (run,), _ = load_runs([run_dir])  # (Whisper's frozen token table counts as used)
        assert m["params"]["used_per_task"][-1] == run.params_used_per_task()
    evals = (run_dir / "evals.jsonl").read_text().splitlines()
    assert len(evals) == 9
    state = torch.load(run_dir / "model.pt", weights_only=True)
    assert "model" in state
    for name in ("config.json", "environment.json", "run.log"):
        assert (run_dir / name).exists()


def _model_after_each_experience(monkeypatch) -> list[dict]:
    """A list that fills, as a run goes, with a copy of the model's weights at each
    per-experience checkpoint (the runner saves one after every experience)."""
    from benchmark.runner import checkpoint

    after_exp = []
    real_save = checkpoint.atomic_torch_save

    def keep_checkpoints(path, obj):
        if path.name == "checkpoint.pt":
            after_exp.append({k: v.clone() for k, v in obj["model"].items()})
        return real_save(path, obj)

    monkeypatch.setattr(checkpoint, "atomic_torch_save", keep_checkpoints)
    return after_exp


@pytest.mark.parametrize("family", ["conformer", "whisper"])
def test_subnet_task_tokens_own_trains_only_the_new_tasks_rows(family, quick_corpus,
                                                               tiny_whisper_dir, tmp_path,
                                                               monkeypatch):
    """task_tokens=own: a task met after experience 0 trains the embedding rows of the prompt
    tokens only it uses (frozen with the shared table by default); no other row moves, so with
    update=exclusive er's metric still does not change."""
    from benchmark.models.backbones import build_backbone
    from benchmark.training.masked import own_prompt_rows

    after_exp = _model_after_each_experience(monkeypatch)
    model = "conformer-tiny" if family == "conformer" else f"whisper:{tiny_whisper_dir}"
    overrides = [] if family == "conformer" else whisper_overrides(tiny_whisper_dir)
    run_dir = _run(quick_corpus, tmp_path, "subnet",
                   [*overrides, "update=exclusive", "task_tokens=own"])
    backbone = build_backbone(model)
    own = own_prompt_rows(backbone.model, backbone.tokenizer)
    table = "decoder.embed.weight" if family == "conformer" \
        else "decoder.embed_tokens.extra.weight"
    trainable = {n for n, p in backbone.model.named_parameters() if p.requires_grad}
    assert len(after_exp) == 3
    for i, task in ((1, "ic"), (2, "asr")):  # three_task: er, then ic, then asr
        moved = (after_exp[i - 1][table] != after_exp[i][table]).any(dim=1)
        expect = own[task][table].tolist() if table in own[task] and table in trainable else []
        assert moved.nonzero().flatten().tolist() == expect, task
    assert own["ic"][table].numel() > 0  # ic's own row is in the table, so the check can fail
    er = json.loads((run_dir / "metrics.json").read_text())["per_task"]["er"]
    assert er["accuracy"][0] == er["accuracy"][1] == er["accuracy"][2]


def test_subnet_first_round_task_trains_each_task_before_its_first_cut(quick_corpus, tmp_path,
                                                                      monkeypatch):
    """adaptation's first experience holds er, ic and asr. first_round=dense prunes the jointly
    trained copy in round 1 (one training of the copy per task: round 2's); first_round=task
    trains the copy on the task's own data before round 1 too."""
    from benchmark.training.masked import SubnetStrategy

    trained = []
    real_train_copy = SubnetStrategy._train_copy

    def count(self, model, dataset, epochs, mask=None, task=None):
        trained.append(task)
        return real_train_copy(self, model, dataset, epochs, mask, task)

    monkeypatch.setattr(SubnetStrategy, "_train_copy", count)
    for first_round, per_task in (("dense", 1), ("task", 2)):  # 0.36 = two rounds of 0.2
        trained.clear()
        run_dir = _run(quick_corpus, tmp_path / first_round, "subnet",
                       [f"first_round={first_round}", "max_train_per_subset=16",
                        "max_eval_per_subset=8"], stream="adaptation")
        # experience 0: the dense copy (task None), then per task its masked trainings
        assert trained == [None] + ["er"] * per_task + ["ic"] * per_task + ["asr"] * per_task
        m = json.loads((run_dir / "metrics.json").read_text())
        search = m["params"]["extra_state"][0]["mask_search"]
        assert {t: v["round_epochs"] for t, v in search.items()} == dict.fromkeys(
            ("er", "ic", "asr"), per_task)


def test_exclusive_subnet_has_zero_interference(quick_corpus, tmp_path, monkeypatch):
    from benchmark import masks as M

    after_exp = _model_after_each_experience(monkeypatch)
    run_dir = _run(quick_corpus, tmp_path, "subnet", ["update=exclusive"])
    final = torch.load(run_dir / "model.pt", weights_only=True)
    masks = M.TaskMasks({})
    masks.load_state_dict(final["strategy"])
    er_mask = masks.get("er")
    # er's view of the model -- masked weights inside its mask, every unmasked tensor whole --
    # is bit-identical after the ic and asr experiences to what it was right after er's
    assert len(after_exp) == 3
    for name, before in after_exp[0].items():
        now = final["model"][name]
        if name in er_mask:
            assert torch.equal(before * er_mask[name], now * er_mask[name]), name
        else:
            assert torch.equal(before, now), name
    # ... while ic and asr did train weights outside it (else the check above is vacuous)
    assert any(not torch.equal(after_exp[0][k], final["model"][k]) for k in er_mask)

    m = json.loads((run_dir / "metrics.json").read_text())
    er = m["per_task"]["er"]
    # er's metric after experiences 1 and 2 equals its value right after it was trained
    assert er["accuracy"][0] == er["accuracy"][1] == er["accuracy"][2]
    assert er["macro_f1"][0] == er["macro_f1"][2]
    ic = m["per_task"]["ic"]
    assert ic["accuracy"][1] == ic["accuracy"][2]
    masks = m["params"]["extra_state"][-1]["masks"]
    assert masks["tasks"] == 3
    assert all(abs(s - 0.36) < 1e-3 for s in masks["sparsity"].values())


def test_naive_run_is_deterministic(quick_corpus, tmp_path):
    a_dir = _run(quick_corpus, tmp_path / "a", "naive")
    a = json.loads((a_dir / "metrics.json").read_text())
    report = (a_dir / "report" / "report.md").read_text()
    assert ", peak RSS " in report and ", CPU time / wall time " in report
    b = json.loads((_run(quick_corpus, tmp_path / "b", "naive") / "metrics.json").read_text())
    for m in (a, b):
        m.pop("wall_seconds")
        # recorded after every experience; the process's peak, which no rerun repeats exactly
        rss = m.pop("peak_rss_mib")
        assert len(rss) == len(m["experiences"]) and all(v > 0 for v in rss)
        # CPU time per experience: what share of its cores the run had, which no rerun repeats
        cpu = m.pop("cpu_seconds")
        assert all(len(cpu[part]) == len(m["experiences"]) and all(v > 0 for v in cpu[part])
                   for part in ("train", "eval"))
        for task in m["per_task"].values():
            task.pop("eval_seconds")
        for res in m["baseline_metrics"].values():
            res.pop("eval_seconds")
    assert a == b


def test_a_masked_run_is_bit_identical_in_another_process(quick_corpus, tmp_path,
                                                          assert_same_tree):
    """A reference set reruns a seed, or resumes it, in a new process, where Python's string
    hashes, and so the order of any set, differ. Two processes with other PYTHONHASHSEEDs must
    give the same final model and strategy state to the bit: subnet with update=exclusive,
    whose masks and weights no other mask holds are the most bookkeeping of any strategy."""
    models = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        subprocess.run([sys.executable, "-m", "benchmark.cli", "run", "--stream", "three_task",
                        "--strategy", "subnet", "--profile", "quick", "--corpus",
                        str(quick_corpus), "--out", str(out), "--no-progress", *FAST,
                        "update=exclusive"], check=True, capture_output=True,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed})
        models.append(torch.load(out / "three_task" / "subnet" / "seed0" / "model.pt",
                                 weights_only=True))
    assert_same_tree(*models)

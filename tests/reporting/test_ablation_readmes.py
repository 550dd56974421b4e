"""The ablation folders' READMEs were written by hand; their tables must still say what the runs
beside them measured. Each table row is recomputed from the run folders it names (metrics.json,
config.json, masks.json), so an edited number or a re-made run that no longer matches fails here.
The prose under the tables quotes these rows; the tables are what is checked, and the top-level
README's paragraph on the EWC ablation, which is prose, has its numbers checked too. The
from-scratch conformer's README has its provenance table (commit and threads of every run)
and its prose numbers checked."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[2] / "results"
PLASTICITY = RESULTS / "ablation_plasticity"
FIRST_ROUND = RESULTS / "ablation_first_round"


def table(readme: Path, header_start: str) -> list[list[str]]:
    """The body rows (cells stripped) of the markdown table whose header begins so."""
    lines = readme.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def learned_at(m: dict, task: str) -> int:
    """The last experience that trained the task, as the run's own metrics record it (each
    stream here trains a task once)."""
    return m["score"]["summary"]["learned_at"][task]


def own_score(run: Path, task: str) -> float:
    """The task's score right after the experience that trained it (the R diagonal)."""
    m = metrics(run)
    return m["score"]["R"][learned_at(m, task)][m["eval_subsets"].index(task)]


def train_seconds(run: Path, task: str) -> float:
    m = metrics(run)
    return m["wall_seconds"]["train"][learned_at(m, task)]


def one(x: float) -> str:
    return f"{x:.1f}"


def signed(x: float) -> str:
    text = f"{x:+.1f}"
    return "+0.0" if text == "-0.0" else text


def _plasticity_run(variant: str, stream: str, seed: int) -> Path:
    return PLASTICITY / variant / stream / "naive" / f"seed{seed}"


# README row label -> (variant folder, stream); the epochs and lr columns are checked against
# each run's config.json
IC_ROWS = {
    "IC alone, from the pretrained model": ("default", "ic_alone"),
    "IC alone|1|3e-4": ("lr_3e-4", "ic_alone"),
    "IC alone|2|1e-4": ("epochs_2", "ic_alone"),
    "ER, then IC (as in seven_task)": ("default", "er_ic"),
    "ER, then IC|2|1e-4": ("epochs_2", "er_ic"),
    "SCR (20 spoken words), then IC": ("default", "scr_ic"),
    "ER, then IC, warm-up 10 steps (not 50)": ("warmup_10", "er_ic"),
    "IC alone, **batches of 8**": ("batch_8", "ic_alone"),
    "ER, then IC, **batches of 8**": ("batch_8", "er_ic"),
    "ER, then IC, batches of 4": ("batch_4", "er_ic"),
}
NER_ROWS = {
    "NER alone, from the pretrained model": ("default", 1),
    "NER alone": ("epochs_2", 2),
    "NER alone, batches of 8": ("batch_8", 1),
    "NER alone, batches of 4": ("batch_4", 1),
}


def _ic_row_key(cells: list[str]) -> str:
    label = cells[0]
    return label if label in IC_ROWS else "|".join(cells[:3])


@pytest.mark.skipif(not PLASTICITY.is_dir(), reason="no plasticity ablation")
def test_plasticity_ic_table_matches_its_runs():
    rows = table(PLASTICITY / "README.md", "| stream | epochs | lr | IC accuracy")
    assert sorted(_ic_row_key(r) for r in rows) == sorted(IC_ROWS)
    for cells in rows:
        variant, stream = IC_ROWS[_ic_row_key(cells)]
        epochs, lr, *seeds, seconds = cells[1:]
        for seed, cell in enumerate(seeds):
            run = _plasticity_run(variant, stream, seed)
            if cell == "–":
                assert not run.exists(), f"{run.relative_to(RESULTS)} is not in the table"
                continue
            assert one(own_score(run, "ic")) == cell, f"{run.relative_to(RESULTS)}: IC"
            train = json.loads((run / "config.json").read_text())["train"]
            assert (str(train["epochs"]), f"{train['lr']:.0e}".replace("e-0", "e-")) \
                == (epochs, lr), f"{run.relative_to(RESULTS)}: epochs, lr"
        found = re.fullmatch(r"(\d+) s(?: \(seed (\d)\))?", seconds)
        assert found, seconds
        run = _plasticity_run(variant, stream, int(found.group(2) or 0))
        assert f"{train_seconds(run, 'ic'):.0f}" == found.group(1), \
            f"{run.relative_to(RESULTS)}: IC train time"


@pytest.mark.skipif(not PLASTICITY.is_dir(), reason="no plasticity ablation")
def test_plasticity_ner_table_matches_its_runs(bf16_set):
    rows = table(PLASTICITY / "README.md", "| stream | epochs | NER entity F1")
    *probes, reference = rows
    assert sorted(r[0] for r in probes) == sorted(NER_ROWS)
    for label, epochs, f1, seconds in probes:
        variant, want_epochs = NER_ROWS[label]
        run = _plasticity_run(variant, "ner_alone", 0)
        assert epochs == str(want_epochs)
        assert json.loads((run / "config.json").read_text())["train"]["epochs"] == want_epochs
        assert one(own_score(run, "ner")) == f1, f"{run.relative_to(RESULTS)}: NER"
        assert f"{train_seconds(run, 'ner'):.0f} s" == seconds, f"{run.relative_to(RESULTS)}"
    # the last row quotes the bf16 reference seven_task naive runs, seeds 0-2
    assert reference[0].startswith("NER after er, ic, asr, scr (reference seven_task naive")
    naive = bf16_set / "seven_task" / "naive"
    quoted = " / ".join(one(own_score(naive / f"seed{s}", "ner")) for s in range(3))
    assert reference[2] == f"{quoted} (seeds 0-2)"


FIRST_ROUND_RUNS = {
    "reference run": None,  # the bf16 set's adaptation subnet seed 0
    "`first_round=dense`": FIRST_ROUND / "dense" / "adaptation" / "subnet" / "seed0",
    "`first_round=task`": FIRST_ROUND / "task" / "adaptation" / "subnet" / "seed0",
}


def _first_round_cells(run: Path) -> list[str]:
    """base ER / IC / ASR WER, mask IoUs, claim-2 costs, their mean / worst, ACC, forgetting."""
    m = metrics(run)
    col = {t: i for i, t in enumerate(m["eval_subsets"])}
    R = m["score"]["R"]
    base = f"{one(R[0][col['er']])} / {one(R[0][col['ic']])} / {one(100 - R[0][col['asr']])}"
    masks = json.loads((run / "masks.json").read_text())
    t, iou = masks["tasks"], masks["iou"]
    pairs = [("er", "ic"), ("er", "asr"), ("ic", "asr")]
    overlap = " / ".join(f"{iou[t.index(a)][t.index(b)]:.3f}" for a, b in pairs)
    costs = [R[1][col["er"]] - R[0][col["er"]], R[1][col["ic"]] - R[0][col["ic"]],
             R[2][col["er"]] - R[1][col["er"]], R[2][col["asr"]] - R[1][col["asr"]]]
    summary = m["score"]["summary"]
    return [base, overlap, " / ".join(signed(c) for c in costs),
            f"{signed(sum(costs) / len(costs))} / {signed(min(costs))}",
            one(summary["acc"]), one(summary["forgetting"])]


@pytest.mark.skipif(not FIRST_ROUND.is_dir(), reason="no first_round ablation")
def test_first_round_table_matches_its_runs(bf16_set):
    rows = table(FIRST_ROUND / "README.md", "| run | base ER")
    assert len(rows) == len(FIRST_ROUND_RUNS)
    for cells in rows:
        key = next(k for k in FIRST_ROUND_RUNS if cells[0].startswith(k))
        run = FIRST_ROUND_RUNS[key] or bf16_set / "adaptation" / "subnet" / "seed0"
        assert cells[1:] == _first_round_cells(run), f"{cells[0]}"


EWC_LAMBDA = RESULTS / "ablation_ewc_lambda"


def _ewc_cells(run: Path) -> list[str]:
    """lambda, train utterances per task, ER after er / ic / asr, IC after ic / asr, ASR after
    asr, ACC, BWT, forgetting, wall time."""
    m, config = metrics(run), json.loads((run / "config.json").read_text())
    col = {t: i for i, t in enumerate(m["eval_subsets"])}
    R, summary = m["score"]["R"], m["score"]["summary"]
    sizes = re.search(r"train sizes \[([\d, ]+)\]", (run / "run.log").read_text()).group(1)
    assert len(set(sizes.split(", "))) == 1, f"{run}: tasks of unequal size"
    per_task = int(sizes.split(", ")[0])
    lam = config["strategy"].get("ewc_lambda")  # none: naive, for scale
    return ["–" if lam is None else f"{lam:.0e}".replace("e+0", "e"),
            f"{per_task:,}",
            " / ".join(one(R[i][col["er"]]) for i in range(3)),
            " / ".join(one(R[i][col["ic"]]) for i in (1, 2)),
            one(R[2][col["asr"]]), one(summary["acc"]), one(summary["bwt"]),
            one(summary["forgetting"]), f"{m['wall_seconds']['total']:,.0f} s"]


@pytest.mark.skipif(not EWC_LAMBDA.is_dir(), reason="no ewc lambda ablation")
def test_ewc_lambda_table_matches_its_runs():
    rows = table(EWC_LAMBDA / "README.md", "| run | lambda |")
    assert len(rows) >= 5
    ablation_runs = {p.parent.relative_to(RESULTS) for p in EWC_LAMBDA.rglob("metrics.json")}
    quoted = set()
    for cells in rows:
        rel = re.fullmatch(r"`([^`]+)/?`.*", cells[0]).group(1)
        quoted.add(Path(rel))
        assert cells[1:] == _ewc_cells(RESULTS / rel), rel
    assert ablation_runs <= quoted, "every run of the ablation is in its table"


@pytest.mark.skipif(not EWC_LAMBDA.is_dir(), reason="no ewc lambda ablation")
def test_the_readmes_ewc_paragraph_quotes_the_runs():
    """README.md's paragraph on untuned EWC is prose, so its numbers are checked here: the
    ablation's full-data lambda 1e7 run against the reference set's three_task ewc and replay."""
    readme = (RESULTS.parent / "README.md").read_text()
    _, found, rest = readme.partition("The ewc row is untuned EWC")
    assert found, "README.md has no paragraph starting 'The ewc row is untuned EWC'"
    text = " ".join(rest.split("\n\n", 1)[0].split())
    got = re.search(r"`ewc_lambda=(\d+)`.*lambda (1e\d+) keeps ER at ([\d.]+) instead of "
                    r"([\d.]+) but .* ACC ([\d.]+) against ([\d.]+), still far below "
                    r"replay's ([\d.]+)", text)
    assert got, "README.md's ewc paragraph no longer has the form this test reads"
    default, lam, er, er_untuned, acc_tuned, acc_untuned, acc_replay = got.groups()
    tuned = EWC_LAMBDA / "full" / f"lambda_{lam}" / "three_task" / "ewc" / "seed0"
    untuned = RESULTS / "three_task" / "ewc" / "seed0"
    replay = RESULTS / "three_task" / "replay" / "seed0"
    assert json.loads((untuned / "config.json").read_text())["strategy"]["ewc_lambda"] \
        == float(default)

    def final(run: Path, task: str) -> float:
        m = metrics(run)
        return round(m["score"]["R"][-1][m["eval_subsets"].index(task)], 1)

    def acc(run: Path) -> float:
        return round(metrics(run)["score"]["summary"]["acc"], 1)

    assert (float(er), float(er_untuned)) == (final(tuned, "er"), final(untuned, "er"))
    assert (float(acc_tuned), float(acc_untuned), float(acc_replay)) == \
        (acc(tuned), acc(untuned), acc(replay))


CONFORMER = RESULTS / "ablation_conformer"
RNG_FIX = "4d1a00e"  # evaluation stops advancing torch's RNG (ablation_conformer/README.md)


def expand_braces(pattern: str) -> list[str]:
    """`a/{b,c}/d{1,2}` -> the four paths, as the shell expands them."""
    found = re.search(r"\{([^{}]*)\}", pattern)
    if not found:
        return [pattern]
    return [p for alt in found.group(1).split(",")
            for p in expand_braces(pattern[:found.start()] + alt + pattern[found.end():])]


def conformer_provenance() -> dict[str, tuple[str, str, str]]:
    """Run folder -> (commit, threads, RNG handling), from the README's provenance table."""
    named = {}
    for runs, commit, threads, rng in table(CONFORMER / "README.md", "| runs | commit |"):
        for pattern in re.findall(r"`([^`]+)`", runs):
            for path in expand_braces(pattern):
                assert path not in named, f"ablation_conformer/README.md names {path} twice"
                named[path] = (commit.strip("`"), threads, rng)
    return named


def test_the_conformer_readme_says_which_code_made_each_run():
    named = conformer_provenance()
    on_disk = {f"{p.parent.relative_to(CONFORMER).as_posix()}/"
               for p in CONFORMER.rglob("environment.json")}
    assert set(named) == on_disk, f"runs not in the table: {sorted(on_disk - set(named))}; " \
        f"in the table, not on disk: {sorted(set(named) - on_disk)}"
    for path, (commit, threads, _) in named.items():
        env = json.loads((CONFORMER / path / "environment.json").read_text())
        made_at, dirty = env["git_commit"].removesuffix("-dirty"), env["git_commit"].endswith("-dirty")
        assert made_at.startswith(commit.removesuffix("-dirty")) \
            and dirty == commit.endswith("-dirty"), f"{path}: made at {env['git_commit']}"
        assert str(env["torch_threads"]) == threads, f"{path}: {env['torch_threads']} threads"


def _is_ancestor(older: str, newer: str) -> bool | None:
    out = subprocess.run(["git", "merge-base", "--is-ancestor", older, newer], cwd=RESULTS.parent,
                         capture_output=True, check=False)
    return {0: True, 1: False}.get(out.returncode)  # None: no git, or a commit is not here


def test_the_conformer_readmes_rng_column_follows_the_history():
    commits = {(c.removesuffix("-dirty"), rng) for c, _, rng in conformer_provenance().values()}
    if shutil.which("git") is None or _is_ancestor(RNG_FIX, RNG_FIX) is not True:
        pytest.skip("needs the repository's git history")
    for commit, rng in commits:
        expected = f"from `{RNG_FIX}`" if _is_ancestor(RNG_FIX, commit) else f"before `{RNG_FIX}`"
        assert rng == expected, f"{commit}: the README says '{rng}'"


def test_the_conformer_readmes_prose_quotes_the_runs():
    """Its prose numbers: the 15-point ER spread from RNG draws alone, and the quick sweep."""
    text = " ".join((CONFORMER / "README.md").read_text().split())
    first = {s: one(metrics(CONFORMER / f"three_task/{s}/seed0")["score"]["R"][0][0])
             for s in ("naive", "replay")}
    assert f"experience is {first['naive']} % (naive, old RNG handling) and " \
        f"{first['replay']} % (replay" in text
    quick = sorted((RESULTS / "quick" / "seven_task").glob("*/seed*/metrics.json"))
    final = {p: metrics(p.parent)["per_task"] for p in quick}
    er = {p: 100 * t["er"]["accuracy"][-1] for p, t in final.items()}
    wer = {p: 100 * t["asr"]["wer"][-1] for p, t in final.items()}

    def by_strategy(values: dict) -> list[float]:
        groups: dict[str, list[float]] = {}
        for p, v in values.items():
            groups.setdefault(p.parent.parent.name, []).append(v)
        return [sum(v) / len(v) for v in groups.values()]

    strategies, seeds = {p.parent.parent.name for p in quick}, {p.parent.name for p in quick}
    assert f"all {len(strategies)} strategies x {len(seeds)} seeds" in text
    assert f"The sweep took 28 min 13 s wall for {len(quick)} runs" in text
    assert f"final ER accuracy {min(er.values()):.0f}-{max(er.values()):.0f} % per run, " \
        f"{min(by_strategy(er)):.0f}-{max(by_strategy(er)):.0f} % as strategy means" in text
    assert f"up to {max(wer.values()):,.0f} % in one run; strategy means up to " \
        f"~{round(max(by_strategy(wer)), -1):.0f} %" in text

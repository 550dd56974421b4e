"""Finding finished runs on disk and turning each into one row of numbers.

A run folder is one that holds `metrics.json` (written by `benchmark run`). Runs are grouped by
*stream* (plus the profile, when a report mixes profiles) and, inside a stream, by *variant*:
the strategy name plus the key=value overrides that differ between the stream's runs (overrides
shared by every run of the stream, and `threads=`, are stated once in the report instead of in
every row label). Seeds of one variant are aggregated.

Provenance (`mixing`): a report puts numbers side by side and averages seeds, so its runs must
come from one code revision (benchmark.provenance), one thread count (it changes results:
reductions sum in another order), one precision as trained (a CPU without native bf16 trains a
bf16 profile in fp32) and one processor kind (other kernels), and the seeds of a variant from
one train/strategy config.
Anything else is refused unless the caller allows mixing; then the report says what was mixed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from benchmark.errors import UserError
from benchmark.tasks import SUBSETS, TASKS, register_subset

# overrides left out of variant labels (the thread count is checked by `mixing` instead)
NEUTRAL_OVERRIDES = ("threads=",)

def task_kind(subset: str) -> str:
    return TASKS[SUBSETS[subset]].kind if subset in SUBSETS else "classification"


@dataclass
class Run:
    """One run folder: its metrics.json, config.json (if present) and where it was found."""
    path: Path
    metrics: dict
    config: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)
    group: str = ""  # report group (stream, or stream-profile), set by `assign_groups`
    label: str = ""  # variant label (strategy + distinguishing overrides), set by `assign_groups`

    @property
    def stream(self) -> str:
        return self.metrics["stream"]

    @property
    def strategy(self) -> str:
        return self.metrics["strategy"]

    @property
    def seed(self) -> int:
        return int(self.metrics["seed"])

    @property
    def profile(self) -> str:
        return self.metrics.get("profile", "default")

    @property
    def subsets(self) -> list[str]:
        return list(self.metrics["eval_subsets"])

    @property
    def experiences(self) -> list[list[str]]:
        return [list(e) for e in self.metrics["experiences"]]

    @property
    def R(self) -> list[list[float]]:
        return self.metrics["score"]["R"]

    @property
    def revision(self) -> str:
        """The code revision that made the run (benchmark.provenance.revision_label)."""
        from benchmark.provenance import revision_label

        return revision_label(self.environment.get("code"), self.environment.get("git_commit"))

    @property
    def threads(self) -> int | None:
        return self.config.get("train", {}).get("threads")

    @property
    def sessions(self) -> list[dict]:
        """Where the run trained, one entry per session (benchmark.environment.run_sessions);
        runs made before sessions were recorded count as one session."""
        return self.environment.get("sessions") or [self.environment]

    @property
    def precisions_used(self) -> frozenset[str]:
        """The precision(s) the run trained at: two when it was resumed on a CPU without native
        bf16, say. Runs made before the used precision was recorded ran at the requested one
        (they never changed it on a CPU)."""
        used = {s.get("precision_used") for s in self.sessions} - {None}
        return frozenset(used or {str(self.config.get("train", {}).get("precision"))})

    @property
    def processors(self) -> frozenset[str]:
        """The processor kind(s) it trained on: the GPU's name, or the CPU's vector ISA and
        whether it has native bf16 (both change kernels, hence numerics); empty if unrecorded."""
        kinds = set()
        for s in self.sessions:
            if str(s.get("device", "cpu")).startswith("cuda"):
                kinds.add(str(s.get("device_name")))
            elif s.get("cpu_capability"):
                bf16 = "native bf16" if s.get("cpu_native_bf16") else "no native bf16"
                kinds.add(f"{s['cpu_capability']} CPU ({bf16})")
        return frozenset(kinds)

    @cached_property
    def mask_accounting(self) -> dict | None:
        """The run's mask accounting (benchmark.masks.TaskMasks.accounting): its masks.json, else
        computed from model.pt's masks (runs of suite 0.1, when their model.pt is at hand).
        None if the run keeps no masks. Cached: the tables and the overlap plot both read it."""
        masks_json = self.path / "masks.json"
        if masks_json.exists():
            try:
                summary = json.loads(masks_json.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UserError(f"cannot read {masks_json} ({exc}); repair or delete it") from exc
            if isinstance(summary, dict) and summary.get("format") == "mask_accounting/v1":
                return summary
        path = self.path / "model.pt"
        if not path.exists():
            return None
        import torch

        from benchmark.masks import accounting_of_state

        state = torch.load(path, map_location="cpu", weights_only=True)
        return accounting_of_state(state.get("strategy") if isinstance(state, dict) else None,
                                   [SUBSETS.get(s, s) for s in self.subsets])

    def params_used_per_task(self) -> dict[str, float] | None:
        """Parameters the model uses for each subset after the last experience: all of them
        less the prunable weights the subset's task mask leaves out, counted from the run's
        masks; the recorded count for subsets without a mask. (Masked runs made before
        2026-12-03's fix, the reference set at aebfc7e included, recorded a count in
        metrics.json that left out frozen parameters such as Whisper's token table.)"""
        used = self.metrics["params"].get("used_per_task") or []
        if not used:
            return None
        total = self.metrics["params"]["total"]
        per_task = (self.mask_accounting or {}).get("per_task", {})
        out = {}
        for subset, recorded in used[-1].items():
            mask = per_task.get(str(SUBSETS.get(subset, subset)))
            out[subset] = total - (mask["total"] - mask["kept"]) if mask else recorded
        return out

    @property
    def overrides(self) -> frozenset[str]:
        """The run's key=value overrides that may change results (not `threads=`), plus its
        task order when it is not the stream's default."""
        ov = self.config.get("run", {}).get("overrides", []) or []
        out = {o for o in ov if not o.startswith(NEUTRAL_OVERRIDES)}
        order = self.config.get("run", {}).get("order")
        if order:
            out.add("order=" + ",".join(order))
        return frozenset(out)


def find_metrics(paths: list[str | Path]) -> list[Path]:
    """Every metrics.json in or under `paths` (a run folder or any parent), sorted, unique."""
    found: set[Path] = set()
    for p in map(Path, paths):
        if not p.exists():
            raise UserError(f"{p} does not exist; pass a run folder or a folder holding runs")
        if p.is_file():
            if p.name != "metrics.json":
                raise UserError(f"{p} is not a metrics.json or a folder")
            found.add(p.resolve())
        else:
            found.update(q.resolve() for q in p.rglob("metrics.json"))
    return sorted(found)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"unreadable or missing {path.name} ({exc.__class__.__name__})") from exc


def load_runs(paths: list[str | Path]) -> tuple[list[Run], list[tuple[Path, str]]]:
    """Complete runs under `paths`, and (run folder, reason) for every run left out:
    incomplete (still running, stopped, interrupted), unreadable, or a duplicate of a run
    with the same stream, variant and seed (the newest metrics.json is kept)."""
    runs: list[Run] = []
    skipped: list[tuple[Path, str]] = []
    for mp in find_metrics(paths):
        try:
            m = json.loads(mp.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            skipped.append((mp.parent, f"unreadable metrics.json ({exc.__class__.__name__})"))
            continue
        if not m.get("complete"):
            skipped.append((mp.parent, f"incomplete: {m.get('incomplete_reason') or 'unknown'}"))
            continue
        if not m.get("score", {}).get("summary"):
            skipped.append((mp.parent, "no CL summary in metrics.json"))
            continue
        # the config labels the run (variant, group) and the environment dates its code: a run
        # without readable ones is left out and listed, never guessed
        try:
            config, environment = (_read_json(mp.parent / n) for n in ("config.json",
                                                                        "environment.json"))
        except ValueError as exc:
            skipped.append((mp.parent, str(exc)))
            continue
        for name, src in config.get("stream_sources", {}).items():  # user streams' subsets
            if isinstance(src, dict) and src.get("task") in TASKS:
                register_subset(name, src["task"])
        runs.append(Run(mp.parent, m, config, environment))
    assign_groups(runs)
    newest: dict[tuple, Run] = {}
    for r in sorted(runs, key=lambda r: (r.path / "metrics.json").stat().st_mtime):
        key = (r.group, r.label, r.seed)
        if key in newest:
            skipped.append((newest[key].path, (f"duplicate of {r.path} (same {r.group} "
                                              f"{r.label} seed {r.seed}; kept the newer)")))
        newest[key] = r
    kept = sorted(newest.values(), key=lambda r: (r.group, r.label, r.seed))
    return kept, skipped


def assign_groups(runs: list[Run]) -> None:
    """Set `group` and `label` of every run (see the module docstring)."""
    profiles: dict[str, set[str]] = {}
    for r in runs:
        profiles.setdefault(r.stream, set()).add(r.profile)
    for r in runs:
        r.group = r.stream if len(profiles[r.stream]) == 1 else f"{r.stream}-{r.profile}"
    for g in {r.group for r in runs}:
        members = [r for r in runs if r.group == g]
        common = frozenset.intersection(*(r.overrides for r in members))
        for r in members:
            extra = sorted(r.overrides - common)
            r.label = r.strategy + (f" ({', '.join(extra)})" if extra else "")


def mixing(runs: list[Run]) -> list[str]:
    """What differs between runs that a report would aggregate or compare, one line each:
    code revisions, thread counts, precisions used or processor kinds among all `runs` (each
    changes numerics; processors only among runs that record theirs), and train/strategy
    configs among the seeds of one variant. Empty when the runs are of one kind."""
    found = []
    for what, values in (("code revisions", {r.revision for r in runs}),
                         ("thread counts", {str(r.threads) for r in runs}),
                         ("precisions used", {joined(r.precisions_used) for r in runs}),
                         ("processors", {joined(r.processors) for r in runs} - {""})):
        if len(values) > 1:
            found.append(f"{what} {', '.join(sorted(values))}")
    resumed_elsewhere = [str(r.path) for r in runs
                         if len(r.precisions_used) > 1 or len(r.processors) > 1]
    if resumed_elsewhere:
        found.append("runs resumed on another processor or precision: "
                     + ", ".join(resumed_elsewhere))
    variants: dict[tuple, list[Run]] = {}
    for r in runs:
        variants.setdefault((r.group, r.label), []).append(r)
    for (group, label), members in sorted(variants.items()):
        configs = {json.dumps({k: r.config.get(k) for k in ("train", "strategy")},
                              sort_keys=True, default=str) for r in members}
        if len(configs) > 1:
            keys = sorted({f"{section}.{k}" for r in members for section in ("train", "strategy")
                           for k, v in (r.config.get(section) or {}).items()
                           if v != (members[0].config.get(section) or {}).get(k)})
            found.append(f"{group} {label}: seeds with different settings ({', '.join(keys)})")
    return found


def joined(values: frozenset[str]) -> str:
    """Kinds as one label, e.g. "bf16 + fp32"."""
    return " + ".join(sorted(values))


def check_mixing(runs: list[Run], allow_mixed: bool) -> list[str]:
    """`mixing(runs)`, refused unless `allow_mixed` (then returned, for the report to state)."""
    found = mixing(runs)
    if found and not allow_mixed:
        raise UserError(f"these runs were made differently: {'; '.join(found)}; report them "
                        "separately, or pass --allow-mixed (the tables then say so)")
    return found


def recipe(runs: list[Run]) -> str:
    """The training recipe of `runs` in words: batch size, epochs per experience and the
    precision trained in ("16 + 8" where runs differ: a variant may override them). Profiles
    change their defaults (the default's batch went from 16 to 8), so a table states them."""
    def values(key: str) -> str:
        return joined(frozenset(str((r.config.get("train") or {}).get(key, "?")) for r in runs))
    precisions = frozenset().union(*(r.precisions_used for r in runs))
    return (f"batch {values('batch_size')}, {values('epochs')} epoch(s) per experience, "
            f"trained in {joined(precisions)}")


def common_settings(runs: list[Run]) -> str:
    """Profile and overrides shared by all `runs` (one group), as one line."""
    if not runs:
        return ""
    common = sorted(frozenset.intersection(*(r.overrides for r in runs)))
    return f"profile {runs[0].profile}" + (f"; overrides {' '.join(common)}" if common else "")


def extra_state_numbers(extra: dict) -> dict[str, float]:
    """Flatten one experience's `extra_state` into named numbers (units in the names).

    Each strategy reports a dict under its own name; whatever of these fields it has becomes
    '<name> utterances' / '<name> seconds' (a memory of utterances and its audio duration) and
    '<name> bytes' (tensors it holds: EWC/SI/MAS importances and saved weights, LwF's teacher,
    GEM's gradients...). Two special entries: masks report storage bits (1 bit per prunable
    weight per task, see benchmark.masks); joint reports stored_utterances (all past data).
    """
    out: dict[str, float] = {}
    for name, info in extra.items():
        if not isinstance(info, dict):
            continue
        if name == "masks":
            out["mask bits"] = info.get("bits", 0)
        elif name == "stored_utterances":
            out["stored utterances"] = info.get("utterances", 0)
        else:
            for field in ("utterances", "seconds", "bytes"):
                if field in info:
                    out[f"{name} {field}"] = info[field]
    return out


# A memory of utterances is counted as the cached fbank features it needs: 100 frames/s x 80 mels
# x 2 bytes (float16, as cached by benchmark.data.features). Labels are not counted (a few bytes
# per utterance).
REPLAY_BYTES_PER_SECOND = 100 * 80 * 2
# strategies whose `bytes` already include their utterance memory (gem keeps it as padded
# tensors and counts them), so its seconds must not be counted a second time
BYTES_INCLUDE_MEMORY = {"gem"}


def extra_memory_bytes(numbers: dict[str, float]) -> float | None:
    """Extra memory a strategy keeps besides the model, in bytes: every '<name> bytes', masks
    (bits / 8) and utterance memories (seconds, see REPLAY_BYTES_PER_SECOND); 0 for none. None
    for joint (keeps all past data; its size is not recorded in bytes)."""
    if "stored utterances" in numbers:
        return None
    total = numbers.get("mask bits", 0.0) / 8
    for key, value in numbers.items():
        name, _, field = key.rpartition(" ")
        if field == "bytes":
            total += value
        elif field == "seconds" and name not in BYTES_INCLUDE_MEMORY:
            total += value * REPLAY_BYTES_PER_SECOND
    return total

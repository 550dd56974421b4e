"""A run's folder: where it lives, who may write it, and what state it is in."""
from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.errors import UserError
from benchmark.io import atomic_write_text


@dataclass
class RunRequest:
    stream: str
    strategy: str
    seed: int = 0
    profile: str = "default"
    device: str = "cpu"
    out: str | None = None
    corpus: str | None = None
    order: list[str] | None = None
    overrides: list[str] = field(default_factory=list)
    overwrite: bool = False
    resume: bool = False
    progress: bool = True
    skip_bad: bool = False  # user streams: skip unreadable audio files (else stop, naming one)
    allow_dirty: bool = False  # write into the reference results/ from a tree with changes
    loggers: list[str] = field(default_factory=list)  # tensorboard | csv | wandb (runner.loggers)


def run_dir_for(req: RunRequest) -> Path:
    root = Path(req.out) if req.out else Path("results") if req.profile == "default" \
        else Path("results") / req.profile
    return root / Path(req.stream).stem / req.strategy / f"seed{req.seed}"


def read_metrics(run_dir: Path) -> dict | None:
    """metrics.json, or None when there is none. An unreadable one is an error that says so
    (it is written atomically, so it is never torn by a crash of ours)."""
    path = Path(run_dir) / "metrics.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path} ({exc}); repair or delete it, or pass --overwrite "
                        "to start the run again") from exc


def is_complete(run_dir: Path) -> bool:
    return bool((read_metrics(run_dir) or {}).get("complete"))


def check_can_start(run_dir: Path, req: RunRequest) -> None:
    """Refuse to clobber a finished or unfinished run unless asked; check the folder is
    writable. A complete run with --resume is not an error (the caller finishes it)."""
    if not req.overwrite:
        if is_complete(run_dir):
            if not req.resume:
                raise UserError(f"{run_dir} already holds a complete run; pass --overwrite to "
                                "replace it")
            return
        ckpt = run_dir / "checkpoint.pt"
        if (run_dir / "metrics.json").exists() and not ckpt.exists():
            # only strategies that can resume leave a checkpoint, once an experience finished
            raise UserError(f"{run_dir} holds an unfinished run with no checkpoint to resume "
                            "from (its strategy cannot resume, or it stopped in its first "
                            "experience); pass --overwrite to start again")
        if ckpt.exists() and not req.resume:
            raise UserError(f"{run_dir} holds an unfinished run; pass --resume to continue it "
                            "or --overwrite to start again")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / ".write_test").touch()
        (run_dir / ".write_test").unlink()
    except OSError as exc:
        raise UserError(f"cannot write to {run_dir}; choose another --out") from exc


class RunLock:
    """One writer per run folder: an exclusive `flock` on `.lock`. The kernel releases it when
    its holder dies (even by SIGKILL), so there is no stale lock to take over and no race
    between two processes deciding that one is stale."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / ".lock"
        self.fd: int | None = None

    def __enter__(self):
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise UserError(f"another run (pid {owner}) is writing to {self.path.parent}; "
                            "wait for it or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())  # for the message above; the lock is the flock
        self.fd = fd
        return self

    def __exit__(self, *exc):
        # the file stays (unlinking it would let a waiter lock a file nobody else sees); the
        # pid goes, so that `sweep --status` does not take a finished holder for a live one
        os.ftruncate(self.fd, 0)
        os.close(self.fd)
        self.fd = None


def read_evals(path: Path, completed: int) -> list[str]:
    """evals.jsonl lines of the experiences before `completed`. A torn last line (a crash while
    appending) is dropped; an unreadable line before it is an error."""
    if not path.exists():
        return []
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    keep = []
    for k, line in enumerate(lines):
        try:
            row = json.loads(line)
        except ValueError as exc:
            if k == len(lines) - 1:
                break  # torn by a crash mid-append: that experience is redone anyway
            raise UserError(f"{path} line {k + 1} is not JSON; repair it or rerun with "
                            "--overwrite") from exc
        if row["experience"] < completed:
            keep.append(line)
    return keep


def truncate_evals(path: Path, completed: int) -> None:
    """Drop the evaluation lines of experiences after the checkpoint (a crash may have left some)."""
    if path.exists():
        atomic_write_text(path, "".join(ln + "\n" for ln in read_evals(path, completed)))

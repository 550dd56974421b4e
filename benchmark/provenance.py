"""Which code made a run, and the rules that keep reference results from one code state.

A run records its code revision (`environment.json` -> "code"): the git commit, whether the
work tree had uncommitted changes to tracked files, and a sha256 over the suite's own source
(every .py file of `benchmark/` and `strategies/`, and pyproject.toml), which also identifies
code outside git (an installed copy, a patched tree). The resume fingerprint includes that hash,
so a checkpoint is never continued by other code.

Reference runs are the ones written into the repository's own `results/` folder: they must come
from a clean tree, unless the user passes --allow-dirty (then the run records it).
"""
from __future__ import annotations

import functools
import hashlib
import subprocess
from pathlib import Path

from benchmark import __version__
from benchmark.errors import UserError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the checkout (or site-packages)
SOURCE_DIRS = ("benchmark", "strategies")


@functools.cache
def source_sha256() -> str:
    """sha256 over (relative path, bytes) of the suite's .py files and pyproject.toml, sorted."""
    h = hashlib.sha256()
    files = sorted(p for d in SOURCE_DIRS for p in (PACKAGE_ROOT / d).rglob("*.py"))
    if (PACKAGE_ROOT / "pyproject.toml").is_file():
        files.append(PACKAGE_ROOT / "pyproject.toml")
    for p in files:
        h.update(p.relative_to(PACKAGE_ROOT).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, cwd=PACKAGE_ROOT,
                             timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def code_revision() -> dict:
    """{"commit": sha or None, "dirty": bool or None, "source_sha256": hex, "version": str}.

    "version" is the imported code's `benchmark.__version__`. `environment.json`'s
    packages["slu-cl-benchmark"] is the installed distribution's, which differs when the code
    runs from another tree (a reference worktree on PYTHONPATH beside main's venv)."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status),
            "source_sha256": source_sha256(), "version": __version__}


def revision_label(code: dict | None, git_commit: str | None = None) -> str:
    """Short, comparable name of a recorded revision: 'abc1234' (+ '-dirty <hash>' when the tree
    was dirty, since two dirty runs of one commit may differ). Runs made before revisions were
    recorded are named by their environment's git_commit."""
    if code:
        name = (code.get("commit") or "no-git")[:9]
        if code.get("dirty") or not code.get("commit"):
            name += f"-dirty:{code['source_sha256'][:8]}"
        return name
    return (git_commit or "unknown")[:9] + ("-dirty" if git_commit and "dirty" in git_commit
                                            else "")


def is_reference_output(path: str | Path) -> bool:
    """True when `path` lies inside the checkout's own `results/` folder."""
    results = (PACKAGE_ROOT / "results").resolve()
    try:
        Path(path).resolve().relative_to(results)
    except ValueError:
        return False
    return (PACKAGE_ROOT / ".git").exists()


def check_reference_tree(out: str | Path, allow_dirty: bool) -> None:
    """Refuse to write a reference run from a tree with uncommitted changes."""
    if allow_dirty or not is_reference_output(out):
        return
    if code_revision()["dirty"]:
        raise UserError(f"{out} is in the reference results/ and the work tree has uncommitted "
                        "changes; commit them, write elsewhere with --out, or pass --allow-dirty")

"""A strategy shipped by another package, found through the `slu_benchmark.strategies` entry
point: a tiny real package is built and installed by pip into a temporary folder, and
`benchmark list strategies`, run in a fresh interpreter with that folder on PYTHONPATH, shows it.

The package builds with a 20-line PEP 517 backend of its own (`backend-path`): the venv's
setuptools (65.5) cannot build wheels without the `wheel` package, which the suite does not pin,
and the test must run offline. pip still does the real work: it calls the backend, receives a
wheel whose entry_points.txt comes from the `[project.entry-points]` table, and installs it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[project]
name = "mystrat-pkg"
version = "0.1.0"

[project.entry-points."slu_benchmark.strategies"]
mystrat = "mystrat_pkg.strategy"
"""

# A minimal wheel builder: the package's .py files, METADATA, WHEEL, entry_points.txt (from
# pyproject's [project.entry-points]) and RECORD with sha256 hashes, as the wheel spec requires.
BACKEND = """\
import base64, hashlib, tomllib, zipfile
from pathlib import Path


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    proj = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    name, version = proj["name"].replace("-", "_"), proj["version"]
    info = f"{name}-{version}.dist-info"
    files = {p.as_posix(): p.read_bytes() for p in sorted(Path(name).rglob("*.py"))}
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\\nName: {proj['name']}\\n"
                                 f"Version: {version}\\n").encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\\nGenerator: test-backend\\n"
                              b"Root-Is-Purelib: true\\nTag: py3-none-any\\n")
    files[f"{info}/entry_points.txt"] = "".join(
        f"[{group}]\\n" + "".join(f"{k} = {v}\\n" for k, v in eps.items()) + "\\n"
        for group, eps in proj["entry-points"].items()).encode()
    digest = {n: base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode()
              for n, d in files.items()}
    record = [f"{n},sha256={digest[n]},{len(d)}" for n, d in files.items()]
    files[f"{info}/RECORD"] = "\\n".join(record + [f"{info}/RECORD,,", ""]).encode()
    wheel = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(Path(wheel_directory) / wheel, "w") as z:
        for n, d in files.items():
            z.writestr(n, d)
    return wheel
"""

STRATEGY = '''\
"""mystrat: a third-party strategy (does nothing beyond the template's training)."""
from dataclasses import dataclass, field

from strategies import StrategyContext, StrategyParts, register_strategy


@dataclass
class MyStratConfig:
    strength: float = field(default=0.25, metadata={"help": "how hard to hold on"})
    memory: int = field(default=7, metadata={"help": "utterances kept"})


@register_strategy("mystrat", "a strategy shipped by another package", MyStratConfig)
def build(cfg: MyStratConfig, ctx: StrategyContext) -> StrategyParts:
    return StrategyParts()
'''


def test_entry_point_strategy_is_listed(tmp_path):
    src = tmp_path / "src"
    (src / "mystrat_pkg").mkdir(parents=True)
    (src / "pyproject.toml").write_text(PYPROJECT)
    (src / "backend.py").write_text(BACKEND)
    (src / "mystrat_pkg" / "__init__.py").write_text("")
    (src / "mystrat_pkg" / "strategy.py").write_text(STRATEGY)
    site = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "--target", str(site), str(src)],
        check=False, capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    eps = (site / "mystrat_pkg-0.1.0.dist-info" / "entry_points.txt").read_text()
    assert "mystrat = mystrat_pkg.strategy" in eps

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(site), str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    out = subprocess.run([sys.executable, "-m", "benchmark.cli", "list", "strategies"],
                         cwd=tmp_path, env=env, check=False, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "could not load strategy entry point" not in out.stderr, out.stderr
    lines = out.stdout.splitlines()
    head = [ln for ln in lines if ln.startswith("mystrat ")]
    assert head and "a strategy shipped by another package" in head[0], out.stdout
    block = lines[lines.index(head[0]) + 1:][:2]
    assert "strength=0.25 (float) how hard to hold on" in block[0]
    assert "memory=7 (int) utterances kept" in block[1]
    assert any(ln.startswith("naive ") for ln in lines)  # the built-in ones are still there

"""The version is written in four places; they must tell one story. pyproject.toml and
`benchmark.__version__` are the package's version. CHANGELOG.md's first heading is the release
being prepared ("X (unreleased)", while the package is X.devN) or the one just made (the package
is X). CITATION.cff cites the latest release, the first heading not marked unreleased."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import benchmark

ROOT = Path(__file__).resolve().parents[1]


def changelog_headings() -> list[str]:
    text = (ROOT / "CHANGELOG.md").read_text()
    return re.findall(r"^## (.+)$", text, flags=re.MULTILINE)


def test_package_versions_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert benchmark.__version__ == project["version"], \
        "benchmark/__init__.py and pyproject.toml name different versions"


def test_changelog_heads_with_the_package_version():
    version = re.fullmatch(r"(\d+\.\d+\.\d+)(\.dev\d+)?", benchmark.__version__)
    assert version, f"{benchmark.__version__} is not X.Y.Z or X.Y.Z.devN"
    release, dev = version.groups()
    first = changelog_headings()[0]
    assert first == (f"{release} (unreleased)" if dev else release), \
        f"CHANGELOG.md's first heading '{first}' does not match version {benchmark.__version__}"


def test_citation_cites_the_latest_release():
    released = [h for h in changelog_headings() if not h.endswith("(unreleased)")]
    citation = (ROOT / "CITATION.cff").read_text()
    cited = re.search(r"^version: (.+)$", citation, flags=re.MULTILINE)
    assert cited and released and cited.group(1) == released[0], \
        f"CITATION.cff cites {cited and cited.group(1)}, the latest release is {released[:1]}"

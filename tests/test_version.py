"""The version is written in four places; they must tell one story. pyproject.toml and
`benchmark.__version__` are the package's version: the latest release (CHANGELOG.md's first
heading not marked "(unreleased)", e.g. "## 0.2.0 (2026-12-08)") or a development version of
the release being prepared (X.devN under "## X (unreleased)"). CITATION.cff cites the latest
release.

The package stayed at 0.1.0 while 0.2.0 was prepared: the reference set's runs record the
installed package's version (`environment.json` `packages`), and a reinstall partway through
that set would have given runs of one commit two version strings. 0.2.0 came with that set."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import benchmark

ROOT = Path(__file__).resolve().parents[1]


def changelog_headings() -> list[str]:
    text = (ROOT / "CHANGELOG.md").read_text()
    return re.findall(r"^## (.+)$", text, flags=re.MULTILINE)


def latest_release() -> str:
    released = [h for h in changelog_headings() if not h.endswith("(unreleased)")]
    assert released, "CHANGELOG.md names no release"
    return released[0].split(" (")[0]  # "0.2.0 (2026-12-08)": the version, not its date


def test_package_versions_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert benchmark.__version__ == project["version"], \
        "benchmark/__init__.py and pyproject.toml name different versions"


def test_the_package_version_is_in_the_changelog():
    version = re.fullmatch(r"(\d+\.\d+\.\d+)(\.dev\d+)?", benchmark.__version__)
    assert version, f"{benchmark.__version__} is not X.Y.Z or X.Y.Z.devN"
    release, dev = version.groups()
    headings = changelog_headings()
    if dev:
        expected = f"{release} (unreleased)"
        assert headings[0] == expected, f"version {benchmark.__version__}: CHANGELOG.md's " \
            f"first heading is '{headings[0]}', not '{expected}'"
    else:
        assert release == latest_release(), f"version {release}: the latest release in " \
            f"CHANGELOG.md is {latest_release()}"


def test_citation_cites_the_latest_release():
    citation = (ROOT / "CITATION.cff").read_text()
    cited = re.search(r"^version: (.+)$", citation, flags=re.MULTILINE)
    assert cited and cited.group(1) == latest_release(), \
        f"CITATION.cff cites {cited and cited.group(1)}, the latest release is {latest_release()}"

"""The docs cannot drift from the code they show: the strategy walkthrough's listing is the
shipped file, and every relative link in the README, docs/ and the READMEs of results/ (whose
folders move when a reference set is replaced) points at a file that exists."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_walkthrough_listing_is_strategies_mas_py():
    doc = (ROOT / "docs" / "adding-a-strategy.md").read_text()
    listing = doc.split("`strategies/mas.py`, in full, as it ships:\n\n```python\n", 1)[1]
    listing = listing.split("```", 1)[0]
    assert listing == (ROOT / "strategies" / "mas.py").read_text(), \
        "docs/adding-a-strategy.md shows an old strategies/mas.py: paste the file in"


def test_relative_links_resolve():
    pages = [ROOT / "README.md", *(ROOT / "results").rglob("README.md"),
             *(ROOT / "docs").glob("*.md")]
    broken = []
    for page in pages:
        for target in LINK.findall(page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, f"broken links: {broken}"

"""docs/seed-rules.md names, for every rule of both source pages, the tests that pin it:
each test it names exists (a renamed or deleted test fails here, not silently)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "seed-rules.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`")


def references() -> list[tuple[str, str | None]]:
    """Return (file, test or None) for each reference; a bare ``::test`` is in the file
    named last in the same table cell."""
    found = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        for cell in line.split("|"):
            current = None
            for path, name in REFERENCE.findall(cell):
                if path:
                    current = path
                if current and (path or name):
                    found.append((current, name or None))
    return found


def test_every_test_the_rules_document_names_exists():
    refs = references()
    assert len(refs) > 80
    missing = []
    for path, name in refs:
        source = ROOT / path
        if not source.is_file():
            missing.append(path)
        elif name and not re.search(rf"^def {name}\(", source.read_text(), re.M):
            missing.append(f"{path}::{name}")
    assert missing == []


def test_both_pages_are_quoted():
    text = DOC.read_text(encoding="utf-8")
    seeds = ROOT.parent / "shared" / "seeds"
    pages = re.sub(
        r"\s+", " ", " ".join(p.read_text(encoding="utf-8") for p in seeds.glob("*.txt"))
    )
    for quote in (
        "Text only, voice calls are not included.",
        "Critical errors: Within an hour during business hours, within 3 hours on weekends",
        "Emails will be answered within one working day or 8 business hours.",
        "Our legal team is only available by email.",
    ):
        assert quote in text
        assert quote.split(":")[-1].strip(" .") in pages

"""The user documentation: README size and first commands, the sections others fill in, no absolute paths."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_readme_is_short_and_starts_with_the_two_commands() -> None:
    text = (REPO / "README.md").read_text()
    assert len(text.encode()) < 10_000
    commands = re.findall(r"^(make \w[\w-]*)", text, flags=re.M)
    assert commands[:2] == ["make demo", "make test"]
    for section in (
        "## Install",
        "## Fitting your own RDF",
        "## Quick start",
        "## Input formats and units",
        "## The shipped model",
        "## Layout",
    ):
        assert section in text, section


def test_model_card_and_changelog_keep_the_figures() -> None:
    card = (REPO / "docs" / "model.md").read_text()
    log = (REPO / "CHANGELOG.md").read_text()
    # the accuracy figures of the shipped model (metrics.json: test 0.091 / 1.549 %, transfer 0.230 / 3.852 %)
    for figure in ("0.09 %", "1.55 %", "0.23 %", "3.85 %", "3.33 %", "3.06 %"):
        assert figure in card and figure in log, figure
    for heading in ("## Limits", "## How to regenerate", "## Data, training and accuracy"):
        assert heading in card


def test_no_absolute_paths_outside_the_repository() -> None:
    files = [*REPO.glob("*.md"), *(REPO / "docs").glob("*.md"), *(REPO / "project").rglob("*.py")]
    for path in files:
        assert "/work/" not in path.read_text(), path

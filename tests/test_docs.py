"""The user documentation: README size and first commands, the sections others fill in, no absolute paths."""

from __future__ import annotations

import json
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


def test_model_card_states_the_shipped_models_own_figures() -> None:
    """The model card quotes the held-out and transfer MAPE of the shipped model's own evaluation (metrics.json)."""
    card = (REPO / "docs" / "model.md").read_text()
    metrics = json.loads((REPO / "project/data/models/lj_inverse_v3/evaluation/metrics.json").read_text())
    for split in ("test", "transfer"):
        nn = metrics[split]["nn"]
        for key in ("sigma_mape_pct", "epsilon_mape_pct"):
            figure = f"{nn[key]:.2f} %"
            assert figure in card, (split, key, figure)
    for heading in ("## Limits", "## How to regenerate", "## Data, training and accuracy"):
        assert heading in card


def test_no_absolute_paths_outside_the_repository() -> None:
    files = [*REPO.glob("*.md"), *(REPO / "docs").glob("*.md"), *(REPO / "project").rglob("*.py")]
    for path in files:
        assert "/work/" not in path.read_text(), path

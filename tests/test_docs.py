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
    """The model card quotes the held-out MAPE of the shipped model's own evaluation (metrics.json) and its one-shot
    figures on the wide held-out sets (meta.json heldout_oneshot)."""
    card = (REPO / "docs" / "model.md").read_text()
    model = REPO / "project/data/models/lj_inverse_v4"
    nn = json.loads((model / "evaluation/metrics.json").read_text())["test"]["nn"]
    for key in ("sigma_mape_pct", "epsilon_mape_pct"):
        assert f"{nn[key]:.2f} %" in card or f"{nn[key]:.3f} %" in card, (key, nn[key])
    for name, acc in json.loads((model / "meta.json").read_text())["heldout_oneshot"].items():
        assert f"**{acc['epsilon_mape_pct']:.2f}**" in card, (name, acc["epsilon_mape_pct"])
    for heading in ("## Limits", "## How to regenerate", "## Data, training and accuracy"):
        assert heading in card


def test_no_absolute_paths_outside_the_repository() -> None:
    files = [*REPO.glob("*.md"), *(REPO / "docs").glob("*.md"), *(REPO / "project").rglob("*.py")]
    for path in files:
        assert "/work/" not in path.read_text(), path

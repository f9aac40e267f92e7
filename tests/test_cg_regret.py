"""The regret table (``lj-inverse cg regret``, :mod:`project.cg.regret`): one row per molecule x bead or method x
metric, rebuilt from the shipped ``cg optimum`` / ``cg baselines`` outputs of docs/results/cg."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from project.cg.regret import COLUMNS, regret_csv, regret_rows

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "results" / "cg"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return regret_csv([RESULTS, RESULTS / "new_families"])


def test_shipped_regret_csv_is_what_the_shipped_outputs_give(table):
    """docs/results/cg/regret.csv equals the table rebuilt from optimum/ (no stale rows)."""
    shipped = pd.read_csv(RESULTS / "regret.csv")
    assert list(shipped.columns) == list(COLUMNS)
    assert len(shipped) == len(table)
    assert list(shipped["row"]) == list(table["row"])
    np.testing.assert_allclose(shipped["regret"].to_numpy(float), table["regret"].to_numpy(float), rtol=1e-12)


def test_rows_by_hand(table):
    """Numbers of docs/coarse_graining.md's regret table and the optima's json files."""
    o2 = table[
        (table.molecule == "O2") & (table.row == "refined_D") & (table.metric == "D") & (table.kind == "one-shot")
    ]
    o2 = o2.iloc[0]
    # docs: O2 D-refined bead on D 1.000 [0.976, 1.025]
    assert o2.regret == pytest.approx(1.000, abs=5e-4)
    assert (o2.regret_lo95, o2.regret_hi95) == pytest.approx((0.976, 1.025), abs=5e-4)
    opt = json.loads((RESULTS / "optimum" / "optimum_O2_D.json").read_text())
    assert o2.value == pytest.approx(o2.regret * opt["value"], rel=1e-12)
    assert o2.unit == "nm" and o2.n_fit == 0 and bool(o2.held_out)
    # the optimum's own row: regret 1, its search's runs, its convergence on every row of the molecule
    co2 = table[table.molecule == "CO2"]
    o = co2[co2.row == "optimum_D"].iloc[0]
    assert o.regret == 1.0 and o.n_fit == 126 and not bool(o.converged)
    assert not co2[co2.metric == "D"]["optimum_converged"].astype(bool).any()
    # repeated simplex on N2: D regret 1.024 [1.001, 1.048], N_fit to regret <= 1.05: 193 (docs)
    n2 = table[(table.molecule == "N2") & (table.row == "simplex_x3") & (table.metric == "D")].iloc[0]
    assert (n2.regret, n2.regret_lo95, n2.regret_hi95) == pytest.approx((1.024, 1.001, 1.048), abs=5e-4)
    assert n2["n_fit_to_regret_1.05"] == pytest.approx(193) and n2.repeats == 3
    # C2H6's D-refined bead: out of domain as its `cg fit` recorded (2.3 spacings beyond the hull); the KL bead in
    ethane = table[(table.molecule == "C2H6") & (table.metric == "D") & (table.kind == "refined")].set_index("row")
    assert not bool(ethane.loc["refined_D", "in_domain"]) and bool(ethane.loc["refined_KL", "in_domain"])
    # the IBI table is no bead: no state, no domain
    ibi = table[(table.molecule == "CO") & (table.row == "ibi")].iloc[0]
    assert pd.isna(ibi.sigma_nm) and pd.isna(ibi.in_domain)


def test_beads_of_the_shipped_forward_model_are_rows_of_their_own(table):
    """benchmarks/bench_cg_regret.py's refined beads (lj_forward_v3) sit beside the comparison's, not over them.

    Reference: docs/results/cg/new_families/optimum/refined_lj_forward_v3.csv: C2H6's KL-refined bead, KL regret
    1.049 [1.014, 1.085] (the shipped cg fit bead: 1.121 [1.084, 1.159])."""
    e = table[(table.molecule == "C2H6") & (table.row == "refined_KL") & (table.metric == "KL")].set_index("kind")
    assert (e.loc["one-shot (lj_forward_v3)", "regret"], e.loc["refined", "regret"]) == pytest.approx(
        (1.049, 1.121), abs=5e-4
    )
    assert e.loc["one-shot (lj_forward_v3)", "regret_hi95"] == pytest.approx(1.085, abs=5e-4)
    assert (table.kind == "one-shot (lj_forward_v3)").sum() == 2 * 16  # 8 molecules x 2 beads x 2 metrics


def test_folder_without_optimum_gives_an_empty_table(tmp_path):
    assert regret_rows(tmp_path).empty and list(regret_rows(tmp_path).columns) == list(COLUMNS)


def test_cli_refuses_a_folder_without_optimum_and_writes_nothing(tmp_path):
    out = tmp_path / "regret.csv"
    p = subprocess.run(
        [sys.executable, "-m", "project", "cg", "regret", "--results", str(tmp_path), "--out", str(out)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert p.returncode == 2 and "--results" in p.stderr and "no optimum folder" in p.stderr
    assert not out.exists()

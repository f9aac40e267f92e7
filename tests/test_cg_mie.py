"""Mie lambda_r-6 beads of ``cg fit --potential mie`` and their check runs (LAMMPS).

References: the shipped CH4 target of the CG comparison (docs/results/cg: COM RDF of OPLS-AA methane at 111.67 K);
the Mie bead's search starts at the LJ bead with lambda_r = 12, so its objective can only be lower than the Mie
model's value there; SAFT-VR Mie (teqp) for the bead's pressure; the Mie engine's state point and engine choice.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from project.errors import ProjectError

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results" / "cg"


@functools.lru_cache(maxsize=1)
def _ch4():
    from project.cg.optimum import shipped_target

    return shipped_target(RESULTS, "CH4")


def test_mie_beads_of_the_ch4_target_improve_on_their_lj_start():
    from project.cg.beads import fit_beads
    from project.cg.objective import SurrogateObjective
    from project.eos import saft_vr_mie_energy_pressure
    from project.model.cache import shipped_mie_forward
    from project.units import KB

    t = _ch4()
    res = fit_beads(t.r, t.g, t.g_err, t.T, t.rho, ("total-deviation", "kl"), None, None, "CH4", potential="mie")
    assert set(res["mie"]) == {"total-deviation", "kl"}
    fw = shipped_mie_forward()
    for obj, bead in res["mie"].items():
        lj = res["refined"][obj]
        at12 = SurrogateObjective(t.r, t.g, t.T, t.rho, obj, lj["sigma"], forward=fw)(lj["sigma"], lj["epsilon"], 12.0)
        assert bead["value"] <= at12 + 1e-12
        lo, hi = fw.lambda_range
        assert lo <= bead["lambda_r"] <= hi
        t_star, rho_star = KB * t.T / bead["epsilon"], t.rho * bead["sigma"] ** 3
        u, p = saft_vr_mie_energy_pressure(t_star, rho_star, bead["lambda_r"])
        assert bead["eos"]["P_bar"] == pytest.approx(p * bead["epsilon"] / bead["sigma"] ** 3 * 16.6054, rel=1e-4)
        assert bead["eos"]["U_per_molecule_kJ_mol"] == pytest.approx(u * bead["epsilon"], rel=1e-9)
        assert bead["predicted"]["total_deviation_nm"] > 0 and np.isfinite(bead["predicted"]["kl_divergence"])


def test_pressure_constrained_mie_bead_of_the_ch4_target():
    """The pressure-constrained Mie bead of CH4 at its all-atom pressure (-394 bar, comparison.csv): SAFT-VR Mie (teqp)
    gives that pressure at the bead within 0.1 bar; its predicted D is no worse than the best point of its search grid
    (9 sigma x 7 exponents along the constraint, recomputed here) and below the simulated D of the LJ
    pressure-constrained bead (0.0289 nm, comparison.csv), which a softer wall can beat at the same pressure."""
    import pandas as pd

    from project.cg.objective import SurrogateObjective, eos_thermo, epsilon_at_pressure, refine_mie_with_pressure
    from project.model.cache import shipped_mie_forward

    t = _ch4()
    comp = pd.read_csv(RESULTS / "comparison.csv")
    lj = comp[(comp.molecule == "CH4") & (comp.row == "pressure")].iloc[0]
    p_aa = float(lj.P_aa_bar)
    bead = refine_mie_with_pressure(t.r, t.g, t.T, t.rho, (lj.sigma_nm, lj.epsilon_kJ_mol), p_aa, "total-deviation")
    assert bead["eos"]["P_bar"] == pytest.approx(p_aa, abs=0.1)
    assert bead["pressure_bar"] == p_aa and 8.0 <= bead["lambda_r"] <= 32.0
    fw = shipped_mie_forward()
    f = SurrogateObjective(t.r, t.g, t.T, t.rho, "total-deviation", float(lj.sigma_nm), forward=fw)
    grid = []
    for s in np.linspace(*f.sigma_bounds, 9):
        for lam in np.geomspace(fw.lambda_range[0] * 1.001, fw.lambda_range[1] / 1.001, 7):
            eps = epsilon_at_pressure(s, t.T, t.rho, p_aa, lam, f.t_star_range)
            if eps is not None:
                grid.append(f(s, eps, lam))
    assert bead["value"] <= min(grid) + 1e-12
    assert eos_thermo(bead["sigma"], bead["epsilon"], t.T, t.rho, bead["lambda_r"])["P_bar"] == pytest.approx(
        p_aa, abs=0.1
    )
    assert bead["value"] < float(lj.total_deviation_nm)
    with pytest.raises(ProjectError, match="pressure: got nan"):
        refine_mie_with_pressure(t.r, t.g, t.T, t.rho, (0.36, 1.2), float("nan"))


def test_mie_refinement_refuses_an_lj_model_and_bad_potential():
    from project.cg.beads import fit_beads
    from project.cg.objective import refine_mie_for_objective
    from project.model.forward import ForwardModel

    t = _ch4()
    with pytest.raises(ProjectError, match="needs a Mie forward model"):
        refine_mie_for_objective(t.r, t.g, t.T, t.rho, (0.37, 0.7), forward=ForwardModel.load())
    with pytest.raises(ProjectError, match="potential: got 'morse'; allowed: lj, mie"):
        fit_beads(t.r, t.g, t.g_err, t.T, t.rho, ("kl",), None, None, "CH4", potential="morse")


def test_mie_bead_state_point_runs_with_lammps_at_the_mie_time_step():
    from project.cg.lj import CGSettings, cg_statepoint

    sp = cg_statepoint(0.364, 0.93, 111.67, 15.854, 16.04, CGSettings(), lambda_r=9.5)
    assert sp["lambda_r"] == 9.5 and sp["dt"] == 0.002
    lj = cg_statepoint(0.364, 0.93, 111.67, 15.854, 16.04, CGSettings())
    assert "lambda_r" not in lj and lj["dt"] == 0.004
    hot = cg_statepoint(0.364, 0.0371, 111.67, 15.854, 16.04, CGSettings())  # T* 25
    assert hot["dt"] == pytest.approx(0.004 * (10 / 25.03) ** 0.5, rel=1e-3)


@pytest.mark.lammps
def test_check_run_of_a_mie_bead(tmp_path):
    """One check seed of a Mie 9.5-6 CH4 bead, short (N = 300, 10 + 30 tau): LAMMPS ran it, its state point keeps
    lambda_r, and its pressure agrees with SAFT-VR Mie within 5 % of |P| + 100 bar (SAFT-VR Mie's accuracy in the
    dense liquid, docs/mie.md, and a short run's noise)."""
    import json

    from project.cg.compare import check_lj
    from project.cg.lj import CGSettings
    from project.cg.objective import eos_thermo

    t = _ch4()
    st = CGSettings(N=300, t_equil=10.0, t_prod=30.0, threads=1)
    runs, note = check_lj(t, st, tmp_path, 0.364, 0.93, seeds=1, lambda_r=9.5)
    assert note is None and len(runs) == 1
    summ = json.loads((Path(runs[0]["workdir"]) / "simulate.json").read_text())
    sp = json.loads((Path(runs[0]["workdir"]) / "statepoint.json").read_text())
    assert summ["engine"] == "lammps" and sp["lambda_r"] == 9.5
    p_eos = eos_thermo(0.364, 0.93, t.T, t.rho, lambda_r=9.5)["P_bar"]
    assert abs(runs[0]["P"] - p_eos) <= 0.05 * abs(p_eos) + 100.0
    assert 0 < runs[0]["D"] < 0.05


def test_gap_closed_by_hand():
    from project.cg.mie_compare import gap_closed

    f, se = gap_closed(0.020, 0.0002, 0.016, 0.0003, 0.010, 0.0002)
    assert f == pytest.approx(0.4, rel=1e-12)
    assert se == pytest.approx(np.sqrt(0.0003**2 + (0.6 * 0.0002) ** 2 + (0.4 * 0.0002) ** 2) / 0.010, rel=1e-12)
    assert np.isnan(gap_closed(0.010, 0.0, 0.009, 0.0, 0.011, 0.0)[0])


@pytest.mark.parametrize("molecule, tc_k", [("CH4", 190.564), ("N2", 126.192), ("CO", 132.86)])
def test_published_mm_mie_models_give_the_real_critical_temperature(molecule, tc_k):
    """The M&M corresponding-states correlation (Mejia et al. 2014) makes SAFT-VR Mie reproduce the real critical
    temperature: the shipped M&M beads (PUBLISHED_MIE) through teqp's SAFT-VR Mie give T_c within 0.3 % of the
    reference equations of state (NIST Webbook: methane 190.564 K, nitrogen 126.192 K, carbon monoxide 132.86 K),
    a check of the transcribed sigma-independent numbers epsilon / k_B and lambda_r."""
    from project.cg.mie_compare import PUBLISHED_MIE
    from project.eos import mie_critical_point

    (row,) = [r for r in PUBLISHED_MIE[molecule] if r[0].startswith("M&M")]
    _, _, eps_k, lam = row
    assert mie_critical_point(lam)[0] * eps_k == pytest.approx(tc_k, rel=3e-3)

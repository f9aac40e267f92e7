"""The simulated optimum of the CG comparison and the regret of a bead.

References: an analytic quadratic (its minimum by hand); the t-interval of a log-ratio by hand (scipy's t quantile);
and a simulated LJ target (GROMACS, known sigma and epsilon): the search through real CG runs must end at the
target's own parameters, within one grid step, with the optimum's D at the noise of two runs of one system.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from project.cg.optimum import _surface_minimum, regret, simulated_optimum
from project.errors import ProjectError


def test_surface_minimum_of_an_exact_quadratic():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(12, 2))
    x0 = np.array([0.2, -0.3])
    H = np.array([[4.0, 1.0], [1.0, 2.0]])
    y = 0.7 + 0.5 * np.einsum("ni,ij,nj->n", x - x0, H, x - x0)
    xs, ys = _surface_minimum(x, y)
    assert xs == pytest.approx(x0, abs=1e-9) and ys == pytest.approx(0.7, abs=1e-9)
    # a saddle has no minimum
    assert _surface_minimum(x, x[:, 0] ** 2 - x[:, 1] ** 2) is None


def test_regret_interval_by_hand():
    from scipy import stats

    opt = {"value": 0.02, "n_seeds": 3, "log_sd": 0.03, "dof": 20}
    r, lo, hi = regret(0.021, 3, opt)
    half = stats.t.ppf(0.975, 20) * 0.03 * math.sqrt(1 / 3 + 1 / 3)
    assert r == pytest.approx(1.05, rel=1e-12)
    assert lo == pytest.approx(1.05 * math.exp(-half), rel=1e-12)
    assert hi == pytest.approx(1.05 * math.exp(half), rel=1e-12)
    assert math.isnan(regret(0.021, 3, {**opt, "dof": 0})[1])


def test_start_regret_of_a_cg_fit_molecule_by_hand():
    """A molecule with only a `cg fit` result: each refined bead's regret is its own point of the search it started
    (the first round's centre) over the optimum, with the interval of :func:`regret` (numbers by hand)."""
    import pandas as pd

    from project.cg.optimum import start_regret_table

    pts = pd.DataFrame(
        {
            "sigma_nm": [0.40, 0.41],
            "epsilon_kJ_mol": [0.20, 0.22],
            "n": [3, 3],
            "D": [0.030, 0.025],
            "KL": [0.002, 0.001],
        }
    )
    opt = {"value": 0.025, "n_seeds": 3, "log_sd": 0.03, "dof": 20}
    tab = start_regret_table("C2H6", {"D": (0.40, 0.20)}, {"D": pts}, {"D": opt})
    assert list(tab.row) == ["total-deviation"] and list(tab.kind) == ["refined"]
    assert tab.regret_D[0] == pytest.approx(1.2, rel=1e-12)
    assert (tab.regret_D_lo95[0], tab.regret_D_hi95[0]) == pytest.approx(regret(0.030, 3, opt)[1:], rel=1e-12)
    with pytest.raises(ProjectError, match="not among its simulated points"):
        start_regret_table("C2H6", {"D": (0.39, 0.20)}, {"D": pts}, {"D": opt})


def test_bad_metric_and_seeds_are_refused(tmp_path):
    from project.cg.lj import CGSettings
    from project.cg.target import CGTarget

    t = CGTarget("X", np.linspace(0.01, 1.0, 50), np.ones(50), np.full(50, 0.01), 100.0, 20.0, 40.0)
    with pytest.raises(ProjectError, match="metric = 'P' is not allowed: one of D, KL"):
        simulated_optimum(t, CGSettings(), tmp_path, (0.34, 1.0), "P")
    with pytest.raises(ProjectError, match="seeds = 1 is not allowed"):
        simulated_optimum(t, CGSettings(), tmp_path, (0.34, 1.0), "D", seeds=1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.gromacs
def test_search_ends_at_the_parameters_of_a_simulated_lj_target(tmp_path):
    """Target: an LJ fluid simulated at sigma 0.34 nm, epsilon 1.0 kJ/mol (T* 1.0, rho* 0.8; N = 300, seed 7). Start
    2 % off in sigma and 25 % off in epsilon: the search (2 seeds per point, small runs) must end within one
    first-round step of the truth in sigma (1 %), and its optimum's D within 2x the D of an independent run of the
    true parameters (the noise floor of these runs)."""
    from dataclasses import replace

    from project.cg.lj import CGSettings, run_lj
    from project.cg.target import CGTarget
    from project.metrics import total_deviation
    from project.units import KB

    sigma, eps = 0.34, 1.0
    T, rho = eps / KB, 0.8 / sigma**3
    st = CGSettings(N=300, t_equil=10.0, t_prod=60.0, threads=1)
    ref = run_lj(sigma, eps, T, rho, 40.0, replace(st, seed=7), tmp_path / "target")
    target = CGTarget("LJ", ref.rdf.r_nm, ref.rdf.g, ref.rdf.g_err, T, rho, 40.0)
    start = (sigma * 1.02, eps * 1.25)
    opt, points = simulated_optimum(target, st, tmp_path / "runs", start, "D", seeds=2, max_rounds=3)
    assert abs(opt["sigma_nm"] / sigma - 1) <= 0.01
    floor = run_lj(sigma, eps, T, rho, 40.0, replace(st, seed=8), tmp_path / "floor")
    d_floor = total_deviation(target.r, target.g, floor.rdf.g)
    assert opt["value"] <= 2.0 * d_floor
    assert opt["n_runs"] == 2 * len(points) and opt["dof"] == len(points)


def test_srel_path_integrates_the_gradient_exactly_for_a_quadratic():
    """S = 3 sigma^2 + 0.5 epsilon^2 (its gradient is linear: the trapezoid rule is exact on straight segments)."""
    from project.cg.baselines import srel_path

    pts = [(0.34, 1.0), (0.35, 0.8), (0.345, 0.6), (0.36, 0.65)]
    hist = [{"sigma": s, "epsilon": e, "grad": [6 * s, 1.0 * e]} for s, e in pts]
    S = [3 * s**2 + 0.5 * e**2 for s, e in pts]
    assert srel_path(hist) == pytest.approx(S[-1] - S[0], rel=1e-12)
    assert srel_path(hist[:1]) == 0.0


def test_method_summary_regret_and_n_fit():
    """Three repeats with D 1.00, 1.04, 1.10 x the optimum: mean regret 1.0467, N_fit to 1.05 from the first two."""
    import pandas as pd

    from project.cg.baselines import method_summary

    opt = {"value": 0.02, "n_seeds": 3, "log_sd": 0.02, "dof": 30}
    rows = pd.DataFrame(
        {
            "method": ["relent"] * 3,
            "converged": [True, True, False],
            "sigma_nm": [0.37, 0.371, 0.372],
            "epsilon_kJ_mol": [0.7, 0.8, 0.9],
            "total_deviation_nm": [0.020, 0.0208, 0.022],
            "kl_divergence": [3e-4, 3e-4, 3e-4],
            "n_fit": [5, 7, 30],
            "cpu_s": [30.0, 40.0, 200.0],
            "n_check_runs": [3, 3, 3],
        }
    )
    out = method_summary(rows, {"D": opt}).iloc[0]
    assert out["regret_D"] == pytest.approx(0.0628 / 3 / 0.02, rel=1e-12)
    assert out["regret_D_lo95"] < out["regret_D"] < out["regret_D_hi95"]
    assert out["n_fit_to_regret_D_1.05"] == pytest.approx(6.0) and out["converged"] == 2
    assert out["total_deviation_nm_sd"] == pytest.approx(np.std([0.020, 0.0208, 0.022], ddof=1), rel=1e-12)


@pytest.mark.gromacs
def test_simplex_on_a_seed_averaged_objective(tmp_path):
    """Nelder-Mead with 2 runs per evaluation (GROMACS, small runs): each evaluation is the mean D of its two runs
    (recomputed here from their RDFs), two runs per simulated evaluation, and fatol half the noise of that mean."""
    from dataclasses import replace

    from project.cg.lj import CGSettings, run_lj
    from project.cg.simplex import run_simplex
    from project.cg.target import CGTarget
    from project.metrics import noise_deviation, total_deviation
    from project.rdf import load_rdf
    from project.units import KB

    sigma, eps = 0.34, 1.0
    T, rho = eps / KB, 0.8 / sigma**3
    st = CGSettings(N=300, t_equil=10.0, t_prod=40.0, threads=1, seed=11)
    ref = run_lj(sigma, eps, T, rho, 40.0, replace(st, seed=7), tmp_path / "target")
    target = CGTarget("LJ", ref.rdf.r_nm, ref.rdf.g, ref.rdf.g_err, T, rho, 40.0)
    res = run_simplex(target, st, tmp_path / "simplex", start=(0.345, 1.1), max_evals=5, seeds_per_eval=2)
    evals = [h for h in res["history"] if "workdir" in h]
    distinct = {(h["sigma"], h["epsilon"]) for h in evals}  # Nelder-Mead may evaluate a point twice (cached)
    assert res["n_simulations"] == 2 * len(distinct) and len(distinct) >= 3
    for h in evals:
        runs = [
            run_lj(h["sigma"], h["epsilon"], T, rho, 40.0, replace(st, seed=11 + k), tmp_path / "simplex")
            for k in range(2)
        ]
        assert all(r.reused for r in runs)
        d = [total_deviation(target.r, target.g, load_rdf(r.workdir / "rdf.npz").g) for r in runs]
        assert h["total_deviation_nm"] == pytest.approx(np.mean(d), rel=1e-12)
    first = run_lj(0.345, 1.1, T, rho, 40.0, st, tmp_path / "simplex")
    noise = noise_deviation(target.r, target.g_err, first.rdf.g_err)
    assert res["fatol_nm"] == pytest.approx(noise / (2 * np.sqrt(2)), rel=1e-9)


def test_regret_markdown_lists_optima_regrets_and_baselines(tmp_path):
    import json

    import pandas as pd

    from project.cg.baselines import method_summary
    from project.cg.optimum import regret_markdown, regret_table

    opt = {
        "metric": "D",
        "value": 0.02,
        "se": 0.0002,
        "n_seeds": 3,
        "log_sd": 0.02,
        "dof": 30,
        "sigma_nm": 0.37,
        "epsilon_kJ_mol": 0.7,
        "T_star": 1.3,
        "converged": True,
        "rounds": 2,
        "n_runs": 57,
    }
    (tmp_path / "optimum_CH4_D.json").write_text(json.dumps(opt))
    comp = pd.DataFrame(
        {
            "molecule": ["CH4"],
            "row": ["network"],
            "kind": ["one-shot"],
            "converged": [np.nan],
            "n_check_runs": [3],
            "total_deviation_nm": [0.021],
            "kl_divergence": [5e-4],
        }
    )
    regret_table(comp, {"D": opt}).to_csv(tmp_path / "regret_CH4.csv", index=False)
    rows = pd.DataFrame(
        {
            "method": ["relent"] * 2,
            "converged": [True, True],
            "sigma_nm": [0.37, 0.37],
            "epsilon_kJ_mol": [0.7, 0.8],
            "total_deviation_nm": [0.021, 0.022],
            "kl_divergence": [3e-4, 3e-4],
            "n_fit": [5, 7],
            "cpu_s": [30.0, 40.0],
            "n_check_runs": [3, 3],
        }
    )
    method_summary(rows, {"D": opt}).assign(molecule="CH4").to_csv(tmp_path / "baselines_summary_CH4_relent.csv")
    md = regret_markdown(tmp_path)
    assert "| CH4 | D | 0.3700 | 0.7000 | 1.3 | 0.02 +- 0.0002 | yes | 2 | 57 |" in md
    assert "| CH4 | network | one-shot |  | 1.050 [" in md
    assert "| CH4 | relent | 2 | 2 | 0.02150 +- 0.00071 |" in md


@pytest.mark.parametrize(
    "args, message",
    [
        (["optimum", "--molecule", "XeF6"], "--molecule: 'XeF6' has neither rows in"),
        (["optimum", "--molecule", "CH4", "--seeds", "1"], "--seeds: got 1; allowed: an integer >= 2"),
        (["baselines", "--molecule", "CH4", "--repeats", "1"], "--repeats: got 1; allowed: an integer >= 2"),
    ],
)
def test_cli_optimum_and_baselines_refuse_bad_input_and_write_nothing(tmp_path, args, message):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-m", "project", "cg", *args, "--results", str(root / "docs" / "results" / "cg")]
    out = subprocess.run(cmd + ["--out", str(tmp_path / "out")], cwd=root, capture_output=True, text=True)
    assert out.returncode == 2 and message in out.stderr
    assert not (tmp_path / "out").exists()

"""The Mie lambda_r-6 forward model and ``fit --potential mie|auto``.

References: the Mie potential's definition (C = 4 at lambda_r = 12, docs/mie.md); the true sigma (nm), epsilon
(kJ/mol) and lambda_r of held-out simulated Mie fluids (design ``mie_test`` of ``mie_library.h5``, never trained
on) and of held-out LJ fluids (test split of ``lj_library.h5``), with the targets of docs/mie.md: forward model
held-out mean |dg| <= 0.006; lambda_r within max(1, 8 %); LJ fluids fitted as Mie give lambda_r = 12 within 2 std.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from project.eos import mie_prefactor
from project.errors import ProjectError, RDFError
from project.model.fit import FitOptions, fit_rdf
from project.model.forward import SHIPPED_MIE_FORWARD, ForwardModel, lj_u_star, mie_u_star
from project.model.train_forward import design_seed, heldout_error

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "project" / "data" / "reference"


@functools.lru_cache(maxsize=1)
def _mie():
    from project.export import load_dataset

    ds = load_dataset(REF / "mie_library.h5")
    rows = np.flatnonzero(ds.table["seed"].to_numpy() == design_seed("mie_test"))
    return ds, rows


@functools.lru_cache(maxsize=1)
def _lj_test_rows():
    from project.model.train_forward import shipped_training_data

    d = shipped_training_data()
    return d["ds"], np.flatnonzero(d["test"])


def _fit(ds, i, potential):
    t = ds.table.iloc[i]
    return fit_rdf(
        ds.r_nm,
        ds.g[i].astype(float),
        float(t["T"]),
        float(t["rho"]),
        g_err=ds.g_err[i].astype(float),
        options=FitOptions(potential=potential),
    )


def test_mie_energy_is_lj_at_12():
    """C(12) = 4 and u*(s; 12) = 4 (s^-12 - s^-6); C(8) = 4 (4/3)^3, C(32) from the formula by hand."""
    s = np.linspace(0.8, 3.0, 50)
    assert mie_prefactor(12.0) == pytest.approx(4.0, rel=1e-12)
    assert mie_u_star(s, 12.0) == pytest.approx(lj_u_star(s), rel=1e-12)
    assert mie_prefactor(8.0) == pytest.approx(4.0 * (4.0 / 3.0) ** 3, rel=1e-12)
    assert mie_prefactor(32.0) == pytest.approx(32 / 26 * (32 / 6) ** (6 / 26), rel=1e-12)
    # the minimum of u* is -1 at s = (lambda_r/6)^(1/(lambda_r-6)) for every exponent
    for lam in (8.0, 16.0, 32.0):
        s_min = (lam / 6.0) ** (1.0 / (lam - 6.0))
        assert mie_u_star(s_min, lam) == pytest.approx(-1.0, rel=1e-12)


def test_lj_forward_model_refuses_other_exponents():
    fw = ForwardModel.load()
    with pytest.raises(ProjectError, match="lambda_r = 14"):
        fw.g_of_s(np.linspace(0.9, 2.0, 5), 1.0, 0.8, lambda_r=14.0)


def test_mie_forward_model_heldout_accuracy():
    """Held-out Mie fluids (mie_test): mean |dg| over s 0.8-3 <= 0.006 (target), the model binned like the data."""
    fw = ForwardModel.load(SHIPPED_MIE_FORWARD)
    ds, rows = _mie()
    tab = ds.table.iloc[rows]

    def error(lam):
        cols = (tab[k].to_numpy() for k in ("sigma", "T_star", "rho_star"))
        return heldout_error(fw, ds.r_nm, ds.g[rows].astype(float), *cols, lambda_r=lam)

    res = error(tab["lambda_r"].to_numpy())
    assert len(rows) >= 15
    assert res["mean_abs_dg"] <= 0.006
    # and the exponent matters: the same curves compared at lambda_r = 12 are far worse
    res12 = error(np.full(len(rows), 12.0))
    assert res12["mean_abs_dg"] > 2 * res["mean_abs_dg"]


def test_mie_fit_recovers_heldout_mie_fluids():
    """Six held-out Mie fluids (every third of mie_test): lambda_r within max(1, 8 %) in >= 5 of 6, sigma within
    0.5 %, epsilon within 3 x its stated std; the JSON carries potential, lambda_r and lambda_r_std."""
    ds, rows = _mie()
    tab = ds.table
    hits = 0
    for i in rows[::3][:6]:
        res = _fit(ds, i, "mie")
        lam, sig, eps = (float(tab[k].iloc[i]) for k in ("lambda_r", "sigma", "epsilon"))
        assert res.potential == "mie"
        hits += abs(res.lambda_r - lam) <= max(1.0, 0.08 * lam)
        assert abs(res.sigma / sig - 1) <= 0.005
        assert abs(res.epsilon - eps) <= 3 * res.epsilon_std
        out = json.loads(json.dumps(res.as_dict()))
        assert out["potential"] == "mie" and out["lambda_r"] == pytest.approx(res.lambda_r)
        assert out["lambda_r_std"] > 0 and out["units"]["lambda_r"] == "1"
    assert hits >= 5


def test_lj_fluids_fitted_as_mie_give_12_and_auto_keeps_lj():
    """Held-out LJ fluids in the Mie model's states (T* <= 3, rho* <= 0.95): lambda_r = 12 within 2 std, and
    ``auto`` reports the LJ fit (the data do not support another exponent)."""
    ds, rows = _lj_test_rows()
    tab = ds.table
    inside = [i for i in rows if tab["T_star"].iloc[i] <= 3.0 and tab["rho_star"].iloc[i] <= 0.95][::8][:4]
    assert len(inside) == 4
    for i in inside:
        mie = _fit(ds, i, "mie")
        assert abs(mie.lambda_r - 12.0) <= 2 * mie.lambda_r_std
        auto = _fit(ds, i, "auto")
        assert auto.potential == "lj" and auto.model_selection["chosen"] == "lj"
        assert auto.model_selection["fits"]["mie"]["lambda_r"] == pytest.approx(mie.lambda_r, rel=1e-9)


def test_auto_reports_mie_for_a_steep_fluid():
    """The steepest held-out Mie fluid (the dense corner, rho* 0.95, lambda_r 31, T* 3; mie_forward_v1 put its epsilon
    +50 % off, docs/mie.md): ``auto`` reports the Mie fit, the LJ fit's epsilon is far off."""
    ds, rows = _mie()
    tab = ds.table
    i = rows[int(np.argmax(tab["lambda_r"].to_numpy()[rows]))]
    assert tab["lambda_r"].iloc[i] > 20
    res = _fit(ds, i, "auto")
    sel = res.model_selection
    assert res.potential == "mie" and sel["chosen"] == "mie" and sel["mie_supported"]
    assert sel["delta_chi2_lambda_12"] > sel["threshold"]
    eps = float(tab["epsilon"].iloc[i])
    assert abs(sel["fits"]["lj"]["epsilon"] / eps - 1) > 0.2
    assert abs(res.epsilon - eps) <= 3 * res.epsilon_std


def test_bad_potential_and_wrong_model_are_refused():
    ds, rows = _mie()
    t = ds.table.iloc[rows[0]]
    args = (ds.r_nm, ds.g[rows[0]].astype(float), float(t["T"]), float(t["rho"]))
    with pytest.raises(RDFError, match="potential = 'morse' is not allowed: one of lj, mie, auto"):
        fit_rdf(*args, options=FitOptions(potential="morse"))
    with pytest.raises(RDFError, match="LJ model"):
        fit_rdf(*args, options=FitOptions(potential="mie"), mie_forward=ForwardModel.load())
    mie = ForwardModel.load(SHIPPED_MIE_FORWARD)
    with pytest.raises(RDFError, match="potential = 'lj' with a Mie forward model"):
        fit_rdf(*args, options=FitOptions(potential="lj"), forward=mie)


def test_missing_mie_model_is_a_clear_error(tmp_path, monkeypatch):
    import project.model.cache as cache
    import project.model.forward as forward

    monkeypatch.setattr(forward, "SHIPPED_MIE_FORWARD", tmp_path / "mie_forward")
    monkeypatch.delitem(cache._LOADED, "mie_forward", raising=False)
    ds, rows = _mie()
    t = ds.table.iloc[rows[0]]
    with pytest.raises(ProjectError, match="Mie forward model is not installed"):
        fit_rdf(
            ds.r_nm, ds.g[rows[0]].astype(float), float(t["T"]), float(t["rho"]), options=FitOptions(potential="mie")
        )


def test_cli_fit_potential_mie_json(tmp_path):
    """`fit --potential mie --json` from the shell: one strict JSON object with potential, lambda_r, lambda_r_std;
    an unknown potential exits non-zero naming the choices and writes nothing."""
    ds, rows = _mie()
    i = rows[1]
    t = ds.table.iloc[i]
    path = tmp_path / "rdf.dat"
    np.savetxt(path, np.column_stack([ds.r_nm, ds.g[i], ds.g_err[i]]), header="r_nm g g_err")
    cmd = [sys.executable, "-m", "project", "fit", str(path), "-T", str(t["T"]), "--rho", str(t["rho"])]
    cmd += ["--columns", "r,g,err"]
    out = subprocess.run(cmd + ["--potential", "mie", "--json"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.splitlines()[0])
    assert res["potential"] == "mie"
    assert abs(res["lambda_r"] - t["lambda_r"]) <= max(1.0, 0.08 * t["lambda_r"])
    assert res["lambda_r_std"] > 0 and "model_selection" in res
    bad = subprocess.run(cmd + ["--potential", "morse"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode != 0 and "--potential" in bad.stderr and "lj" in bad.stderr and "mie" in bad.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rdf.dat"]


def test_soft_mie_fits_carry_the_measured_caveat():
    """Mie fits below lambda_r 11 carry the soft-repulsion caveat with its measured figures (docs/mie.md: 23 held-out
    soft fluids, epsilon 4.1 % off on average with mie_forward_v3); above it they do not. The held-out dense soft fluid
    (lambda_r 10.1, T* 1.34, rho* 0.93) that comes back 18 % off in epsilon is among them: not silent."""
    from project.model.fit.verdict import soft_caveat

    assert soft_caveat(11.5) == [] and soft_caveat(20.0) == []
    assert "epsilon was 4.1 % off on average" in soft_caveat(9.0)[0]
    ds, rows = _mie()
    tab = ds.table
    i = rows[np.argmin(np.hypot(tab["lambda_r"].to_numpy()[rows] - 10.13, tab["rho_star"].to_numpy()[rows] - 0.934))]
    assert abs(tab["lambda_r"].iloc[i] - 10.13) < 0.01
    res = _fit(ds, i, "mie")
    assert res.lambda_r < 11.0
    assert any(w.startswith("soft repulsion") for w in res.warnings)

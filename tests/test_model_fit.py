"""The forward model, the refined fit and real-world inputs (binning, normalisation, density, scattering data).

References: analytic shell-volume bin averages and Fourier transforms (operators); the true sigma (nm) and epsilon
(kJ/mol) of held-out simulated jobs of the shipped dataset (the test split, never seen by either network), with the
targets of the real-world fit (sigma MAPE <= 1 %, epsilon MAPE <= 4 % for each variant; clean inputs <= 0.5 / 2 %).
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from project.errors import RDFError
from project.model.binning import histogram_average, q_truncation_matrix
from project.model.fit import FitOptions, estimate_noise, fit_rdf
from project.model.forward import S_GRID, ForwardModel, debin
from project.model.train_forward import heldout_error, shipped_training_data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_realworld import make_variant, rehistogram  # noqa: E402

#: test-split jobs used by the accuracy tests (every 6th of the 54, spread over the domain)
N_JOBS = 9


@functools.lru_cache(maxsize=1)
def _data():
    return shipped_training_data()


def _jobs():
    d = _data()
    rows = np.flatnonzero(d["test"])[::6][:N_JOBS]
    return d["ds"], rows


# ---------------------------------------------------------------------------------------------------- operators
def test_histogram_average_matches_the_analytic_shell_average():
    """Bin average of g(r) = 1 + a r over [c - w/2, c + w/2] with weight r^2: (integral of (1 + a r) r^2) /
    (integral of r^2), analytic; and of a constant, the constant."""
    rf = np.arange(0.0, 1.3, 0.0005)
    centres = np.arange(0.01, 1.2, 0.02)
    B = histogram_average(centres, rf, 0.02)
    np.testing.assert_allclose(B @ np.full_like(rf, 2.5), 2.5, rtol=1e-12)
    a = 0.7
    lo, hi = centres - 0.01, centres + 0.01
    exact = 1 + a * (hi**4 - lo**4) / 4 / ((hi**3 - lo**3) / 3)
    np.testing.assert_allclose(B @ (1 + a * rf), exact, atol=2e-6)


def test_debin_recovers_point_values_of_a_peak():
    """Second-order de-binning of exact bin averages of a Gaussian peak (height 2, width 0.03 nm, 0.005 nm bins):
    the bin averages are (dr^2 / 24) g'' = 2.3e-3 below the peak's point value; de-binned, within 1e-4."""
    w = 0.005
    centres = np.arange(w / 2, 1.2, w)
    rf = np.arange(0.0, 1.21, w / 50)

    def g(r):
        return 1 + 2 * np.exp(-0.5 * ((r - 0.4) / 0.03) ** 2)

    binned = histogram_average(centres, rf, w) @ g(rf)
    point = g(centres)
    assert np.max(np.abs(binned - point)) == pytest.approx(0.005**2 / 24 * 2 / 0.03**2, rel=0.02)
    assert np.max(np.abs(debin(centres, binned) - point)[2:-2]) < 1e-4


def test_q_truncation_matches_a_direct_fourier_round_trip():
    """T h equals S(Q) computed by quadrature, cut at Q_max, transformed back (independent implementation)."""
    r = np.arange(0.0, 2.0, 0.002)
    h = np.where(r < 0.3, -1.0, 0.4 * np.exp(-0.5 * ((r - 0.4) / 0.04) ** 2))
    q_max = 80.0  # nm^-1 (8 A^-1)
    ht = q_truncation_matrix(r, q_max) @ h
    q = np.arange(1e-3, q_max, 0.05)
    fq = np.trapezoid(r[None, :] * h[None, :] * np.sin(q[:, None] * r[None, :]), r, axis=1)
    rr = r[10:600]
    direct = 2 / np.pi * np.trapezoid(fq[None, :] * np.sin(q[None, :] * rr[:, None]), q, axis=1) / rr
    np.testing.assert_allclose(ht[10:600], direct, atol=0.01)
    # the truncation smears the step of the core: ripples of at least 0.05 where h was exactly -1
    assert np.max(np.abs(ht[(r > 0.1) & (r < 0.25)] + 1)) > 0.05


def test_noise_estimate_of_white_noise():
    """Fourth-difference noise estimate of a smooth curve plus white noise of std 0.02 (reference: 0.02 within
    20 %), scaled with sqrt(g) / r as counting statistics."""
    rng = np.random.default_rng(3)
    r = np.arange(0.3, 1.5, 0.005)
    g = 1 + 0.3 * np.sin(12 * r) * np.exp(-r)
    e_true = 0.02 * np.sqrt(g) / r * r.mean()
    est = estimate_noise(r, g + rng.normal(0, 1, len(r)) * e_true)
    assert np.median(est / e_true) == pytest.approx(1.0, abs=0.2)


# ---------------------------------------------------------------------------------------------------- forward model
def test_forward_model_heldout_accuracy():
    """Mean |g_model - g_sim| over r/sigma 0.8-3 on held-out test jobs <= 0.01 (target), model binned like the
    data; the shipped model's card records the same number."""
    ds, rows = _jobs()
    tab = ds.table
    fw = ForwardModel.load()
    res = heldout_error(
        fw,
        ds.r_nm,
        ds.g[rows].astype(float),
        tab["sigma"].to_numpy()[rows],
        tab["T_star"].to_numpy()[rows],
        tab["rho_star"].to_numpy()[rows],
    )
    assert res["mean_abs_dg"] < 0.01
    assert fw.meta["heldout_accuracy"]["test"]["mean_abs_dg"] < 0.01
    assert len(fw.s) == len(S_GRID)


def test_forward_model_core_is_the_boltzmann_factor_of_its_cavity_function():
    """The shipped model outputs ln y* = ln g* + u*/T*: between grid points g* follows exp(-u*/T*) exactly, so on
    the steep core the ratio of g* at two nearby s is the Boltzmann factor of their energy difference times the
    (nearly constant) y* ratio. Reference: u* = 4 (s^-12 - s^-6); at T* 9, rho* 1.15, s 0.800 and 0.801 the
    Boltzmann ratio exp(-(u*(0.801) - u*(0.8)) / 9) is 1.0872; the y* ratio is within 1 % of 1 (a g* interpolated
    linearly over the grid's 0.005 would be 1.6 % off). Below the grid g* is the Boltzmann continuation."""
    from project.model.forward import lj_u_star

    fw = ForwardModel.load()
    assert fw.meta["meta_version"] == 2
    g = fw.g_of_s(np.array([0.8, 0.801]), 9.0, 1.15)
    boltzmann = np.exp(-(lj_u_star(0.801) - lj_u_star(0.8)) / 9.0)
    assert boltzmann == pytest.approx(1.0872, abs=1e-4)
    assert g[1] / g[0] == pytest.approx(boltzmann, rel=0.01)
    core = fw.g_of_s(np.array([0.7, 0.75]), 1.0, 0.8)
    assert core[0] / core[1] == pytest.approx(np.exp(-(lj_u_star(0.7) - lj_u_star(0.75))), rel=1e-9)


@pytest.mark.parametrize("design", ["triple_test", "dense_test", "hot_wide_test"])
def test_forward_model_heldout_accuracy_per_region(design):
    """Mean |g_model - g_sim| over r/sigma 0.8-3 <= 0.006 (target) on the held-out designs of the wide campaign:
    near the triple point (T* 0.6-0.8), the dense liquid (rho* 0.9-1.12), the hot fluid (T* 2.5-10). Reference:
    the simulated RDFs of lj_library_wide.h5 (no model trained on these designs; noise 0.0023-0.0028)."""
    from project.export import load_dataset
    from project.model.train_forward import design_seed

    ds = load_dataset(ROOT / "project" / "data" / "reference" / "lj_library_wide.h5")
    tab = ds.table
    rows = np.flatnonzero(tab["seed"].to_numpy() == design_seed(design))
    assert len(rows) >= 16
    res = heldout_error(
        ForwardModel.load(),
        ds.r_nm,
        ds.g[rows].astype(float),
        tab["sigma"].to_numpy()[rows],
        tab["T_star"].to_numpy()[rows],
        tab["rho_star"].to_numpy()[rows],
    )
    assert res["mean_abs_dg"] <= 0.006


# ---------------------------------------------------------------------------------------------------- fit accuracy
def _fit_variant(variant: str):
    ds, rows = _jobs()
    tab = ds.table
    rng = np.random.default_rng(5)
    es, ee, cov = [], [], []
    for k, i in enumerate(rows):
        row = tab.iloc[i]
        r, g, rho, opt = make_variant(variant, ds.r_nm, ds.g[i].astype(float), float(row["rho"]), k, rng)
        res = fit_rdf(r, g, float(row["T"]), rho, options=opt)
        es.append(abs(res.sigma / row["sigma"] - 1) * 100)
        ee.append(abs(res.epsilon / row["epsilon"] - 1) * 100)
        cov.append(abs(res.epsilon - row["epsilon"]) <= 2 * res.epsilon_std)
    return np.mean(es), np.mean(ee), np.mean(cov)


@pytest.mark.parametrize(
    ("variant", "sigma_max", "eps_max"),
    [
        ("clean", 0.5, 2.0),
        ("bin0.01", 1.0, 4.0),
        ("bin0.02", 1.0, 4.0),
        ("g*0.98", 1.0, 4.0),
        ("g*1.02", 1.0, 4.0),
        ("q8", 1.0, 4.0),
        ("q10", 1.0, 4.0),
        ("q12", 1.0, 4.0),
    ],
)
def test_fit_variants_meet_the_targets(variant, sigma_max, eps_max):
    """Held-out test jobs as users bring them (re-binned, mis-normalised, through S(Q)): sigma / epsilon MAPE
    within the targets (clean 0.5 / 2 %, variants 1 / 4 %)."""
    s, e, _ = _fit_variant(variant)
    assert s <= sigma_max
    assert e <= eps_max


def test_density_uncertainty_gives_honest_intervals():
    """Density stated 2 % off with that uncertainty given: the 2-std epsilon interval contains the truth in at
    least 7 of 9 jobs (target coverage 85-98 % over the full benchmark) and epsilon stays within 4 % MAPE."""
    s, e, cov = _fit_variant("rho+-2%")
    assert cov >= 7 / 9
    assert e <= 4.0 and s <= 1.0


def test_binning_is_modelled_not_ignored():
    """The same RDF at 0.005 and 0.02 nm bins gives epsilon within 2 % of each other (the one-shot network alone
    moves by more than 5 % on this dense liquid)."""
    ds, rows = _jobs()
    tab = ds.table
    i = rows[np.argmax(tab["rho_star"].to_numpy()[rows])]
    row = tab.iloc[i]
    a = fit_rdf(ds.r_nm, ds.g[i].astype(float), row["T"], row["rho"])
    rr, gg = rehistogram(ds.r_nm, ds.g[i].astype(float), 0.02)
    b = fit_rdf(rr, gg, row["T"], row["rho"])
    assert abs(b.epsilon / a.epsilon - 1) < 0.02
    assert abs(b.oneshot["epsilon"] / a.oneshot["epsilon"] - 1) > 0.05
    assert b.input["bin_width"] == pytest.approx(0.02)


# ---------------------------------------------------------------------------------------------------- verdict, input
def test_molecular_com_rdf_is_flagged_not_lj():
    """The centre-of-mass RDF of liquid CO (two-centre model, docs/results/cg) is not one LJ fluid within its
    noise: lj_adequate false, with a warning, and its error bars widened beyond the clean-input ones."""
    d = np.load(ROOT / "docs" / "results" / "cg" / "com_rdf_CO.npz")
    rho = float(d["scalars"]["density_nm3"])
    res = fit_rdf(d["r_nm"], d["g"], 81.6, rho, g_err=d["g_err"])
    assert res.lj_adequate is False
    assert res.residual["chi2_per_dof"] > 2.0
    assert any("does not describe" in w for w in res.warnings)


def test_negative_core_values_are_masked_with_a_warning():
    ds, rows = _jobs()
    row = ds.table.iloc[rows[0]]
    g = ds.g[rows[0]].astype(float).copy()
    core = g < 0.01
    g[core] = -0.04 * np.cos(np.arange(core.sum()))  # ripples of a Fourier-transformed g
    res = fit_rdf(ds.r_nm, g, row["T"], row["rho"])
    assert any("masked" in w for w in res.warnings)
    assert abs(res.epsilon / row["epsilon"] - 1) < 0.04


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"T": 1.2}, "reduced temperature"),
        ({"rho": 1.4}, "mass density"),
        ({"rho": -3.0}, "positive number density"),
        ({"T": 0.0}, "positive number in K"),
        ({"r_scale": 10.0}, "Angstrom"),
        ({"r_max": 0.5}, "first two shells"),
        ({"n": 20}, "at least 30"),
        ({"swap": True}, "not strictly increasing"),
        ({"x_peak": 1.6}, "Check the density"),
    ],
)
def test_bad_inputs_are_refused_with_the_reason(change, message):
    ds, rows = _jobs()
    row = ds.table.iloc[rows[0]]
    r, g = ds.r_nm.copy(), ds.g[rows[0]].astype(float)
    T, rho = change.get("T", row["T"]), change.get("rho", row["rho"])
    if "x_peak" in change:  # a density that puts the first peak that many mean spacings rho^(-1/3) away
        rho = (change["x_peak"] / r[np.argmax(g)]) ** 3
    r = r * change.get("r_scale", 1.0)
    if "r_max" in change:
        keep = r <= change["r_max"]
        r, g = r[keep], g[keep]
    if "n" in change:
        r, g = r[: change["n"]], g[: change["n"]]
    if "swap" in change:
        r[100], r[101] = r[101], r[100]
    with pytest.raises(RDFError, match=message):
        fit_rdf(r, g, T, rho)


# ---------------------------------------------------------------------------------------------------- command line
def _write_rdf(path: Path, r: np.ndarray, g: np.ndarray, err: np.ndarray | None = None, csv: bool = False):
    sep = "," if csv else " "
    head = "r_nm,g,g_err\n" if csv else "# r_nm g\n"
    cols = [r, g] if err is None else [r, g, err]
    path.write_text(head + "".join(sep.join(f"{c[i]:.6f}" for c in cols) + "\n" for i in range(len(r))))


def test_cli_fit_json_curve_plot_and_manifest(tmp_path):
    """`fit` from the shell: CSV with a header and an error column, one JSON object per file with the documented
    keys, the fitted curve and the PNG; a manifest fits several files in one call."""
    ds, rows = _jobs()
    tab = ds.table
    paths = []
    for k, i in enumerate(rows[:3]):
        p = tmp_path / f"rdf{k}.csv"
        _write_rdf(p, ds.r_nm, ds.g[i].astype(float), ds.g_err[i].astype(float), csv=True)
        paths.append(p)
    row = tab.iloc[rows[0]]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "project",
            "fit",
            str(paths[0]),
            "-T",
            str(row["T"]),
            "-rho",
            str(row["rho"]),
            "--json",
            "--curve",
            str(tmp_path / "fit.dat"),
            "--plot",
            str(tmp_path / "fit.png"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    for key in (
        "sigma",
        "epsilon",
        "sigma_std",
        "epsilon_std",
        "oneshot",
        "residual",
        "lj_adequate",
        "in_domain",
        "warnings",
        "units",
    ):
        assert key in res
    assert res["input"]["noise"] == "third column"
    assert abs(res["epsilon"] / row["epsilon"] - 1) < 0.04
    assert set(res["residual"]) >= {"total_deviation_nm", "kl_divergence", "max_abs_dg"}
    curve = np.loadtxt(tmp_path / "fit.dat")
    assert curve.shape[1] == 2 and (tmp_path / "fit.png").stat().st_size > 10_000
    manifest = tmp_path / "many.csv"
    manifest.write_text(
        "path,T_K,rho_nm3\n"
        + "".join(f"{p.name},{tab.iloc[i]['T']},{tab.iloc[i]['rho']}\n" for p, i in zip(paths, rows[:3]))
    )
    out = subprocess.run(
        [sys.executable, "-m", "project", "fit", "--manifest", str(manifest), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(lines) == 3
    for rec, i in zip(lines, rows[:3]):
        assert abs(rec["sigma"] / tab.iloc[i]["sigma"] - 1) < 0.01


def test_cli_fit_refuses_angstrom_and_writes_nothing(tmp_path):
    ds, rows = _jobs()
    row = ds.table.iloc[rows[0]]
    p = tmp_path / "angstrom.dat"
    _write_rdf(p, ds.r_nm * 10, ds.g[rows[0]].astype(float))
    cmd = [
        sys.executable,
        "-m",
        "project",
        "fit",
        str(p),
        "-T",
        str(row["T"]),
        "-rho",
        str(row["rho"]),
        "--curve",
        str(tmp_path / "c.dat"),
    ]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and "Angstrom" in out.stderr and not (tmp_path / "c.dat").exists()
    out = subprocess.run(cmd + ["--r-unit", "A"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "c.dat").exists()


def test_fit_options_are_checked():
    ds, rows = _jobs()
    row = ds.table.iloc[rows[0]]
    for opt, msg in (
        (FitOptions(density_error=-1.0), "density_error"),
        (FitOptions(q_max=0.5), "q_max"),
        (FitOptions(density_error=0.5 * row["rho"]), "20 %"),
    ):
        with pytest.raises(RDFError, match=msg):
            fit_rdf(ds.r_nm, ds.g[rows[0]].astype(float), row["T"], row["rho"], options=opt)


def test_density_sensitivity_is_reported_and_warned():
    """The reported epsilon change per 1 % of density (linearised) matches refitting with the density stated 1 %
    higher within 35 % (reference: that refit), and a dense liquid (sensitivity > 5 % per %) gets a warning."""
    ds, rows = _jobs()
    tab = ds.table
    i = rows[np.argmax(tab["rho_star"].to_numpy()[rows])]
    row = tab.iloc[i]
    a = fit_rdf(ds.r_nm, ds.g[i].astype(float), row["T"], row["rho"])
    b = fit_rdf(ds.r_nm, ds.g[i].astype(float), row["T"], row["rho"] * 1.01)
    sens = a.uncertainty["epsilon_pct_per_pct_density"]
    assert sens > 5.0
    assert sens == pytest.approx(abs(100 * (b.epsilon / a.epsilon - 1)), rel=0.35)
    assert any("depends strongly on the stated density" in w for w in a.warnings)


def test_temperature_error_enters_the_epsilon_uncertainty():
    """epsilon is proportional to T: a 2 % temperature uncertainty adds 2 % in quadrature to epsilon_std
    (reference: sqrt(s0^2 + 0.02^2) of the relative std without it, within 1e-6) and leaves sigma_std alone."""
    ds, rows = _jobs()
    row = ds.table.iloc[rows[1]]
    g = ds.g[rows[1]].astype(float)
    a = fit_rdf(ds.r_nm, g, row["T"], row["rho"])
    b = fit_rdf(ds.r_nm, g, row["T"], row["rho"], options=FitOptions(temperature_error=0.02 * row["T"]))
    assert b.epsilon_std / b.epsilon == pytest.approx(np.hypot(a.epsilon_std / a.epsilon, 0.02), rel=1e-6)
    assert b.sigma_std == pytest.approx(a.sigma_std, rel=1e-9)


def _model_rdf_with_noise(t_star: float, rho_star: float, noise: float, seed: int = 3):
    """A histogram RDF of the shipped forward model (sigma 0.34 nm, epsilon 1 kJ/mol, 0.005 nm bins) plus white
    noise of the given std, with that std stated as g_err; returns (r nm, g, g_err, T K, rho nm^-3)."""
    from project.model.fit.problem import lj_rdf
    from project.units import KB

    sigma, eps = 0.34, 1.0
    r = np.arange(0.0025, 0.34 * 2.9, 0.005)
    T, rho = t_star * eps / KB, rho_star / sigma**3
    g = lj_rdf(r, sigma, eps, T, rho, bin_width=0.005)
    rng = np.random.default_rng(seed)
    err = np.full_like(r, noise)
    return r, g + rng.normal(0.0, noise, len(r)) * (g > 0.05), err, T, rho


def test_profile_width_equals_the_linearised_one_where_the_cost_is_quadratic():
    """Where the cost is quadratic in (ln sigma, ln T*) the profile in ln T* gives the same statistical width as
    (J^T J)^-1 (reference: the two agree within 25 % at T* 1.5, rho* 0.8, noise 0.02 in g); the reported
    statistical part is the larger of the two."""
    r, g, err, T, rho = _model_rdf_with_noise(1.5, 0.8, 0.02)
    u = fit_rdf(r, g, T, rho, g_err=err).uncertainty
    assert u["epsilon_rel_profile"] == pytest.approx(u["epsilon_rel_linearised"], rel=0.25)
    assert u["epsilon_rel_statistical"] == pytest.approx(max(u["epsilon_rel_profile"], u["epsilon_rel_linearised"]))
    assert u["sigma_rel_statistical"] >= u["sigma_rel_linearised"]


def test_non_uniform_grid_is_read_as_points_with_a_warning():
    ds, rows = _jobs()
    row = ds.table.iloc[rows[2]]
    keep = np.ones(len(ds.r_nm), dtype=bool)
    keep[150::7] = False  # drop some points in the tail: the grid is no longer uniform
    res = fit_rdf(ds.r_nm[keep], ds.g[rows[2]].astype(float)[keep], row["T"], row["rho"])
    assert res.input["binning"] == "points"
    assert any("not uniformly spaced" in w for w in res.warnings)
    assert abs(res.epsilon / row["epsilon"] - 1) < 0.04


def test_domain_spacing_follows_the_local_density_of_training_states():
    """Held-out box states lie in domain; a hole stays out.

    Reference: the 54 held-out LJ test states (T* 0.7-2.5, never trained on) sit inside the training states' hull;
    with one global spacing (the median nearest-neighbour distance, set by the dense grid designs) 6 of them were
    more than 2.5 spacings from the nearest training state and read "outside the states the forward model was
    trained on". The LJ liquid-vapour gap (T* 1, rho* 0.3: no stable fluid, no training state) is a hole: more than
    2.5 local spacings from any training state."""
    from project.model.fit.verdict import forward_domain
    from project.model.inverse import InverseModel

    fw = ForwardModel.load()
    data = shipped_training_data(InverseModel.load().meta)
    t = data["ds"].table.iloc[np.flatnonzero(data["test"])]
    far = [fw.distance_to_training(a, b) / fw.typical_spacing for a, b in zip(t.T_star, t.rho_star)]
    assert len(t) == 54 and sum(d > 2.5 for d in far) == 6
    assert all(forward_domain(fw, a, b)[0] for a, b in zip(t.T_star, t.rho_star))
    ok, why = forward_domain(fw, 1.0, 0.3)
    assert not ok and "outside the states the forward model was trained on" in why[0]
    assert fw.distance_to_training(1.0, 0.3) / fw.spacing_at(1.0, 0.3) == pytest.approx(3.4, abs=0.2)


@pytest.mark.parametrize("name", ["lj_forward_v3", "mie_forward_v3"])
def test_stored_hull_and_local_spacing_equal_scipys(name):
    """The hull facets stored in a shipped forward model's meta.json (so that a fit need not import
    scipy.spatial) and the numpy local spacing give what scipy gives from the training states.

    Reference: ``scipy.spatial.ConvexHull`` of the scaled training states (signed distance of 40 states drawn
    around them, relative 1e-9) and ``scipy.spatial.cKDTree`` (each of the 5 nearest states' distance to its
    (d + 1)-th nearest other one, median)."""
    from scipy.spatial import ConvexHull, cKDTree

    from project.model.forward import LOCAL_NEIGHBOURS

    fw = ForwardModel.load(Path(__file__).resolve().parents[1] / "project" / "data" / "models" / name)
    assert fw.meta["hull_equations"]
    pts = fw._states / fw.in_std
    fresh = ConvexHull(pts).equations
    rng = np.random.default_rng(3)
    st = fw.training_states[rng.integers(0, len(pts), 40)] * rng.uniform(0.8, 1.25, (40, fw.training_states.shape[1]))
    k = pts.shape[1] + 1
    near_all = cKDTree(pts).query(pts, k=k + 1)[0][:, k]
    for row in st:
        args = (row[0], row[1], row[2]) if fw.is_mie else (row[0], row[1], 12.0)
        p = fw._coords(np.array([args[0]]), np.array([args[1]]), np.array([args[2]]))[0] / fw.in_std
        want = float((fresh[:, :-1] @ p + fresh[:, -1]).max()) / fw.typical_spacing
        assert fw.beyond_training_hull(*args) == pytest.approx(want, rel=1e-9, abs=1e-12)
        nearest = np.argsort(((pts - p) ** 2).sum(1))[:LOCAL_NEIGHBOURS]
        want_sp = max(float(np.median(near_all[nearest])), fw.typical_spacing)
        assert fw.spacing_at(*args) == pytest.approx(want_sp, rel=1e-12)


def test_fit_beyond_the_forward_models_states_is_out_of_domain():
    """A dense fluid beyond every training state of the forward model, though close to the densest one, is
    reported out of domain with the reason.

    Reference: the forward model's own training states (meta.json): each lies inside their hull (distance <= 0); the
    state here is the densest training state moved to higher density until it lies 2 spacings outside the hull,
    still within 2.5 spacings of that state."""
    fw = ForwardModel.load()
    states = np.asarray(fw.meta["training_states"])
    assert max(fw.beyond_training_hull(t, d) for t, d in states[::7]) <= 1e-9
    t_star, rho_star = states[np.argmax(states[:, 1])]
    while fw.beyond_training_hull(t_star, rho_star) < 2.0:
        rho_star += 0.001
    assert fw.distance_to_training(t_star, rho_star) < 2.5 * fw.typical_spacing
    sigma, eps = 0.30, 0.5
    T, rho = t_star * eps / 0.0083144626, rho_star / sigma**3
    r = np.arange(0.0025, 1.2, 0.005)
    from project.model.fit import lj_rdf

    g = np.nan_to_num(lj_rdf(r, sigma, eps, T, rho, bin_width=0.005, forward=fw), nan=1.0)
    res = fit_rdf(r, g, T, rho, g_err=np.full_like(g, 0.005), forward=fw)
    assert not res.in_domain
    assert any("beyond the edge of the states the forward model was trained on" in w for w in res.warnings)


def test_network_check_counts_the_networks_own_error_and_domain():
    """The one-shot check divides by the fit's std and the network's validation error together, and is made only
    where the fitted state lies inside the network's training states.

    By hand: fit sigma 0.300 +- 0.0003 nm, epsilon 1.000 +- 0.010 kJ/mol, network 0.3006 nm, 1.06 kJ/mol: with the
    fit's std alone the distance is sqrt(2^2 + 6^2) = 6.3 (warns); with validation errors 0.15 % (sigma) and 2.5 %
    (epsilon) it is sqrt((0.0006 / 0.00054)^2 + (0.06 / 0.0269)^2) = 2.5 (silent)."""
    from project.model.fit.verdict import disagrees_with_oneshot

    net = {"sigma": 0.3006, "epsilon": 1.06, "in_domain": True}
    assert len(disagrees_with_oneshot(net, 0.300, 1.00, 0.0003, 0.010)) == 1
    assert (
        disagrees_with_oneshot(net, 0.300, 1.00, 0.0003, 0.010, network_error={"sigma": 0.0015, "epsilon": 0.025}) == []
    )
    assert disagrees_with_oneshot(None, 0.300, 1.00, 0.0003, 0.010) == []
    from project.model.inverse import InverseModel

    inv = InverseModel.load()
    # the shipped network trained on T* 0.61-9.96, rho* 0.26-1.20, nothing simulated beyond: its error by T* band
    # of its validation jobs (meta.json validation_error_by_band), none beyond its bounds
    bands = inv.meta["validation_error_by_band"]
    assert inv.bounds_crossed(1.0, 0.8) == [] and inv.error_at(1.0, 0.8) == bands[1]
    assert bands[1]["T_star"] == [0.8, 2.5] and inv.error_at(7.0, 1.1) == bands[-1]
    assert inv.error_at(1.0, 0.8)["epsilon"] < inv.error_at(7.0, 1.1)["epsilon"]
    assert inv.bounds_crossed(0.5, 1.3) == ["T_star_below", "rho_star_above"]
    assert inv.error_at(0.5, 0.85) is None  # below T* 0.61: not measured, no second opinion there


def test_shipped_network_carries_its_validation_error():
    """The shipped network's meta.json holds the relative RMS error of its one-shot answers on its 113 validation
    jobs, overall and by T* band, and it is what :func:`oneshot_validation_error` measures there (lj_inverse_v4:
    sigma 0.23 %, epsilon 3.5 % overall)."""
    from project.model.inverse import InverseModel, KnownJobs, oneshot_validation_error, validation_error_by_band
    from project.model.train import shipped_training_dataset

    inv = InverseModel.load()
    ds, _ = shipped_training_dataset()
    rows = np.flatnonzero(np.isin(np.asarray(ds.job_ids), inv.meta["split_job_ids"]["val"]))
    t = ds.table.iloc[rows]
    jobs = KnownJobs(ds.r_nm, ds.g[rows], t["sigma"], t["T_star"], t["rho_star"])
    err = oneshot_validation_error(inv, jobs)
    stored = inv.meta["validation_error"]
    assert stored["n_jobs"] == err["n_jobs"] == 113
    assert (stored["sigma"], stored["epsilon"]) == pytest.approx((err["sigma"], err["epsilon"]), rel=1e-9)
    assert (err["sigma"], err["epsilon"]) == pytest.approx((0.00225, 0.0351), abs=5e-4)
    bands = validation_error_by_band(inv, jobs)
    assert [b["epsilon"] for b in bands] == pytest.approx([b["epsilon"] for b in inv.meta["validation_error_by_band"]])
    assert sum(b["n_jobs"] for b in bands) == 113


def test_a_second_minimum_within_the_2std_rise_is_inside_the_interval():
    """near_minima keeps the other refinements whose cost, counted on the kept one's points, is within 4 x scale
    of the kept one's (by hand: kept 100 over 50 points; others 2.06 / 2.09 per point -> 103 / 104.5: the first
    is within 4, the second not; with scale 2 both are)."""
    from types import SimpleNamespace

    from project.model.fit.uncertainty import near_minima

    a, b = SimpleNamespace(cost_per_point=2.06), SimpleNamespace(cost_per_point=2.09)
    ref = SimpleNamespace(cost_per_point=2.0, n_used=50, alternatives=[a, b])
    assert near_minima(ref, 1.0) == [a]
    assert near_minima(ref, 2.0) == [a, b]

"""Designs: reproducibility, the stable-fluid restriction and the design domain."""

from __future__ import annotations

import numpy as np
import pytest

from project import eos
from project.design import DOMAIN, load_design, make_design
from project.statepoint import reduced_state


def test_sobol_design_is_reproducible_and_in_domain():
    design = dict(load_design("domain"), n=300)
    a, b = make_design(design), make_design(design)
    assert a == b
    assert len(a) == 300
    for sp in a:
        t_star, rho_star = reduced_state(sp)
        assert DOMAIN["sigma"][0] <= sp["sigma"] <= DOMAIN["sigma"][1]
        assert DOMAIN["epsilon"][0] <= sp["epsilon"] <= DOMAIN["epsilon"][1]
        # rounding T and rho to 6 significant digits moves T*, rho* by < 1e-5 relative
        assert DOMAIN["T_star"][0] * (1 - 1e-5) <= t_star <= DOMAIN["T_star"][1] * (1 + 1e-5)
        assert DOMAIN["rho_star"][0] * (1 - 1e-5) <= rho_star <= DOMAIN["rho_star"][1] * (1 + 1e-5)
        assert eos.phase_of(t_star, rho_star) == "fluid"


def test_different_seed_gives_different_design():
    design = dict(load_design("domain"), n=20)
    assert make_design(design) != make_design(dict(design, seed=design["seed"] + 1))


def test_lhs_design():
    pts = make_design({"kind": "lhs", "n": 50, "seed": 3, **{k: list(v) for k, v in DOMAIN.items()}})
    assert len(pts) == 50
    assert len({(p["sigma"], p["T"]) for p in pts}) == 50


def test_grid_skips_unstable_states():
    pts = make_design(
        {"kind": "grid", "sigma": [0.3], "epsilon": [1.0], "T_star": [0.9, 1.5], "rho_star": [0.5, 0.8], "replicas": 2}
    )
    # (0.9, 0.5) is inside the coexistence dome -> 3 states x 2 replicas
    assert len(pts) == 6
    assert sorted({p["replica"] for p in pts}) == [0, 1]


def test_bad_design_fields():
    with pytest.raises(ValueError, match="'kind'"):
        make_design({"kind": "random"})
    with pytest.raises(ValueError, match="'n'"):
        make_design({"kind": "sobol", "n": 0})
    with pytest.raises(FileNotFoundError, match="default"):
        load_design("no-such-design")


def test_blind_transfer_designs_are_paired_hot_and_apart_from_every_training_state():
    """The two blind transferability designs (benchmarks/bench_independent.py) hold the same 128 states, all hotter
    than the training range (T* 2.5-3.5, by construction of the designs), and none of them is a state of the designs
    the shipped dataset was simulated from (training, liquid, transfer): the nearest is > 1e-3 away in (T*, rho*)."""
    hot, blind = make_design(load_design("independent_hot")), make_design(load_design("transfer_blind"))
    assert len(hot) == len(blind) == 128
    for a, b in zip(hot, blind):
        assert (a["sigma"], a["epsilon"], a["T"], a["rho"]) == (b["sigma"], b["epsilon"], b["T"], b["rho"])
        assert (a["N"], a["cutoff"], a["dt"], b["N"], b["cutoff"], b["dt"]) == (864, 2.5, 0.002, 1000, 3.0, 0.004)
    new = np.array([reduced_state(sp) for sp in hot])
    assert new[:, 0].min() >= 2.5 * (1 - 1e-5) and new[:, 0].max() <= 3.5 * (1 + 1e-5)
    old = np.array(
        [reduced_state(sp) for name in ("training", "liquid", "transfer") for sp in make_design(load_design(name))]
    )
    assert len(old) == 400  # the shipped dataset's 400 jobs (README)
    nearest = np.sqrt(((new[:, None, :] - old[None, :, :]) ** 2).sum(-1)).min()
    assert nearest > 1e-3


def test_metastable_design_adds_supercooled_states_and_marks_them():
    """triple.json asks for the metastable liquid: its states below the triple point T* 0.694 and beyond freezing
    carry metastable = 1 and lie in the band of project.eos.metastable_liquid_range; the stable ones do not."""
    pts = make_design(load_design("triple"))
    assert len(pts) == 96
    reduced = np.array([reduced_state(sp) for sp in pts])
    marked = np.array(["metastable" in sp for sp in pts])
    assert (reduced[:, 0] < 0.694).sum() == 31 and marked.sum() == 63  # counts of this seed
    for (t_star, rho_star), mark in zip(reduced, marked):
        assert mark == (eos.phase_of(t_star, rho_star) != "fluid")
        if mark:
            lo, hi = eos.metastable_liquid_range(t_star)
            assert lo * (1 - 1e-5) <= rho_star < hi * (1 + 1e-5)
    # the same ranges without "metastable" keep only stable states
    stable = make_design(dict(load_design("triple"), metastable=False, n=40))
    assert all("metastable" not in sp and eos.is_stable_fluid(*reduced_state(sp)) for sp in stable)


def test_log_axis_spreads_hot_states_evenly_in_log_t():
    """hot_wide.json samples T* 2.5-10 in log T*: about half the states below the geometric mean sqrt(2.5 x 10) = 5
    (63 of 128), against a quarter (2.5 of 7.5) for linear sampling; all below the freezing line."""
    pts = make_design(load_design("hot_wide"))
    reduced = np.array([reduced_state(sp) for sp in pts])
    assert len(pts) == 128 and (reduced[:, 0] < 5.0).sum() == 63
    assert reduced[:, 1].max() == pytest.approx(1.2, abs=0.005)
    assert all(eos.phase_of(t, r) == "fluid" for t, r in reduced)
    linear = np.array([reduced_state(sp) for sp in make_design(dict(load_design("hot_wide"), log=[]))])
    assert abs((linear[:, 0] < 5.0).mean() - 2.5 / 7.5) < 0.1


def test_bad_metastable_and_log_fields():
    base = {"kind": "sobol", "n": 4, "seed": 1}
    with pytest.raises(ValueError, match="'metastable': got 'yes'"):
        make_design(dict(base, metastable="yes"))
    with pytest.raises(ValueError, match="'log': got \\['T'\\]"):
        make_design(dict(base, log=["T"]))
    with pytest.raises(ValueError, match="'log': only for kind sobol or lhs"):
        make_design({"kind": "grid", "sigma": [0.3], "epsilon": [1.0], "T_star": [1.5], "rho_star": [0.5], "log": []})


def test_shipped_designs_keep_their_job_ids():
    """The designs shipped before metastable states and log axes existed give the same state points (hash of their
    canonical JSON, recorded before the change), so their data spaces keep their job ids."""
    import hashlib
    import json

    expected = {
        "training": "4058e277242e",
        "liquid": "ba5fee454459",
        "transfer": "416d6174abd9",
        "edge": "395b7dfe8125",
    }
    for name, digest in expected.items():
        text = json.dumps(make_design(load_design(name)), sort_keys=True)
        assert hashlib.sha1(text.encode()).hexdigest()[:12] == digest


def test_mie_grid_design_accepts_the_stable_mie_fluid_of_each_exponent():
    """A lambda_r axis: each state is accepted by its own exponent's phase check (SAFT-VR Mie dome, density cap),
    lambda_r 12 gives plain LJ state points (no lambda_r key, the LJ job ids)."""
    grid = {"kind": "grid", "sigma": [0.3], "epsilon": [1.0], "T_star": [1.0, 2.0], "rho_star": [0.5, 0.8]}
    pts = make_design(dict(grid, lambda_r=[8.0, 12.0, 20.0]))
    got = {(round(reduced_state(p)[0], 3), round(reduced_state(p)[1], 3), p.get("lambda_r")) for p in pts}
    # lambda_r 8 at T* 1 is inside its dome (T*c 1.79) at both densities, LJ at (1.0, 0.5) too (T*c 1.32); for
    # lambda_r 20, T* 1 is 0.97 T*c and rho* 0.5 lies just above its narrow dome
    assert got == {
        (2.0, 0.5, 8.0), (2.0, 0.8, 8.0),
        (1.0, 0.8, None), (2.0, 0.5, None), (2.0, 0.8, None),
        (1.0, 0.5, 20.0), (1.0, 0.8, 20.0), (2.0, 0.5, 20.0), (2.0, 0.8, 20.0),
    }  # fmt: skip
    assert eos.mie_coexistence_densities(1.0, 20.0)[1] < 0.5
    lj_only = make_design(grid)
    assert [p for p in pts if "lambda_r" not in p] == lj_only


def test_mie_sobol_design_and_refusals():
    design = {"kind": "sobol", "n": 16, "seed": 5, "T_star": [0.7, 3.0], "rho_star": [0.3, 0.95]}
    pts = make_design(dict(design, lambda_r=[8.0, 32.0], log=["lambda_r"]))
    assert len(pts) == 16
    for sp in pts:
        assert 8.0 <= sp["lambda_r"] <= 32.0
        assert eos.mie_phase_of(*reduced_state(sp), sp["lambda_r"]) == "fluid"
    with pytest.raises(ValueError, match="'metastable': got true with a lambda_r axis"):
        make_design(dict(design, lambda_r=[8.0, 32.0], metastable=True))
    with pytest.raises(ValueError, match="'lambda_r': got \\[6.0, 6.5\\]; allowed: .*7.0"):
        make_design(dict(design, lambda_r=[6.0, 6.5]))


def test_shipped_mie_designs_are_disjoint():
    """The held-out Mie design (mie_test) shares no state with the training one (mie): the nearest pair is apart in
    (T*, rho*, lambda_r)."""
    train = make_design(dict(load_design("mie"), n=64))
    test = make_design(dict(load_design("mie_test"), n=16))
    a = np.array([[*reduced_state(p), p.get("lambda_r", 12.0)] for p in train])
    b = np.array([[*reduced_state(p), p.get("lambda_r", 12.0)] for p in test])
    dist = np.min(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1))
    assert dist > 1e-3

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

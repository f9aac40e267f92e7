"""Designs: reproducibility, the stable-fluid restriction and the design domain."""

from __future__ import annotations

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
    pts = make_design({"kind": "grid", "sigma": [0.3], "epsilon": [1.0], "T_star": [0.9, 1.5],
                       "rho_star": [0.5, 0.8], "replicas": 2})
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

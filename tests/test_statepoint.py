"""State-point schema: accept and refuse cases, normalisation and job-id stability."""

from __future__ import annotations

import json

import pytest

from project import eos
from project.errors import StatePointError
from project.statepoint import lambda_r, load_schema, migrate, normalise, reduced_state, schema_version
from project.units import KB


def test_accepts_liquid_and_applies_defaults(argon_like):
    sp = normalise(argon_like)
    schema = load_schema()
    # every key; the optional "metastable" and "lambda_r" (no default) only where a state needs them
    assert set(sp) == set(schema["properties"]) - {"metastable", "lambda_r"}
    assert sp["N"] == 1000 and isinstance(sp["N"], int)
    assert sp["cutoff"] == 3.0
    t_star, rho_star = reduced_state(sp)
    # T* and rho* survive the 6-significant-digit rounding to 1e-5 relative
    assert t_star == pytest.approx(1.0, rel=1e-5)
    assert rho_star == pytest.approx(0.8, rel=1e-5)


def test_float_noise_maps_to_same_statepoint(argon_like):
    a = dict(argon_like, sigma=0.1 + 0.24, N=1000.0)
    b = dict(argon_like, sigma=0.34, N=1000)
    assert 0.1 + 0.24 != 0.34  # the float noise is real
    assert json.dumps(normalise(a), sort_keys=True) == json.dumps(normalise(b), sort_keys=True)


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"sigma": -0.3}, "sigma", "> 0.05"),
        ({"T": 0}, "T", "> 0"),
        ({"rho": "20"}, "rho", "type str"),
        ({"N": 1000.5}, "N", "whole number"),
        ({"N": True}, "N", "type bool"),
        ({"epsilon": float("nan")}, "epsilon", "nan"),
        ({"bogus": 1}, "bogus", "unknown field"),
        ({"cutoff": 1.0}, "cutoff", ">= 2.0"),
        ({"t_sample": 500.0}, "t_sample", "longer than t_prod"),
    ],
)
def test_refuses_schema_violations(argon_like, change, field, fragment):
    with pytest.raises(StatePointError) as err:
        normalise(dict(argon_like, **change))
    assert err.value.field == field
    assert fragment in str(err.value)


def test_refuses_missing_key(argon_like):
    sp = dict(argon_like)
    del sp["rho"]
    with pytest.raises(StatePointError, match="'rho': missing required field"):
        normalise(sp)


def test_refuses_density_beyond_close_packing(argon_like):
    with pytest.raises(StatePointError, match="rho\\* <= 1.2"):
        normalise(dict(argon_like, rho=1.5 / 0.34**3))


def test_refuses_two_phase_state(argon_like):
    # T* = 0.85, rho* = 0.5 lies between the saturated densities 0.0096 and 0.776 (Thol 2016 EOS; the
    # reference lists rho*_l = 0.776 at T* = 0.85)
    sp = dict(argon_like, T=0.85 * 0.99 / KB, rho=0.5 / 0.34**3)
    with pytest.raises(StatePointError, match="coexistence") as err:
        normalise(sp)
    assert err.value.field == "rho"


def test_refuses_solid(argon_like):
    sp = dict(argon_like, T=0.8 * 0.99 / KB, rho=0.95 / 0.34**3)
    with pytest.raises(StatePointError, match="freezing line"):
        normalise(sp)


def test_refuses_temperature_below_schema_limit(argon_like):
    with pytest.raises(StatePointError, match="T\\* = k_B T/epsilon = 0.5; allowed: 0.6 <= T\\*"):
        normalise(dict(argon_like, T=0.5 * 0.99 / KB))


def _at(argon_like, t_star, rho_star, **extra):
    return dict(argon_like, T=t_star * 0.99 / KB, rho=rho_star / 0.34**3, **extra)


def test_supercooled_liquid_only_with_metastable(argon_like):
    """T* 0.65 < triple point 0.694: no stable liquid; the metastable band starts at the saturated-liquid density
    0.8639 (Thol 2016 EOS, metastable VLE) and is 0.04 wide."""
    with pytest.raises(StatePointError, match="allowed at this T\\*: none .*0.8639 <= rho\\* < 0.9039") as err:
        normalise(_at(argon_like, 0.65, 0.88))
    assert err.value.field == "rho"
    sp = normalise(_at(argon_like, 0.65, 0.88, metastable=1))
    assert sp["metastable"] == 1
    with pytest.raises(StatePointError, match="freezing line"):  # beyond the band
        normalise(_at(argon_like, 0.65, 0.91, metastable=1))
    with pytest.raises(StatePointError, match="metastable liquid 0.8639 <= rho"):  # below it: under tension
        normalise(_at(argon_like, 0.65, 0.85, metastable=1))


def test_compressed_liquid_band_above_freezing(argon_like):
    """T* 0.8: the liquid freezes at rho* 0.8754 (Mastny & de Pablo 2007); metastable = 1 allows up to 0.9154."""
    assert eos.metastable_liquid_range(0.8) == pytest.approx((0.8754, 0.9154), abs=1e-4)
    with pytest.raises(StatePointError, match="rho\\* < 0.8754; with metastable = 1 also"):
        normalise(_at(argon_like, 0.8, 0.9))
    assert normalise(_at(argon_like, 0.8, 0.9, metastable=1))["metastable"] == 1


def test_metastable_key_leaves_stable_job_ids_alone(argon_like):
    """metastable = 1 on a stable state, or = 0 anywhere, gives the canonical form (and job id) without the key."""
    plain = normalise(argon_like)
    assert "metastable" not in plain
    assert normalise(dict(argon_like, metastable=1)) == plain
    assert normalise(dict(argon_like, metastable=0)) == plain
    with pytest.raises(StatePointError, match="'metastable'.*<= 1"):
        normalise(dict(argon_like, metastable=2))


def test_triple_temperature_where_saturated_liquid_meets_freezing():
    """Reference: the LJ triple point T* = 0.694 (Mastny & de Pablo 2007 simulations); the two equations cross at
    0.6937."""
    assert eos.triple_temperature() == pytest.approx(0.694, abs=1e-3)


def test_refuses_box_smaller_than_twice_cutoff(argon_like):
    with pytest.raises(StatePointError, match="twice the cutoff") as err:
        normalise(dict(argon_like, N=100))
    assert err.value.field == "N"


def test_coexistence_matches_published_saturated_liquid():
    # Saturated-liquid rho* from Thol et al. (tests/data/reference/nist_lj_configs.md): 0.821 at T*=0.75,
    # 0.799 at 0.80, 0.776 at 0.85, 0.753 at 0.90 (rounded to 3 digits -> tolerance 1e-3)
    for t_star, rho_l in [(0.75, 0.821), (0.80, 0.799), (0.85, 0.776), (0.90, 0.753)]:
        assert eos.coexistence_densities(t_star)[1] == pytest.approx(rho_l, abs=1.5e-3)
    tc, rhoc = eos.critical_point()
    assert tc == pytest.approx(1.32, abs=0.01)  # Thol 2016 critical temperature
    assert rhoc == pytest.approx(0.31, abs=0.01)


def test_freezing_line_at_triple_point():
    # Mastny & de Pablo (2007) liquid density at freezing; the triple-point liquid density is ~0.845
    # (tests/data/reference/nist_lj_configs.md) at T* ~ 0.694
    assert eos.freezing_density(0.694) == pytest.approx(0.845, abs=0.01)


def test_thol_values_from_reference():
    # Thol values quoted in tests/data/reference/nist_lj_configs.md (full LJ)
    for t, r, u, p in [(1.0, 0.8, -5.5344, 1.0233), (2.0, 0.9, -5.0263, 9.0898), (2.0, 0.5, -3.1525, 1.0752)]:
        uu, pp = eos.thol_energy_pressure(t, r)
        assert uu == pytest.approx(u, abs=1e-3)
        assert pp == pytest.approx(p, abs=1e-3)


# ------------------------------------------------------------------------------------------- Mie lambda_r


def _mie(argon_like: dict, t_star: float, rho_star: float, lam) -> dict:
    sigma, eps = argon_like["sigma"], argon_like["epsilon"]
    return dict(argon_like, T=t_star * eps / KB, rho=rho_star / sigma**3, lambda_r=lam)


def test_lambda_r_12_is_the_lj_job(argon_like):
    """Schema version 2: lambda_r = 12 (int or float) is dropped, so LJ state points keep their version 1 job id."""
    assert schema_version() == 2
    lj = normalise(argon_like)
    for lam in (12, 12.0, 12.0000001):
        assert json.dumps(normalise(dict(argon_like, lambda_r=lam)), sort_keys=True) == json.dumps(lj, sort_keys=True)
    assert lambda_r(lj) == 12.0
    assert migrate(lj, 1) == lj
    with pytest.raises(StatePointError, match="'version': got 3"):
        migrate(lj, 3)


@pytest.mark.parametrize(
    ("lam", "fragment"),
    [
        (6.5, ">= 7.0"),
        (6.9999, ">= 7.0"),
        ("20", "type str"),
        (None, "type NoneType"),
        (float("nan"), "nan"),
        (60.0, "<= 50.0"),
        (True, "type bool"),
    ],
)
def test_lambda_r_below_7_or_not_a_number_is_refused(argon_like, lam, fragment):
    with pytest.raises(StatePointError) as err:
        normalise(dict(argon_like, lambda_r=lam))
    assert err.value.field == "lambda_r"
    assert fragment in str(err.value)


def test_mie_state_keeps_lambda_r_and_is_phase_checked_with_saft(argon_like):
    sp = normalise(_mie(argon_like, 1.0, 0.8, 20))
    assert sp["lambda_r"] == 20.0 and lambda_r(sp) == 20.0
    # lambda_r 8 at T* 1 lies inside its vapour-liquid dome (SAFT-VR Mie T*c = 1.79)
    with pytest.raises(StatePointError, match="'rho': .*coexistence region \\(SAFT-VR Mie\\)"):
        normalise(_mie(argon_like, 1.0, 0.5, 8))
    # lambda_r 32 at T* 1, rho* 0.9 lies beyond the conservative density cap
    with pytest.raises(StatePointError, match="'rho': .*density cap"):
        normalise(_mie(argon_like, 1.0, 0.9, 32))
    with pytest.raises(StatePointError, match="'metastable': .*LJ"):
        normalise(dict(_mie(argon_like, 1.0, 0.8, 20), metastable=1))


def test_saft_vr_mie_critical_points():
    """SAFT-VR Mie (Lafitte et al. 2013) at lambda_r 12: critical temperature within 1 % of the Thol et al. (2016)
    LJ value 1.32 and saturated liquid at T* 0.9 within 0.02 of it; the critical temperature falls as the repulsion
    steepens (at fixed attraction exponent 6 the well narrows)."""
    tc12, _ = eos.mie_critical_point(12.0)
    assert tc12 == pytest.approx(eos.critical_point()[0], rel=0.01)
    assert eos.mie_coexistence_densities(0.9, 12.0)[1] == pytest.approx(eos.coexistence_densities(0.9)[1], abs=0.02)
    tcs = [eos.mie_critical_point(lam)[0] for lam in (8.0, 12.0, 20.0, 32.0)]
    assert tcs == sorted(tcs, reverse=True)


def test_mie_density_cap_is_the_freezing_line_at_12_and_scales_with_softness():
    """At lambda_r 12 the mapped cap is the Mastny & de Pablo freezing line minus the margin; a softer repulsion
    (smaller Barker-Henderson diameter) allows a denser fluid, a steeper one a less dense one."""
    for t in (0.8, 1.5, 3.0):
        assert eos.mie_density_cap(t, 12.0) == pytest.approx(eos.freezing_density(t) - eos.MIE_CAP_MARGIN, abs=1e-9)
        assert eos.mie_density_cap(t, 8.0) > eos.mie_density_cap(t, 12.0) > eos.mie_density_cap(t, 32.0)

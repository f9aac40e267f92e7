"""Phase boundaries and thermodynamics of the Lennard-Jones fluid in reduced units.

The stable single-phase fluid is the region outside the vapour-liquid coexistence dome and below the freezing
line. Both boundaries come from published equations:

* Vapour-liquid coexistence: the reference equation of state of Thol et al., J. Phys. Chem. Ref. Data 45,
  023101 (2016), through NIST's ``teqp`` package (critical point T*c = 1.32, rho*c = 0.31).
* Freezing line (density of the liquid at freezing): Mastny & de Pablo, J. Chem. Phys. 127, 104504 (2007),
  Eq. 21, rho*_f = beta^(-1/4) (0.90735 - 0.27120 b + 0.91784 b^2 - 1.16270 b^3 + 0.68012 b^4 - 0.15284 b^5)
  with b = 1/T*; it gives rho*_f = 0.848 at the triple point T* = 0.7.

The two curves cross at the triple temperature (:func:`triple_temperature`, T* = 0.694 with these equations). Below
it no liquid is stable; a metastable (supercooled or compressed) liquid can still be simulated for the length of a
run, and is allowed only where a design asks for it (:func:`metastable_liquid_range`): a band of width
:data:`METASTABLE_DRHO` in rho* above the densest stable liquid, i.e. above the freezing density at T* >= T*_t and
above the saturated-liquid density of the (metastable) vapour-liquid equilibrium below T*_t. Whether a run stayed
liquid is checked on its trajectory (:mod:`project.structure`).

All quantities here are reduced (T* = k_B T / epsilon, rho* = rho sigma^3); the full (untruncated) LJ potential.

Mie lambda_r-6 fluids (u = C epsilon [(sigma/r)^lambda_r - (sigma/r)^6], C = lambda_r/(lambda_r - 6)
(lambda_r/6)^(6/(lambda_r - 6)); lambda_r = 12 is the LJ fluid and uses the equations above):

* Vapour-liquid coexistence from the SAFT-VR Mie equation of state (Lafitte et al., J. Chem. Phys. 139, 154504
  (2013); teqp kind ``SAFT-VR-Mie``, one segment). At lambda_r = 12 its critical point is T*c = 1.312 (Thol et al.:
  1.32).
* No published freezing line covers lambda_r 7-50, so the densest allowed fluid is a conservative cap
  (:func:`mie_density_cap`): the LJ freezing line of Mastny & de Pablo mapped at equal Barker-Henderson packing
  fraction, rho*_cap(T*, lambda_r) = rho*_f,LJ(T*) (d_LJ(T*) / d_lambda(T*))^3 - :data:`MIE_CAP_MARGIN`, with
  d = int_0^sigma [1 - exp(-u(r) / k_B T)] dr. Below :data:`MIE_T_MIN_OVER_TC` T*c no state is accepted. Runs that
  crystallise anyway are found by the structural check (:mod:`project.structure`).
* No metastable-liquid band: ``metastable`` applies to the LJ fluid only.
"""

from __future__ import annotations

import functools
import math

import numpy as np

#: Coefficients of the Mastny & de Pablo (2007) liquid freezing density, Eq. 21.
_MDP_LIQUID = (0.90735, -0.27120, 0.91784, -1.16270, 0.68012, -0.15284)
#: Lowest reduced temperature for which the coexistence curve is tabulated (below the triple point 0.694).
T_MIN_TABLE = 0.6
#: Width (in rho*) of the metastable-liquid band above the densest stable liquid (see :func:`metastable_liquid_range`):
#: a third of the solid-liquid density gap at the triple point (liquid 0.845, solid 0.961), so that the liquid is
#: compressed by at most ~0.04 beyond freezing, where crystallisation within a 100-tau run is the exception.
METASTABLE_DRHO = 0.04
#: Repulsive exponent of the Lennard-Jones fluid (the Mie 12-6 fluid).
LJ_LAMBDA_R = 12.0
#: Safety margin (in rho*) of the Mie density cap below the mapped LJ freezing line (see :func:`mie_density_cap`).
MIE_CAP_MARGIN = 0.03
#: Lowest accepted reduced temperature of a Mie fluid as a fraction of its SAFT-VR Mie critical temperature (the LJ
#: triple point is at 0.53 T*c); below it the coexistence table is not built and every state is refused.
MIE_T_MIN_OVER_TC = 0.5
#: Length (m) and energy (K) scales of the SAFT-VR Mie model in teqp's SI units; results are reduced by them.
_SAFT_SIGMA_M = 3.0e-10
_SAFT_EPS_K = 100.0
_NA = 6.02214076e23


@functools.lru_cache(maxsize=1)
def _model():
    import teqp

    return teqp.make_model({"kind": "LJ126_TholJPCRD2016", "model": {}})


@functools.lru_cache(maxsize=1)
def critical_point() -> tuple[float, float]:
    """Return the reduced critical point (T*c, rho*c) of the Thol et al. (2016) equation of state."""
    Tc, rhoc = _model().solve_pure_critical(1.32, 0.31)
    return float(Tc), float(rhoc)


@functools.lru_cache(maxsize=1)
def _coexistence_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tabulate (T*, rho*_vapour, rho*_liquid) from T_MIN_TABLE up to just below the critical point."""
    model = _model()
    z = np.array([1.0])
    Tc, rhoc = critical_point()
    temps = np.concatenate([np.linspace(T_MIN_TABLE, Tc - 0.02, 120), np.linspace(Tc - 0.0195, Tc - 1e-4, 60)])
    rho_l, rho_v = 0.85, 1e-3
    rows = []
    for T in temps:
        rl, rv = model.pure_VLE_T(float(T), rho_l, rho_v, 50, z)
        if not (np.isfinite(rl) and np.isfinite(rv)) or abs(rl - rv) < 1e-6:
            break
        rho_l, rho_v = float(rl), float(rv)
        rows.append((float(T), rho_v, rho_l))
    rows.append((Tc, rhoc, rhoc))
    arr = np.array(rows)
    return arr[:, 0], arr[:, 1], arr[:, 2]


def coexistence_densities(T_star: float) -> tuple[float, float] | None:
    """Return the saturated (vapour, liquid) reduced densities at T*, or None above the critical point.

    Parameters
    ----------
    T_star : float
        Reduced temperature k_B T / epsilon (dimensionless), at least 0.6.
    """
    Tc, _ = critical_point()
    if T_star >= Tc:
        return None
    temps, rv, rl = _coexistence_table()
    if T_star < temps[0]:
        raise ValueError(f"T* = {T_star:g} is below the tabulated coexistence range (T* >= {temps[0]:g})")
    return float(np.interp(T_star, temps, rv)), float(np.interp(T_star, temps, rl))


def freezing_density(T_star: float) -> float:
    """Return the reduced density of the liquid at freezing (Mastny & de Pablo 2007, Eq. 21).

    Parameters
    ----------
    T_star : float
        Reduced temperature k_B T / epsilon (dimensionless), > 0.
    """
    b = 1.0 / T_star
    poly = sum(c * b**i for i, c in enumerate(_MDP_LIQUID))
    return b**-0.25 * poly


@functools.lru_cache(maxsize=1)
def triple_temperature() -> float:
    """Return the reduced triple temperature T*_t: where the saturated-liquid density (Thol et al. 2016) equals the
    liquid freezing density (Mastny & de Pablo 2007); 0.6937 (simulations: 0.694)."""
    from scipy.optimize import brentq

    return float(brentq(lambda t: coexistence_densities(t)[1] - freezing_density(t), 0.65, 0.75, xtol=1e-6))


def metastable_liquid_range(T_star: float) -> tuple[float, float]:
    """Return the reduced-density band ``[lo, hi)`` of the metastable liquid at T*.

    ``lo`` is the densest stable liquid: the freezing density at T* >= T*_t, the saturated-liquid density of the
    metastable vapour-liquid equilibrium below T*_t (no liquid is stable there); ``hi = lo +``
    :data:`METASTABLE_DRHO`. A homogeneous liquid in this band is metastable against crystallisation.

    Parameters
    ----------
    T_star : float
        Reduced temperature k_B T / epsilon (dimensionless), at least :data:`T_MIN_TABLE`.
    """
    lo = freezing_density(T_star)
    if T_star < triple_temperature():
        lo = coexistence_densities(T_star)[1]
    return lo, lo + METASTABLE_DRHO


def is_metastable_liquid(T_star: float, rho_star: float) -> bool:
    """Return True when (T*, rho*) lies in the metastable-liquid band of :func:`metastable_liquid_range`."""
    lo, hi = metastable_liquid_range(T_star)
    return lo <= rho_star < hi


def phase_of(T_star: float, rho_star: float) -> str:
    """Classify a reduced state as ``"fluid"``, ``"two-phase"`` or ``"solid"``.

    Parameters
    ----------
    T_star : float
        Reduced temperature (dimensionless).
    rho_star : float
        Reduced number density rho sigma^3 (dimensionless).
    """
    if rho_star >= freezing_density(T_star):
        return "solid"
    coex = coexistence_densities(T_star)
    if coex is not None and coex[0] < rho_star < coex[1]:
        return "two-phase"
    return "fluid"


def is_stable_fluid(T_star: float, rho_star: float) -> bool:
    """Return True when (T*, rho*) lies in the stable single-phase fluid."""
    return phase_of(T_star, rho_star) == "fluid"


def thol_energy_pressure(T_star: float, rho_star: float) -> tuple[float, float]:
    """Return (U*/N, P*) of the full LJ fluid from the Thol et al. (2016) equation of state.

    U*/N = T* Ar10 and P* = rho* T* (1 + Ar01), both in reduced units.
    """
    model = _model()
    z = np.array([1.0])
    u = T_star * model.get_Ar10(T_star, rho_star, z)
    p = rho_star * T_star * (1.0 + model.get_Ar01(T_star, rho_star, z))
    return float(u), float(p)


def structure_factor_zero(T_star: np.ndarray | float, rho_star: np.ndarray | float) -> np.ndarray:
    """Long-wavelength limit of the structure factor, S(0) = k_B T (d rho / d p)_T, of the full LJ fluid.

    S(0) = 1 / (1 + 2 Ar01 + Ar02) from the Thol et al. (2016) equation of state (teqp), with Ar0n = rho^n
    d^n alpha_r / d rho^n; dimensionless. It diverges at the critical point and is ~0.07 in the dense liquid.

    Parameters
    ----------
    T_star, rho_star : float or array
        Reduced temperature k_B T / epsilon and density rho sigma^3 (dimensionless; broadcast together).
    """
    model = _model()
    z = np.array([1.0])
    t, r = np.broadcast_arrays(np.asarray(T_star, dtype=float), np.asarray(rho_star, dtype=float))
    out = np.array(
        [
            1.0 / (1.0 + 2.0 * model.get_Ar01(ti, ri, z) + model.get_Ar02(ti, ri, z))
            for ti, ri in zip(t.ravel(), r.ravel())
        ]
    )
    return out.reshape(t.shape)


def is_lj(lambda_r: float) -> bool:
    """Return True when the repulsive exponent is the LJ one (12; dimensionless)."""
    return float(lambda_r) == LJ_LAMBDA_R


def mie_prefactor(lambda_r, lambda_a: float = 6.0):
    """Return C = lambda_r/(lambda_r - lambda_a) (lambda_r/lambda_a)^(lambda_a/(lambda_r - lambda_a)); 4 for 12-6.

    The one definition of the Mie prefactor (dimensionless); ``lambda_r`` a number or an array (element-wise)."""
    n, m = np.asarray(lambda_r, dtype=float), float(lambda_a)
    c = n / (n - m) * (n / m) ** (m / (n - m))
    return float(c) if c.ndim == 0 else c


@functools.lru_cache(maxsize=64)
def _saft_model(lambda_r: float):
    import teqp

    coeffs = {
        "name": f"Mie{lambda_r:g}-6",
        "BibTeXKey": "Lafitte-JCP-2013",
        "m": 1.0,
        "sigma_m": _SAFT_SIGMA_M,
        "epsilon_over_k": _SAFT_EPS_K,
        "lambda_r": float(lambda_r),
        "lambda_a": 6.0,
    }
    return teqp.make_model({"kind": "SAFT-VR-Mie", "model": {"coeffs": [coeffs]}})


def _molar(rho_star: float) -> float:
    """Reduced density -> mol/m^3 of the SAFT-VR Mie model."""
    return rho_star / (_SAFT_SIGMA_M**3 * _NA)


@functools.lru_cache(maxsize=64)
def mie_critical_point(lambda_r: float) -> tuple[float, float]:
    """Return the reduced critical point (T*c, rho*c) of the Mie lambda_r-6 fluid from SAFT-VR Mie (teqp)."""
    tc, rc = _saft_model(float(lambda_r)).solve_pure_critical(1.3 * _SAFT_EPS_K, _molar(0.3))
    return float(tc) / _SAFT_EPS_K, float(rc) / _molar(1.0)


@functools.lru_cache(maxsize=64)
def _mie_coexistence_table(lambda_r: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tabulate (T*, rho*_vapour, rho*_liquid) of SAFT-VR Mie from MIE_T_MIN_OVER_TC T*c to the critical point."""
    model = _saft_model(float(lambda_r))
    z = np.array([1.0])
    tc, rhoc = mie_critical_point(lambda_r)
    temps = np.concatenate(
        [np.linspace(MIE_T_MIN_OVER_TC * tc, tc - 0.02, 100), np.linspace(tc - 0.0195, tc - 1e-4, 40)]
    )
    rho_l, rho_v = 0.9, 1e-4
    rows = []
    for t in temps:
        rl, rv = model.pure_VLE_T(float(t) * _SAFT_EPS_K, _molar(rho_l), _molar(rho_v), 50, z)
        rl, rv = float(rl) / _molar(1.0), float(rv) / _molar(1.0)
        if not (np.isfinite(rl) and np.isfinite(rv)) or abs(rl - rv) < 1e-6:
            break
        rho_l, rho_v = rl, rv
        rows.append((float(t), rv, rl))
    rows.append((tc, rhoc, rhoc))
    arr = np.array(rows)
    return arr[:, 0], arr[:, 1], arr[:, 2]


def mie_coexistence_densities(T_star: float, lambda_r: float) -> tuple[float, float] | None:
    """Return the saturated (vapour, liquid) reduced densities of the Mie lambda_r-6 fluid (SAFT-VR Mie) at T*.

    None above the critical point; ValueError below :data:`MIE_T_MIN_OVER_TC` T*c (dimensionless T*, lambda_r).
    """
    tc, _ = mie_critical_point(lambda_r)
    if T_star >= tc:
        return None
    temps, rv, rl = _mie_coexistence_table(float(lambda_r))
    if T_star < temps[0]:
        raise ValueError(f"T* = {T_star:g} is below the tabulated Mie coexistence range (T* >= {temps[0]:.4g})")
    return float(np.interp(T_star, temps, rv)), float(np.interp(T_star, temps, rl))


@functools.lru_cache(maxsize=4096)
def bh_diameter(T_star: float, lambda_r: float) -> float:
    """Barker-Henderson diameter d / sigma = int_0^1 [1 - exp(-u(x)/T*)] dx of the Mie lambda_r-6 fluid (x = r/sigma).

    Parameters
    ----------
    T_star : float
        Reduced temperature k_B T / epsilon (dimensionless).
    lambda_r : float
        Repulsive exponent (dimensionless); 12 is LJ.
    """
    from scipy.integrate import quad

    c = mie_prefactor(lambda_r)
    x0 = 0.3  # u(0.3 sigma)/epsilon > 1e3 for every lambda_r >= 7: the integrand is 1 below
    val, _ = quad(lambda x: 1.0 - math.exp(-c * (x**-lambda_r - x**-6) / T_star), x0, 1.0, limit=200)
    return x0 + val


def mie_density_cap(T_star: float, lambda_r: float) -> float:
    """Return the densest accepted reduced density of the Mie lambda_r-6 fluid at T* (see the module docstring).

    The Mastny & de Pablo LJ freezing density at T* scaled to equal Barker-Henderson packing fraction,
    ``rho*_f,LJ (d_LJ / d_lambda)^3``, minus :data:`MIE_CAP_MARGIN`. Dimensionless in and out.
    """
    ratio = bh_diameter(T_star, LJ_LAMBDA_R) / bh_diameter(T_star, float(lambda_r))
    return freezing_density(T_star) * ratio**3 - MIE_CAP_MARGIN


def mie_phase_of(T_star: float, rho_star: float, lambda_r: float) -> str:
    """Classify a reduced state of the Mie lambda_r-6 fluid as ``"fluid"``, ``"two-phase"`` or ``"solid"``.

    ``"solid"`` means at or beyond the density cap (:func:`mie_density_cap`) or below :data:`MIE_T_MIN_OVER_TC`
    T*c; ``"two-phase"`` inside the SAFT-VR Mie vapour-liquid dome. lambda_r = 12 uses :func:`phase_of`.
    """
    if is_lj(lambda_r):
        return phase_of(T_star, rho_star)
    tc, _ = mie_critical_point(lambda_r)
    if T_star < MIE_T_MIN_OVER_TC * tc or rho_star >= mie_density_cap(T_star, lambda_r):
        return "solid"
    coex = mie_coexistence_densities(T_star, lambda_r)
    if coex is not None and coex[0] < rho_star < coex[1]:
        return "two-phase"
    return "fluid"


def saft_vr_mie_energy_pressure(T_star: float, rho_star: float, lambda_r: float) -> tuple[float, float]:
    """Return (U*/N, P*) of the full Mie lambda_r-6 fluid from SAFT-VR Mie (Lafitte et al. 2013, teqp).

    U*/N = T* Ar10 and P* = rho* T* (1 + Ar01), reduced by epsilon and sigma (dimensionless).
    """
    model = _saft_model(float(lambda_r))
    z = np.array([1.0])
    t, r = T_star * _SAFT_EPS_K, _molar(rho_star)
    return float(T_star * model.get_Ar10(t, r, z)), float(rho_star * T_star * (1.0 + model.get_Ar01(t, r, z)))

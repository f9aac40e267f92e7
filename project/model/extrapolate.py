"""Thermal extrapolation of simulated RDFs to hotter states (physics-based augmentation).

In reduced units the RDF of the LJ fluid is g*(r*; beta*, rho*) with beta* = 1/T* = epsilon/(k_B T). Writing

    g*(r*) = exp(-beta* u*(r*)) y*(r*; beta*, rho*),   u*(r*) = 4 (r*^-12 - r*^-6),

separates the Boltzmann factor of the pair potential, which is exact and known, from the cavity function y*, which
is smooth in r and, at high temperature, varies slowly and nearly linearly with beta* (the leading term of the
high-temperature expansion). :func:`extrapolate_hot` estimates ln y* at a new, hotter state by a kernel-weighted
local linear fit in (beta*, rho* beta*^a) over the simulated jobs nearest in density, and rebuilds g* from it
with the exact Boltzmann factor at the new beta*. No simulation of the new state is used.

The curves are compared on the density-scaled distance x = r rho^(1/3) = r* rho*^(1/3) (dimensionless), on which
the shells of neighbouring densities line up. The exponent a of the density variable rho* beta*^a was studied
inside the training split (fit on T* 1.2-2.0, extrapolate to its jobs with T* > 2.0): a = 0.1 gives a mean signed
deviation of 0, a = 0.15 the smallest mean absolute one. ``benchmarks/bench_extrapolation.py`` prints both figures
for several a, within the training split and on the transferability states (T* 2.5-3.5, simulated but never used
for the fit): the extrapolation error is at the noise level of one simulated RDF (~0.005 in g), four times smaller
than using the nearest simulated state.

Units: x, r*, T*, rho* are dimensionless (r reduced by sigma in nm, T by epsilon/k_B, rho in nm^-3 by sigma^-3).
"""

from __future__ import annotations

import numpy as np

#: g below which a bin of a reference job does not enter the fit of ln y* (ln g is too noisy there).
G_MIN = 2e-3

#: density-scaled distance grid x = r rho^(1/3) of the extrapolation (dimensionless); RDFs reach r = 1.2 nm, so a
#: job reaches x = 1.79 from rho = 3.3 nm^-3 (the lowest density of the design domain, rho* 0.3 at sigma 0.45 nm)
X_GRID_HOT = np.arange(0.3, 1.79, 0.0025)


def lj_reduced(r_star: np.ndarray) -> np.ndarray:
    """Reduced LJ pair potential u* = 4 (r*^-12 - r*^-6) (dimensionless, in units of epsilon)."""
    inv6 = np.asarray(r_star, dtype=float) ** -6
    return 4.0 * (inv6 * inv6 - inv6)


def bh_diameter(beta_star: np.ndarray | float) -> np.ndarray:
    """Barker-Henderson effective hard-sphere diameter of the LJ fluid, d* = d/sigma (dimensionless).

    d* = int_0^1 [1 - exp(-beta* u*(r*))] dr* over the repulsive range r* < 1 of u* = 4 (r*^-12 - r*^-6)
    (Barker and Henderson, J. Chem. Phys. 47, 4714 (1967)); beta* = epsilon/(k_B T) = 1/T*. The integrand is 1
    below r* = 0.5 for any beta* of a fluid (beta* u* > 40 there for beta* > 0.01), so the quadrature runs over
    0.5-1.

    Parameters
    ----------
    beta_star : float or array
        Reduced inverse temperature 1/T* (dimensionless, > 0).
    """
    beta = np.atleast_1d(np.asarray(beta_star, dtype=float))
    r = np.linspace(0.5, 1.0, 2001)
    f = -np.expm1(-beta[:, None] * lj_reduced(r)[None, :])
    return 0.5 + np.trapezoid(f, r, axis=1)


def to_x_grid(
    r_nm: np.ndarray,
    g: np.ndarray,
    g_err: np.ndarray,
    rho_nm3: np.ndarray,
    x: np.ndarray = X_GRID_HOT,
    interpolation: str = "cubic",
) -> tuple[np.ndarray, np.ndarray]:
    """Resample RDFs from r (nm) to the density-scaled grid x = r rho^(1/3) (NaN beyond each job's r range).

    Parameters
    ----------
    r_nm : array, shape (m,)
        Common r grid of the RDFs (nm).
    g, g_err : arrays, shape (n, m)
        RDFs and their standard errors (dimensionless).
    rho_nm3 : array, shape (n,)
        Number density of each job (nm^-3).
    x : array, shape (k,)
        Target grid (dimensionless).
    interpolation : str
        ``"cubic"`` (default, as in the shipped model: a cubic spline through the bin centres, clipped at g >= 0;
        the errors stay linear) or ``"linear"``. Linear interpolation cuts the first peak between bin centres:
        curves resampled from it onto another grid have a first peak lower than a simulated RDF at that state,
        which the network reads as a 1.4 % lower epsilon (measured on the held-out jobs,
        ``TrainSettings.hot_interp``).
    """
    if interpolation not in ("linear", "cubic"):
        raise ValueError(f"interpolation must be 'linear' or 'cubic', got {interpolation!r}")
    scale = np.cbrt(np.asarray(rho_nm3, dtype=float))
    if interpolation == "cubic":
        from scipy.interpolate import CubicSpline

        g_x = np.array(
            [
                np.where(x <= r_nm[-1] * s, np.clip(CubicSpline(r_nm * s, gi)(x), 0.0, None), np.nan)
                for s, gi in zip(scale, g)
            ]
        )
    else:
        g_x = np.array([np.interp(x, r_nm * s, gi, right=np.nan) for s, gi in zip(scale, g)])
    e_x = np.array([np.interp(x, r_nm * s, ei, right=np.nan) for s, ei in zip(scale, g_err)])
    return g_x, e_x


def extrapolate_hot(
    x: np.ndarray,
    g_ref: np.ndarray,
    g_err_ref: np.ndarray,
    T_star_ref: np.ndarray,
    rho_star_ref: np.ndarray,
    T_star_new: np.ndarray,
    rho_star_new: np.ndarray,
    n_neighbours: int = 24,
    rho_width: float = 0.06,
    exponent: float = 0.1,
    order: int = 1,
    coords: str = "bh",
    eta_width: float = 0.03,
    s0_column: bool = True,
    s0_x_min: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """RDFs at hotter reduced states extrapolated from simulated ones.

    Parameters
    ----------
    x : array, shape (m,)
        Common density-scaled distance grid x = r* rho*^(1/3) (dimensionless, increasing, > 0).
    g_ref, g_err_ref : arrays, shape (n, m)
        Reference RDFs and their standard errors on ``x`` (NaN where a job's r range ends; see :func:`to_x_grid`).
    T_star_ref, rho_star_ref : arrays, shape (n,)
        Reduced states of the reference jobs (use the hottest simulated ones).
    T_star_new, rho_star_new : arrays, shape (k,)
        Reduced states to build.
    n_neighbours : int
        Reference jobs used per new state (nearest in rho*, ties broken by temperature).
    rho_width : float
        Width of the Gaussian kernel in the density variable (dimensionless).
    exponent : float
        a in the density variable rho* beta*^a of the fit and of the neighbour search (0: plain rho*; 0.25 would
        be the soft-sphere scaling of the r^-12 core).
    order : int
        Polynomial order of the fit in beta*: 1 (linear, the leading high-temperature term) or 2 (adds a
        (beta* - beta*_new)^2 column; the density variable stays linear).
    coords : str
        ``"bh"`` (default, as in the shipped model) or ``"x"``. ``"x"``: ln y* is compared at equal x and the
        density variable is rho* beta*^a (``exponent``, kernel width ``rho_width``). ``"bh"``: ln y* is compared
        at equal r*/d* and the density variable is the effective packing fraction eta = pi/6 rho* d*^3 (kernel
        width ``eta_width``), with d* the Barker-Henderson diameter (:func:`bh_diameter`); the thermal softening
        of the core, the main effect of temperature at high T*, is then carried by the exact d*(T*) and the
        linear term in beta* is left with the smaller rest.
    s0_column : bool
        (Default True, as in the shipped model.) Add ln S(0) (the long-wavelength structure factor of the Thol et
        al. equation of state, :func:`project.eos.structure_factor_zero`) as a further regression variable: near
        the critical point the long-range correlations grow with S(0), far from linearly in beta*.
    s0_x_min : float
        With ``s0_column``: use the ln S(0) variable only at x >= s0_x_min (dimensionless; below it its coefficient
        is held at 0 by a large ridge penalty), i.e. only for the long-range part of the RDF.

    Returns
    -------
    (g_new, g_err_new) : arrays, shape (k, m)
        Extrapolated g* and an error estimate (the neighbours' mean standard error, 0 where unknown); NaN where
        a neighbour's r range ends before that x.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2 (polynomial order in 1/T*), got {order!r}")
    if coords not in ("x", "bh"):
        raise ValueError(
            f"coords must be 'x' (equal x, rho* beta*^a) or 'bh' (equal r*/d*, packing fraction with "
            f"the Barker-Henderson diameter d*), got {coords!r}"
        )
    x = np.asarray(x, dtype=float)
    g_ref = np.asarray(g_ref, dtype=float)
    beta_ref = 1.0 / np.asarray(T_star_ref, dtype=float)
    rho_star_ref = np.asarray(rho_star_ref, dtype=float)
    u_ref = lj_reduced(x[None, :] / np.cbrt(rho_star_ref)[:, None])
    if coords == "bh":
        d_ref = bh_diameter(beta_ref)
        rho_ref = np.pi / 6 * rho_star_ref * d_ref**3
        width = eta_width
    else:
        rho_ref = rho_star_ref * beta_ref**exponent
        width = rho_width
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ln_y = np.log(g_ref) + beta_ref[:, None] * u_ref
        rel = np.asarray(g_err_ref, dtype=float) / g_ref
    usable = np.isfinite(ln_y) & (g_ref > G_MIN)
    var = np.where(usable, rel**2 + 1e-4, np.inf)
    x_end = np.array([x[f].max() if f.any() else -np.inf for f in np.isfinite(g_ref)])  # each job's reach in x
    if s0_column:
        from project.eos import structure_factor_zero

        ls0_ref = np.log(structure_factor_zero(1.0 / beta_ref, rho_star_ref))
        ls0_new = np.log(structure_factor_zero(np.asarray(T_star_new, float), np.asarray(rho_star_new, float)))
    k = len(T_star_new)
    g_new = np.full((k, len(x)), np.nan)
    err_new = np.full((k, len(x)), np.nan)
    for i, (t_new, rho_new) in enumerate(zip(np.asarray(T_star_new, float), np.asarray(rho_star_new, float))):
        b_new = 1.0 / t_new
        u = lj_reduced(x / np.cbrt(rho_new))
        if coords == "bh":
            d_new = float(bh_diameter(b_new)[0])
            dens_new = np.pi / 6 * rho_new * d_new**3
        else:
            dens_new = rho_new * b_new**exponent
        nb = np.lexsort((beta_ref, np.abs(rho_ref - dens_new)))[:n_neighbours]
        kern = np.exp(-0.5 * ((rho_ref[nb] - dens_new) / width) ** 2)
        if coords == "bh":
            # each neighbour at the same r*/d* as the new state's grid point: x_ref = x (rho*_ref^1/3 d*_ref) /
            # (rho*_new^1/3 d*_new)
            x_nb = x[None, :] * (np.cbrt(rho_star_ref[nb]) * d_ref[nb] / (np.cbrt(rho_new) * d_new))[:, None]
            lny_nb, var_nb = (
                np.array(
                    [
                        np.interp(xi, x, np.where(usable[j], v[j], np.nan), left=np.nan, right=np.nan)
                        for j, xi in zip(nb, x_nb)
                    ]
                )
                for v in (ln_y, var)
            )
            use_nb = np.isfinite(lny_nb) & np.isfinite(var_nb)
            reach = (x_nb <= x_end[nb][:, None]).sum(0) >= len(nb) // 2
        else:
            lny_nb, var_nb, use_nb = ln_y[nb], var[nb], usable[nb]
            reach = np.isfinite(g_ref[nb]).all(0)
        cols = [np.ones(len(nb)), beta_ref[nb] - b_new, rho_ref[nb] - dens_new]
        if order == 2:
            cols.append((beta_ref[nb] - b_new) ** 2)
        if s0_column:
            cols.append(ls0_ref[nb] - ls0_new[i])
        a = np.stack(cols, axis=1)  # (K, 3 or 4)
        npar = a.shape[1]
        w = np.where(use_nb, kern[:, None] / np.where(use_nb, var_nb, 1.0), 0.0)  # (K, m)
        lhs = np.einsum("km,ki,kj->mij", w, a, a)  # per-bin normal matrices (m, npar, npar)
        if s0_column and s0_x_min > 0:
            inner = x < s0_x_min
            lhs[inner, -1, -1] += 1e8 * (lhs[inner, 0, 0] + 1e-30)
        rhs = np.einsum("km,ki,km->mi", w, a, np.where(use_nb, lny_nb, 0.0))
        n_used = use_nb.sum(0)
        ok = (n_used >= 2 * npar) & (np.linalg.det(lhs + 1e-12 * np.eye(npar)) > 1e-12 * np.abs(lhs).max())
        coef = np.full((len(x), npar), np.nan)
        coef[ok] = np.linalg.solve(lhs[ok], rhs[ok][..., None])[..., 0]
        ln_y_new = coef[:, 0]
        first = int(np.argmax(ok))
        # inside the core no neighbour has g > G_MIN: continue ln y* inwards as a constant; exp(-beta u) ~ 0 there
        ln_y_new[:first] = ln_y_new[first]
        ln_y_new = np.where(ok | (np.arange(len(x)) < first), ln_y_new, np.nan)
        ln_y_new = _fill_gaps(ln_y_new)
        g_i = np.exp(ln_y_new - b_new * u)
        g_new[i] = np.where(reach, g_i, np.nan)
        err_new[i] = np.where(reach, np.nanmean(np.where(np.isfinite(g_ref[nb]), g_err_ref[nb], np.nan), 0), np.nan)
    return g_new, np.nan_to_num(err_new, nan=0.0)


def extrapolation_error(
    ds, ref: np.ndarray, target: np.ndarray, interpolation: str = "cubic", **fit
) -> dict[str, float]:
    """How close extrapolated RDFs come to simulated ones: extrapolate from rows ``ref`` to rows ``target``.

    Parameters
    ----------
    ds : project.export.Dataset
        A loaded export (r in nm, g, g_err, and the table's T_star, rho_star, rho in nm^-3).
    ref, target : arrays of int
        Rows used as references and rows whose states are extrapolated to (and compared with).
    interpolation : str
        As in :func:`to_x_grid` (``"cubic"``, the default, or ``"linear"``).
    **fit
        Keyword arguments of :func:`extrapolate_hot` (``exponent``, ``n_neighbours``, ``coords``, ``s0_column``,
        ...; its defaults otherwise).

    Returns
    -------
    dict
        ``mean_abs`` and ``mean_signed``: mean of |g_extrapolated - g_simulated| and of the signed difference
        over the grid :data:`X_GRID_HOT` and all targets (dimensionless); ``outer_signed``: the mean signed
        difference over x >= 1.3 (beyond the first peak); ``edge_signed``: over 0.8 <= x < 1.0 (the rising edge of
        the first peak at rho* >= 0.5, the first peak itself at lower density); ``nearest``: mean |difference| when
        the closest reference state (in T* and 10 rho*) is used as is, without extrapolation.
    """
    tab = ds.table
    g_x, e_x = to_x_grid(
        ds.r_nm, ds.g.astype(float), ds.g_err.astype(float), tab["rho"].to_numpy(), X_GRID_HOT, interpolation
    )
    T, rho = tab["T_star"].to_numpy(), tab["rho_star"].to_numpy()
    g_new, _ = extrapolate_hot(X_GRID_HOT, g_x[ref], e_x[ref], T[ref], rho[ref], T[target], rho[target], **fit)
    d = g_new - g_x[target]
    near = np.argmin(
        (T[ref][None, :] - T[target][:, None]) ** 2 + (10 * (rho[ref][None, :] - rho[target][:, None])) ** 2, axis=1
    )
    return {
        "mean_abs": float(np.nanmean(np.abs(d))),
        "mean_signed": float(np.nanmean(d)),
        "outer_signed": float(np.nanmean(d[:, X_GRID_HOT >= 1.3])),
        "edge_signed": float(np.nanmean(d[:, (X_GRID_HOT >= 0.8) & (X_GRID_HOT < 1.0)])),
        "nearest": float(np.nanmean(np.abs(g_x[ref][near] - g_x[target]))),
    }


def _fill_gaps(v: np.ndarray) -> np.ndarray:
    """Linear interpolation over interior NaNs of a 1-d array (edges stay NaN)."""
    v = v.copy()
    good = np.isfinite(v)
    if good.sum() >= 2:
        idx = np.arange(len(v))
        lo, hi = idx[good][0], idx[good][-1]
        inner = (idx > lo) & (idx < hi) & ~good
        v[inner] = np.interp(idx[inner], idx[good], v[good])
    return v


__all__ = ["X_GRID_HOT", "bh_diameter", "extrapolate_hot", "extrapolation_error", "lj_reduced", "to_x_grid"]

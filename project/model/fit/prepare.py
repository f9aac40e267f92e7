"""First stage of the fit: check the input and describe it (binning, noise, masked core).

Units: r nm, g dimensionless, T K, rho nm^-3, bin width nm, Q_max A^-1 (``q_max_nm``: nm^-1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from project.errors import RDFError
from project.model.fit.settings import BIN_WIDTH_RANGE, CORE_MASK_G, Q_MAX_RANGE, FitOptions


@dataclass
class PreparedInput:
    """A checked RDF and what the fit needs to know about it.

    Attributes
    ----------
    r, g, e : numpy.ndarray
        Points up to 3.2 first-peak distances (the rest is never used): r (nm), g, 1-std noise of g.
    n_in : int
        Number of points of the input as given.
    width : float
        Median point spacing (nm): the histogram bin width of a uniform grid.
    uniform : bool
        The grid is uniform.
    binning : str
        ``"histogram"`` (values are shell averages over bins of ``width``) or ``"points"``.
    i0 : int
        Index of the first point of the rise of g; points before it (the empty core) are masked.
    noise_source : str
        ``"third column"`` or ``"estimated from the curve"``.
    q_max_nm : float or None
        Q_max of a scattering input in nm^-1 (None: none).
    warnings : list of str
        What the checks noticed.
    """

    r: np.ndarray
    g: np.ndarray
    e: np.ndarray
    n_in: int
    width: float
    uniform: bool
    binning: str
    i0: int
    noise_source: str
    q_max_nm: float | None
    warnings: list[str] = field(default_factory=list)


def estimate_noise(r: np.ndarray, g: np.ndarray, histogram: bool = True) -> np.ndarray:
    """Noise of g (1 std per point, dimensionless) from its fourth differences.

    For white noise d_i = (g_{i-2} - 4 g_{i-1} + 6 g_i - 4 g_{i+1} + g_{i+2}) / sqrt(70) has the noise's standard
    deviation; a smooth curve contributes little, and the robust scale (median |d| / 0.6745) ignores the few points
    where it does (peaks at coarse bins). ``histogram``: counting statistics make the noise of a histogram RDF
    proportional to sqrt(g) / r, so e_i = a sqrt(max(g_i, 0.05)) / r_i with a = median(|d_i| r_i / sqrt(g_i)) /
    0.6745 over the points with g > 0.05. Otherwise (point values, e.g. a Fourier-transformed g) the scale is
    estimated in windows of 40 points and interpolated. Floored at 0.001.
    """
    r, g = np.asarray(r, float), np.asarray(g, float)
    d = np.zeros_like(g)
    d[2:-2] = (g[:-4] - 4 * g[1:-3] + 6 * g[2:-2] - 4 * g[3:-1] + g[4:]) / np.sqrt(70.0)
    ok = np.zeros_like(g, dtype=bool)
    ok[2:-2] = (g[2:-2] > CORE_MASK_G) & (r[2:-2] > 0)
    if ok.sum() < 5:
        return np.full_like(g, 0.01)
    if histogram:
        a = float(np.median(np.abs(d[ok]) * r[ok] / np.sqrt(g[ok]))) / 0.6745
        return np.maximum(a * np.sqrt(np.maximum(g, CORE_MASK_G)) / np.maximum(r, r[ok][0]), 1e-3)
    idx = np.flatnonzero(ok)
    chunks = np.array_split(idx, max(1, len(idx) // 40))
    centres = np.array([r[c].mean() for c in chunks])
    scales = np.array([np.median(np.abs(d[c])) / 0.6745 for c in chunks])
    return np.maximum(np.interp(r, centres, scales), 1e-3)


def core_mask(g: np.ndarray) -> int:
    """Index of the first point of the RDF's rise to its first peak (the maximum of g): walking back from the
    maximum, the first point of the stretch with g >= :data:`CORE_MASK_G`. What lies before is the empty core
    (noise, small negative values, ripples of a Fourier-transformed g), which the fit masks."""
    g = np.asarray(g)
    i = int(np.argmax(g))
    if g[i] < 0.5:
        raise RDFError(f"g never rises above 0.5 (maximum {g[i]:.3g}): not a fluid's RDF")
    while i > 0 and g[i - 1] >= CORE_MASK_G:
        i -= 1
    return i


def check_state(r: np.ndarray, g: np.ndarray, T: float, rho: float, source: str) -> float:
    """Check T (K), rho (nm^-3) and r (nm) for impossible values and likely unit slips; return the first peak's r.

    Raises :class:`RDFError` naming the value and what is allowed.
    """
    from project.units import check_temperature_K

    check_temperature_K(T, source)
    if not (np.isfinite(rho) and rho > 0):
        raise RDFError(f"{source}: density rho = {rho!r} nm^-3; allowed: a positive number density in nm^-3")
    if rho < 2.0:
        raise RDFError(
            f"{source}: density rho = {rho:g} nm^-3 looks like a mass density (g/cm^3) or a reduced "
            "density (rho sigma^3); give the number density in nm^-3 (liquids: about 3-60 nm^-3; "
            "rho = N_A rho_mass / M: 1 g/cm^3 of argon is 15.1 nm^-3)"
        )
    if rho > 200.0:
        raise RDFError(
            f"{source}: density rho = {rho:g} nm^-3 is above any liquid's (allowed: <= 200 nm^-3); "
            "is it per A^3 times 1000, or in another unit?"
        )
    peak = int(np.argmax(g))
    r_peak = float(r[peak])
    x_peak = r_peak * rho ** (1 / 3)
    if x_peak > 4.0:
        raise RDFError(
            f"{source}: the first peak is at r = {r_peak:.4g} nm, {x_peak:.3g} mean spacings "
            f"(rho^(-1/3) = {rho ** (-1 / 3):.4g} nm); r looks like Angstrom: convert to nm or pass "
            "--r-unit A"
        )
    if not 0.4 <= x_peak <= 1.3:
        raise RDFError(
            f"{source}: the first peak at r = {r_peak:.4g} nm is {x_peak:.3g} mean spacings "
            f"rho^(-1/3) = {rho ** (-1 / 3):.4g} nm away; a fluid the model can describe has it at "
            f"0.4-1.3 (LJ: 0.75-1.1). Check the density (rho = {rho:g} nm^-3, number density in nm^-3) and "
            "the unit of r (nm)"
        )
    return r_peak


def _validate_arrays(r: np.ndarray, g: np.ndarray, g_err: np.ndarray | None, source: str) -> None:
    from project.rdfio import check_rdf_shape, validate_rdf

    validate_rdf(r, g, source, min_points=30, allow_negative=True)
    check_rdf_shape(r, g, source)
    if g_err is not None:
        ge = np.asarray(g_err, float)
        if ge.shape != g.shape or np.any(ge[np.isfinite(ge)] < 0):
            raise RDFError(f"{source}: the error column must have one non-negative value per point")


def _check_options(opt: FitOptions, rho: float, source: str) -> None:
    for name, value in (("density_error", opt.density_error), ("temperature_error", opt.temperature_error)):
        if not (np.isfinite(value) and value >= 0):
            raise RDFError(f"{source}: {name} = {value!r}; allowed: >= 0 (a 1-std uncertainty)")
    lo, hi = Q_MAX_RANGE
    if opt.q_max is not None and not (np.isfinite(opt.q_max) and lo <= opt.q_max <= hi):
        raise RDFError(f"{source}: q_max = {opt.q_max!r} A^-1; allowed: {lo:g}-{hi:g} A^-1")


def prepare_input(
    r_nm: np.ndarray, g: np.ndarray, T: float, rho: float, g_err: np.ndarray | None, opt: FitOptions, source: str
) -> PreparedInput:
    """Check an RDF (r nm, g), T (K), rho (nm^-3) and the options; describe its grid, noise and core.

    Raises
    ------
    RDFError
        Malformed or unusable input, impossible or unit-slipped T, rho, r (the message names the value).
    """
    r = np.asarray(r_nm, dtype=float)
    g = np.asarray(g, dtype=float)
    _validate_arrays(r, g, g_err, source)
    _check_options(opt, rho, source)
    warnings: list[str] = []
    r_peak = check_state(r, g, T, rho, source)
    if opt.density_error > 0.2 * rho:
        raise RDFError(
            f"{source}: density_error = {opt.density_error:g} nm^-3 is more than 20 % of rho = {rho:g} "
            "nm^-3; allowed: up to 20 %"
        )
    if r[-1] < 1.9 * r_peak:
        raise RDFError(
            f"{source}: r ends at {r[-1]:.4g} nm; the fit needs the first two shells, r up to at least "
            f"1.9 x the first peak ({1.9 * r_peak:.4g} nm)"
        )
    i0 = core_mask(g)
    if np.min(g[i0:]) < -0.1:
        bad = i0 + int(np.argmin(g[i0:]))
        raise RDFError(
            f"{source}: g = {g[bad]:g} at r = {r[bad]:g} nm, after the first rise of g; allowed: g >= -0.1 "
            "there (negative values are accepted only in the core, where g should be about 0)"
        )
    if i0 > 0 and (np.any(g[:i0] < 0) or np.any(g[: max(i0 - 1, 0)] >= CORE_MASK_G)):
        warnings.append(
            f"{i0} points before the first rise of g (r < {r[i0]:.4g} nm) hold negative values or "
            f"ripples (min {g[:i0].min():.3g}, max {g[:i0].max():.3g}); masked"
        )
    spacing = np.diff(r)
    uniform = bool(np.allclose(spacing, spacing.mean(), rtol=0.01, atol=1e-6))
    width = float(np.median(spacing))
    if not BIN_WIDTH_RANGE[0] <= width <= BIN_WIDTH_RANGE[1]:
        raise RDFError(
            f"{source}: point spacing {width:g} nm; allowed: {BIN_WIDTH_RANGE[0]}-{BIN_WIDTH_RANGE[1]} nm (r in nm?)"
        )
    binning = "histogram" if (uniform and opt.q_max is None) else "points"
    if not uniform and opt.q_max is None:
        warnings.append("r is not uniformly spaced: values are taken as point samples, not histogram bins")
    if g_err is not None:
        e = np.maximum(np.nan_to_num(np.asarray(g_err, float), nan=np.inf), 1e-4)
        noise_source = "third column"
    else:
        e = estimate_noise(r, g, histogram=binning == "histogram")
        noise_source = "estimated from the curve"
    keep = r <= 3.2 * r_peak  # points beyond 3.2 first-peak distances (> 3.3 sigma) are never used
    return PreparedInput(
        r=r[keep],
        g=g[keep],
        e=e[keep],
        n_in=len(r),
        width=width,
        uniform=uniform,
        binning=binning,
        i0=i0,
        noise_source=noise_source,
        q_max_nm=None if opt.q_max is None else 10.0 * opt.q_max,
        warnings=warnings,
    )

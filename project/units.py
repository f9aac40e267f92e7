"""Physical constants and reduced-unit conversions (GROMACS units).

Units: length nm, time ps, energy kJ/mol, temperature K, mass amu, number density nm^-3, pressure bar.
"""

from __future__ import annotations

import math
import numbers

#: Boltzmann constant in kJ/mol/K (GROMACS value).
KB = 0.0083144626
#: 1 kJ/mol/nm^3 expressed in bar.
KJ_MOL_NM3_TO_BAR = 16.6054


def reduced_temperature(T: float, epsilon: float) -> float:
    """Return T* = k_B T / epsilon for T in K and epsilon in kJ/mol."""
    return KB * T / epsilon


def reduced_density(rho: float, sigma: float) -> float:
    """Return rho* = rho sigma^3 for rho in nm^-3 and sigma in nm."""
    return rho * sigma**3


def temperature_from_reduced(T_star: float, epsilon: float) -> float:
    """Return T in K for a reduced temperature and epsilon in kJ/mol."""
    return T_star * epsilon / KB


def density_from_reduced(rho_star: float, sigma: float) -> float:
    """Return the number density in nm^-3 for a reduced density and sigma in nm."""
    return rho_star / sigma**3


def tau(sigma: float, epsilon: float, mass: float) -> float:
    """Return the LJ time unit tau = sigma sqrt(m/epsilon) in ps (sigma nm, epsilon kJ/mol, mass amu)."""
    return sigma * math.sqrt(mass / epsilon)


def reduced_pressure(P_bar: float, sigma: float, epsilon: float) -> float:
    """Return P* = P sigma^3 / epsilon for P in bar, sigma in nm, epsilon in kJ/mol."""
    return P_bar / KJ_MOL_NM3_TO_BAR * sigma**3 / epsilon


#: Lowest temperature (K) taken as a temperature in K; below it a value looks like a reduced T*.
T_MIN_KELVIN = 10.0


def check_temperature_K(T: object, source: str = "input") -> float:
    """Return T as a float when it is a temperature in K (finite, >= :data:`T_MIN_KELVIN`); else refuse it.

    The one rule for every temperature a user gives (``fit``, the inverse network, ``cg fit``).

    Raises
    ------
    project.errors.RDFError
        Not a number, not finite or not positive, or below 10 K (a reduced temperature T* = k_B T / epsilon
        given by mistake); the message names the value and what is allowed.
    """
    from project.errors import RDFError

    if isinstance(T, bool) or not isinstance(T, numbers.Real) or not math.isfinite(T) or T <= 0:
        raise RDFError(f"{source}: temperature T = {T!r} K; allowed: a positive number in K")
    if T < T_MIN_KELVIN:
        raise RDFError(
            f"{source}: temperature T = {T:g} K looks like a reduced temperature T* (k_B T/epsilon); "
            f"give the temperature in K (allowed: >= {T_MIN_KELVIN:g} K)"
        )
    return float(T)

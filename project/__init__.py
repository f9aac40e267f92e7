"""Deep inverse liquid-state theory: Lennard-Jones data space, inverse model and coarse-graining.

Units everywhere are GROMACS units: nm, ps, kJ/mol, K, amu, number density in nm^-3, pressure in bar.
"""

__version__ = "0.1.0"

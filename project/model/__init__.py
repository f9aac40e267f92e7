"""The inverse model: RDF + temperature (K) + number density (nm^-3) -> LJ sigma (nm), epsilon (kJ/mol)."""

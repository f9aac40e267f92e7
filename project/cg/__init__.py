"""Coarse-graining of small-molecule liquids to single Lennard-Jones beads.

Modules (no signac in any of them; the workflow layer is ``flow_cg.py`` and the CLI ``project/cli/cg.py``):

* :mod:`project.cg.molecules` - published all-atom / two-centre models and their GROMACS topologies;
* :mod:`project.cg.aa` - the all-atom NVT protocol with GROMACS (PME, constraints, sd thermostat);
* :mod:`project.cg.com_rdf` - centre-of-mass g(r) with MDAnalysis;
* :mod:`project.metrics` - total deviation and Kullback-Leibler divergence between two RDFs;
* :mod:`project.cg.lj` - single-bead LJ CG simulations (``project.simulate.run_simulation``) with caching;
* :mod:`project.cg.oneshot`, :mod:`project.cg.ibi`, :mod:`project.cg.relent`, :mod:`project.cg.simplex` -
  the one-shot inverse model and the three iterative baselines;
* :mod:`project.cg.target` - the target (COM RDF and state) that every method takes, with
  :class:`project.cg.lj.CGSettings`;
* :mod:`project.cg.pipeline` - the steps on one molecule folder (AA RDF, methods, results);
* :mod:`project.cg.compare` - the comparison's numbers (check runs, costs, Pareto front, target check), and
  :mod:`project.cg.report` its Markdown, CSV, plots and catalogue record;
* :mod:`project.cg.userfit` - ``cg fit`` on a user's run, with :mod:`project.cg.beads` (the beads),
  :mod:`project.cg.gromacs_model` (the GROMACS files) and :mod:`project.cg.summary` (the printed summary).

Units: nm, ps, kJ/mol, K, amu, e, number density nm^-3. See docs/coarse_graining.md.
"""

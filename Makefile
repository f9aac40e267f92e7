# Deep inverse liquid-state theory: common tasks. Units: GROMACS (nm, ps, kJ/mol, K, amu, nm^-3).
PYTHON ?= python3
DATASPACE ?= $(CURDIR)/demo_space

.PHONY: setup demo test test-fast lint bench clean-demo library library-hot model forward-model independent blind realworld \
	mie-models mie-independent

setup:                  ## Debian packages (gromacs, slurm-wlm, munge, chromium) and Python packages
	bash .ci/install

demo: setup             ## the main job end to end on the embedded default design (a few minutes on 2 cores)
	LJ_DATASPACE=$(DATASPACE) $(PYTHON) -m project init default
	LJ_DATASPACE=$(DATASPACE) $(PYTHON) flow.py run
	LJ_DATASPACE=$(DATASPACE) $(PYTHON) -m project query --limit 0
	LJ_DATASPACE=$(DATASPACE) $(PYTHON) -m project predict

test: setup             ## the test suite (everything; nothing is skipped)
	$(PYTHON) -m pytest -q tests

FAST := not gromacs and not openmm and not lammps and not slurm and not browser and not slow and not install
test-fast:              ## the tests that need no GROMACS, LAMMPS, MD run, SLURM, browser or root (under 2 minutes)
	$(PYTHON) -m pytest -q -m "$(FAST)" tests

LIBRARY ?= $(CURDIR)/library_space
SHIPPED_DATA := project/data/reference/lj_library.h5
SHIPPED_MODEL := project/data/models/lj_inverse_v4

library: setup          ## regenerate the shipped reference dataset (400 jobs; about an hour on 2 idle cores)
	LJ_DATASPACE=$(LIBRARY) $(PYTHON) -m project init training
	LJ_DATASPACE=$(LIBRARY) $(PYTHON) -m project init liquid
	LJ_DATASPACE=$(LIBRARY) $(PYTHON) -m project init transfer
	LJ_DATASPACE=$(LIBRARY) $(PYTHON) flow.py run
	LJ_DATASPACE=$(LIBRARY) $(PYTHON) -m project export --export $(SHIPPED_DATA)

LIBRARY_HOT ?= $(CURDIR)/library_hot_space
SHIPPED_HOT := project/data/reference/lj_library_hot.h5

library-hot: setup      ## regenerate the hot, dense LJ states of the CG refinement library (32 jobs, design hot_dense)
	LJ_DATASPACE=$(LIBRARY_HOT) $(PYTHON) -m project init hot_dense
	LJ_DATASPACE=$(LIBRARY_HOT) $(PYTHON) flow.py run
	LJ_DATASPACE=$(LIBRARY_HOT) $(PYTHON) -m project export --export $(SHIPPED_HOT)

model: setup            ## retrain the shipped LJ network on the forward model's jobs (~5 min, 1 core), evaluate it (catalogue)
	$(PYTHON) -m project.model.train --out $(SHIPPED_MODEL) --catalogue $(LIBRARY)/results/catalogue.sqlite
	LJ_DATASPACE=$(LIBRARY) $(PYTHON) -m project evaluate --export $(SHIPPED_DATA) --model $(SHIPPED_MODEL) --out $(SHIPPED_MODEL)/evaluation

forward-model: setup    ## retrain the shipped LJ forward model g*(r/sigma; T*, rho*) used by `fit` (~12 min on 2 cores)
	$(PYTHON) -m project.model.train_forward

mie-models: setup       ## retrain the shipped Mie forward model and Mie network from the Mie export (~15 min, 1 core)
	$(PYTHON) -m project.model.train_forward --potential mie
	$(PYTHON) -m project.model.train_mie

mie-independent: setup  ## Mie fluids from OpenMM (design mie_independent, ~21 min on 1 core), fitted: docs/mie.md
	$(PYTHON) -m project init project/data/designs/mie_independent.json --dataspace mie_independent_space
	LJ_DATASPACE=mie_independent_space LJ_ENGINE=openmm LJ_THREADS=1 $(PYTHON) flow.py run
	LJ_DATASPACE=mie_independent_space $(PYTHON) -m project export --export project/data/reference/mie_independent.h5
	$(PYTHON) benchmarks/bench_mie_fit.py --sets mie_independent --potentials mie,auto,lj

realworld: setup        ## fit accuracy and honesty on re-binned, mis-normalised, density-uncertain and S(Q) inputs
	$(PYTHON) benchmarks/bench_realworld.py

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

independent: setup      ## accuracy on RDFs simulated with other settings (N 864, cutoff 2.5 sigma; ~3 min)
	$(PYTHON) benchmarks/bench_independent.py

blind: setup            ## blind transferability check: 128 hotter states, two protocols (~35 min on 2 cores)
	$(PYTHON) benchmarks/bench_independent.py --design independent_hot
	$(PYTHON) benchmarks/bench_independent.py --design transfer_blind

bench:                  ## benchmarks (print their figures)
	$(PYTHON) benchmarks/bench_query.py
	$(PYTHON) benchmarks/bench_export.py
	$(PYTHON) benchmarks/bench_simulate.py
	$(PYTHON) benchmarks/bench_model.py
	$(PYTHON) benchmarks/bench_extrapolation.py
	$(PYTHON) benchmarks/bench_dashboard.py
	$(PYTHON) benchmarks/bench_rdf.py
	$(PYTHON) benchmarks/bench_pipeline.py

clean-demo:
	rm -rf $(DATASPACE)

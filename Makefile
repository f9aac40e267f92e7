# Deep inverse liquid-state theory: common tasks. Units: GROMACS (nm, ps, kJ/mol, K, amu, nm^-3).
PYTHON ?= python3
DATASPACE ?= $(CURDIR)/demo_space
export SIGNAC_FLOW_ENVIRONMENT ?= StandardEnvironment

.PHONY: setup demo test lint bench clean-demo

setup:                  ## Debian packages (gromacs, slurm-wlm, munge, chromium) and Python packages
	bash .ci/install

demo: setup             ## the main job end to end on the embedded default design (a few minutes on 2 cores)
	LJ_DATASPACE=$(DATASPACE) $(PYTHON) -m project init default
	LJ_DATASPACE=$(DATASPACE) $(PYTHON) flow.py run
	LJ_DATASPACE=$(DATASPACE) $(PYTHON) -m project query --limit 0

test: setup             ## the test suite
	$(PYTHON) -m pytest -q tests

lint:
	$(PYTHON) -m ruff check .

bench:                  ## benchmarks (print their figures)
	$(PYTHON) benchmarks/bench_query.py
	$(PYTHON) benchmarks/bench_export.py

clean-demo:
	rm -rf $(DATASPACE)

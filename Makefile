# Deep inverse liquid-state theory: common tasks. Units: GROMACS (nm, ps, kJ/mol, K, amu, nm^-3).
PYTHON ?= python3
DATASPACE ?= $(CURDIR)/demo_space

.PHONY: install install-system demo test lint bench clean-demo

install:                ## Python packages
	$(PYTHON) -m pip install -r requirements.txt

install-system:         ## Debian packages the engines and tests use (root)
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gromacs slurm-wlm munge chromium

demo:                   ## the main job end to end on the embedded default design
	LJ_DATASPACE=$(DATASPACE) $(PYTHON) -m project init default
	LJ_DATASPACE=$(DATASPACE) SIGNAC_FLOW_ENVIRONMENT=StandardEnvironment $(PYTHON) flow.py run
	LJ_DATASPACE=$(DATASPACE) $(PYTHON) -m project query --limit 0

test:                   ## the test suite
	$(PYTHON) -m pytest -q tests

lint:
	$(PYTHON) -m ruff check .

bench:                  ## benchmarks (print their figures)
	$(PYTHON) benchmarks/bench_query.py

clean-demo:
	rm -rf $(DATASPACE)

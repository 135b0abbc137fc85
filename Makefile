# feedsim make targets. Each target is one line over the CLI; `make help` lists them.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=
WORLD ?= small
RUN ?=
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: help install run test test-all bench ab sweep experiments explain report lessons clean

help:  ## List every target with one line each
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,ui]'
	touch $(STAMP)

install: $(STAMP)  ## Create .venv (when absent) and install feedsim with its dependencies

run: $(STAMP)  ## Run the default experiment (fyp feed, 3 days, WORLD=small) and print its metrics
	$(BIN)/python -m feedsim world=$(WORLD) $(ARGS)

test: $(STAMP)  ## Run the test suite (slow and GPU tests excluded)
	$(BIN)/python -m pytest $(ARGS)

test-all: $(STAMP)  ## Run every test, slow and GPU ones included (GPU tests skip without CUDA)
	$(BIN)/python -m pytest -m "" $(ARGS)

ab: $(STAMP)  ## Run an A/B experiment: make ab EXP=popular_vs_random
	$(BIN)/python -m feedsim.experiment experiment=$(or $(EXP),popular_vs_random) $(ARGS)

experiments: $(STAMP)  ## Run the eight canonical experiments, regenerating experiments/0*/results.md and plots
	$(BIN)/python experiments/run_all.py $(ARGS)

sweep: $(STAMP)  ## A small multirun (tiny world, random vs popular) gathered into sweep_summary.parquet
	$(BIN)/python -m feedsim -m world=tiny loop.days=2 policy=random,popular hydra/callbacks=sweep_summary $(ARGS)

bench: $(STAMP)  ## Benchmarks (behaviour, day loop and its scaling, stages, memory); writes bench.json. ARGS=--help
	$(BIN)/python -m feedsim.bench $(ARGS)

explain: $(STAMP)  ## Why this page? Trace one request: make explain ARGS="world=tiny day=2 user=5 request=0"
	$(BIN)/python -m feedsim.explain $(ARGS)

report: $(STAMP)  ## (Re)write a run's self-contained report.html: make report RUN=outputs/<date>/<time>
	$(BIN)/python -m feedsim.report $(RUN) $(ARGS)

lessons: $(STAMP)  ## Run every lesson in docs/lessons and export each to outputs/lessons/<name>.html: make lessons ARGS=funnel runs one
	$(BIN)/python -m feedsim.report.lessons --html outputs/lessons $(ARGS)

clean:  ## Remove outputs, caches and the virtual environment
	rm -rf outputs multirun .pytest_cache $(VENV) bench.json

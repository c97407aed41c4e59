# `make demo` and `make test` each set up .venv from a fresh clone, then run.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test bench scaling clean graphviz experiments experiments-docs mutation

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,oracle]'
	touch $@

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	touch $@

# Debian's Graphviz `dot` when we can install it; viz falls back to the graphviz-pure wheel otherwise.
graphviz:
	@command -v dot >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) || \
	  echo "note: Graphviz 'dot' not installed; viz will use graphviz-pure if present"; }

# The main job on the bundled digits: a small CNN, progress bar, curves, LR finder, graph, checkpoint in out/.
demo: $(STAMP) graphviz
	$(BIN)/python examples/demo.py

test: $(STAMP) graphviz
	$(BIN)/python -m pytest tests

# the lectures' experiments (docs/experiments.md): out/experiments/NAME/{figure.png,results.md}
experiments: $(STAMP) graphviz
	$(BIN)/python -m examples.experiments all

# the same at full size, refreshing the figures and tables committed under docs/experiments/
experiments-docs: $(STAMP) graphviz
	$(BIN)/python -m examples.experiments all --docs docs/experiments

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py

# data-parallel scale-out (mpiexec -n 2 vs one process, with PyTorch DDP as the peer); not in `make bench`
scaling: $(BENCH_STAMP)
	$(BIN)/python bench/workloads/scaling.py --torch

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .cache

# Mutation testing (mutmut 3, configured in pyproject's [tool.mutmut]; not part of `make test`):
# runs the mutants not yet checked (results are cached in mutants/), then prints the counts and
# every mutant not killed (docs/mutation.md explains the survivors).
mutation: $(STAMP)
	$(BIN)/pip install -q 'mutmut>=3.2'
	$(BIN)/mutmut run --max-children 2 || true
	$(BIN)/mutmut export-cicd-stats && cat mutants/mutmut-cicd-stats.json
	$(BIN)/mutmut results || true

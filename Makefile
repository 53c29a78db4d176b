# Quick start: `make test` (the whole matrix) and `make docs` (the walkthrough
# site).  Both set themselves up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help test bench docs clean

help:
	@echo "make test    run the test matrix on every interpreter present (tox)"
	@echo "make bench   run the benchmarks and print their figures"
	@echo "make docs    build the walkthrough site into docs/_build/html"
	@echo "make clean   remove build products and tool environments"

test:
	@bash .ci/test.sh

# BENCH_ARGS passes options on, e.g. make bench BENCH_ARGS="--only server --pythons 3.13".
bench:
	@bash .ci/apt.sh wrk:wrk curl:curl || echo "make bench: the HTTP benchmark will say it was skipped"
	@bash .ci/bench-tools.sh || echo "make bench: the tracer benchmark will say what it skipped"
	@bin=$$(bash .ci/tools.sh) && "$$bin/python" benchmarks/run.py $(BENCH_ARGS)

# Sets itself up (Graphviz, .venv-docs), records traces and probes under every
# interpreter when their inputs changed, builds with -W -n: see .ci/docs.sh.
docs:
	@bash .ci/docs.sh

clean:
	rm -rf .tox .venv-tools .venv-docs docs/_build docs/_generated build dist *.egg-info

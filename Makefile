# The two commands a newcomer needs: `make run` (the demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench venv clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is needed (set PYTHON=python3.11)" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One stamp per set of extras, redone when pyproject.toml changes.
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$*]'
	@touch $@

venv: $(VENV)/.installed-dev

run: $(VENV)/.installed-demo
	$(BIN)/iscg-bot demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

bench: $(VENV)/.installed-test
	$(BIN)/python bench/ping_roundtrip.py
	$(BIN)/python bench/feed_render.py
	$(BIN)/python bench/report_compile.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

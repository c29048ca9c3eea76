# The two commands a newcomer needs: `make run` (the demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench venv clean browser

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

test: $(VENV)/.installed-test browser
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The web pages' browser tests drive Debian's chromium (never a downloaded browser). Installed here where the
# machine lets us (apt as root, or sudo without a password); otherwise those tests are skipped, saying why.
CHROMIUM ?= /usr/bin/chromium
APT := env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0
browser:
	@if [ -x $(CHROMIUM) ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
	  echo "chromium is not installed and apt needs root: the browser tests will be skipped"; exit 0; fi; \
	if ! command -v apt-get >/dev/null; then echo "no apt-get: the browser tests will be skipped"; exit 0; fi; \
	echo "installing Debian's chromium for the browser tests"; \
	$$SUDO $(APT) install chromium >/dev/null 2>&1 || \
	{ $$SUDO $(APT) update >/dev/null 2>&1 && $$SUDO $(APT) install chromium >/dev/null 2>&1; } || \
	echo "could not install chromium: the browser tests will be skipped"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

bench: $(VENV)/.installed-test
	$(BIN)/python bench/ping_roundtrip.py
	$(BIN)/python bench/feed_render.py
	$(BIN)/python bench/report_compile.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

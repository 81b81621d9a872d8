# Thin targets; the work is done by python. `make book` and `make test` each do all
# set-up (venv, install, data) and are idempotent.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

export ADVINTERP_DATA  ?= $(CURDIR)/data
export ADVINTERP_CACHE ?= $(CURDIR)/.cache/advinterp
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup data web-assets browser book check-html lint test unit nbval run bench profiles clean clean-cache

help:
	@echo "make book   - set up, execute every chapter (quick profile), render HTML into _build/html"
	@echo "make test   - set up, then unit tests and nbval over every chapter"
	@echo "make check-html - build the book, then open every page in headless Chromium (offline) and check it"
	@echo "make lint   - ruff format --check, ruff check, mypy over the library and its layer contract"
	@echo "make setup  - create $(VENV) and install the package with its dependencies"
	@echo "make data   - prepare Fashion-MNIST and WordNet 3.0 under $(ADVINTERP_DATA)"
	@echo "make run CHAPTER=01 PROFILE=full - run one chapter through papermill"
	@echo "make bench  - benchmark suite on this device: prints a table, writes results/bench/<device>.json"

$(BIN)/python:
	@echo ">> creating virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo ">> installing advinterp_lib and its dependencies into $(VENV)"
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@

setup: $(STAMP)
	@echo ">> environment ready: $(VENV)"

data: setup
	@echo ">> preparing data under $(ADVINTERP_DATA)"
	$(BIN)/python -m data_scripts all

web-assets: setup
	@echo ">> MathJax, require.js and the widget manager for an offline book (pinned, checksummed)"
	$(BIN)/python -m data_scripts web-assets

# Debian's chromium and its driver, for the browser check (apt-get as root when absent).
browser:
	@command -v chromedriver >/dev/null || { [ "$$(id -u)" = 0 ] && \
	  { apt-get install -y -q chromium chromium-driver || { apt-get update -q && apt-get install -y -q chromium chromium-driver; }; }; } || \
	  { echo "error: chromedriver not found; install Debian's chromium and chromium-driver" >&2; exit 1; }

book: data web-assets
	@echo ">> executing chapters and rendering the book into _build/html"
	$(BIN)/jupyter-book build .
	@echo ">> open _build/html/index.html"

check-html: book browser
	@echo ">> the browser checker's own tests, then every page of _build/html in headless Chromium, external requests blocked"
	$(BIN)/python -m pytest -m browser -p no:cacheprovider tests/browser
	$(BIN)/python -m tools.check_html _build/html

# Style and structure: ruff's formatter and linter, mypy over advinterp_lib (settings for
# both in pyproject.toml), then the library's one-way layer contract.
lint: setup
	@echo ">> ruff format --check, ruff check, mypy, the layer contract"
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_architecture.py

unit: data
	@echo ">> unit tests"
	$(BIN)/python -m pytest tests

nbval: data
	@echo ">> nbval: executing every chapter"
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -p no:cacheprovider book

test: unit nbval

CHAPTER ?= 01
PROFILE ?= quick
run: data
	$(BIN)/python -m advinterp_lib run $(CHAPTER) --profile $(PROFILE)

bench: data
	$(BIN)/python -m benchmarks

profiles: setup
	$(BIN)/python -m advinterp_lib profiles

clean:
	rm -rf _build runs

clean-cache:
	rm -rf $(ADVINTERP_CACHE)

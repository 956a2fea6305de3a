# Two set-up commands for a fresh machine with only Python 3.11+ (README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The package installs as custody.ledger, custody.agents, ... from the repository's folders (pyproject.toml,
# package-dir). The editable install is a tree of links (strict mode), which mypy can follow; a file added
# or removed under those folders changes LINKS' name, and the next make links the tree again.
PACKAGE_DIRS := ledger agents verify schemas cli desk docs
LINKS := $(VENV)/.links-$(shell find $(PACKAGE_DIRS) -name __pycache__ -prune -o -type f -print 2>/dev/null | LC_ALL=C sort | cksum | cut -d' ' -f1)
SOURCES := ledger agents verify schemas cli desk tests bench fuzz

.PHONY: demo test lint typecheck interop bench fuzz clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=strict
	rm -f $(VENV)/.links-*
	touch $(STAMP)

$(LINKS): $(STAMP)
	@if [ -n "$$(ls $(VENV)/.links-* 2>/dev/null)" ]; then \
	  echo "files were added or removed: linking the editable install again"; \
	  $(BIN)/python -m pip install --quiet --no-deps -e . --config-settings editable_mode=strict; \
	  rm -f $(VENV)/.links-*; \
	fi
	touch $(LINKS)

demo: $(LINKS)
	$(BIN)/python -m custody.cli.demo demo-output

test: $(LINKS)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 -q --durations=25

lint: $(LINKS)
	$(BIN)/ruff check $(SOURCES)

typecheck: $(LINKS)
	$(BIN)/mypy

# The Go reference cross-check of the demo's bundle (needs: apt-get install golang-go golang-golang-x-mod-dev).
interop: demo
	interop/run demo-output/bundle

bench: $(LINKS)
	$(BIN)/python -m bench.run

# Not part of 'make test': every parser of outside input, FUZZ_CASES cases each (fuzz/run.py), seeded
# with the demo's files (made first if missing); crash and hang inputs land in fuzz-output/.
FUZZ_CASES ?= 100000
fuzz: $(LINKS)
	@test -f demo-output/bundle/manifest.json || $(MAKE) demo
	$(BIN)/python -m fuzz.run --cases $(FUZZ_CASES)

clean:
	rm -rf $(VENV) build demo-output fuzz-output

# Two entry points, each creating or refreshing .venv itself: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test docs chromium lint format bench bench-cards bench-plan bench-publish bench-campaign bench-shorts goldens clean

# The browser tests (tests/reports/test_pages_browser.py) drive Debian's chromium through Playwright: `make
# test` installs the package when missing (as root, or with sudo), never a browser download; `make
# demo` needs no browser. IFN_BROWSER_TESTS=0 skips both the install and those tests on a machine
# that cannot run a browser.
chromium:
	@if [ "$${IFN_BROWSER_TESTS:-1}" != 0 ] && ! command -v chromium >/dev/null 2>&1; then \
	  echo "chromium is missing (the browser tests drive Debian's chromium): installing it"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	  else echo "error: chromium is not installed and this is not root: run 'apt-get install -y chromium' as root (or set IFN_BROWSER_TESTS=0 to skip the browser tests)" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y chromium || { $$SUDO apt-get update && $$SUDO apt-get install -y chromium; } \
	    || { echo "error: could not install chromium: run 'apt-get install -y chromium' as root" >&2; exit 1; }; \
	fi

$(STAMP): pyproject.toml sandbox/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./sandbox
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ifn-campaign demo

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# The documentation site (mkdocs.yml, docs/) built strictly into site/: a broken link or anchor, a
# page left out of the navigation or an unknown generated part fails. `.venv/bin/mkdocs serve`
# shows it while writing. (NO_MKDOCS_2_WARNING: Material's banner about MkDocs 2, not a warning
# about this site.)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/sync_bench.py

bench-cards: $(STAMP)
	$(BIN)/python bench/cards_bench.py

bench-plan: $(STAMP)
	$(BIN)/python bench/plan_bench.py

bench-publish: $(STAMP)
	$(BIN)/python bench/publish_bench.py

bench-campaign: $(STAMP)
	$(BIN)/python bench/campaign_bench.py

bench-shorts: $(STAMP)
	$(BIN)/python bench/shorts_bench.py --strip docs/shorts-strip.png

# Rewrite the golden cards and captions on purpose (after a template or brand change); look at
# tests/golden/ (git diff) before committing.
goldens: $(STAMP)
	IFN_UPDATE_GOLDENS=1 $(BIN)/pytest -q tests/cards/test_render.py tests/captions/test_writer.py -k golden
	$(BIN)/python docs/make_images.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

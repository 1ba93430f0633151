# Two entry points, each creating or refreshing .venv itself: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo console test test-slow test-all docs chromium lint format messages bench bench-cards bench-plan bench-publish bench-campaign bench-shorts bench-console bench-notices bench-insights bench-report goldens clean

# The browser tests (tests/reports/test_pages_browser.py) drive Debian's chromium through Playwright,
# and the report's PDF test (tests/reports/test_report_pdf.py) counts and renders its pages with
# Debian's poppler-utils (pdfinfo, pdftoppm): `make test` installs both packages when missing (as
# root, or with sudo), never a browser download; `make demo` needs neither. IFN_BROWSER_TESTS=0
# skips both the install and those tests on a machine that cannot run a browser.
chromium:
	@if [ "$${IFN_BROWSER_TESTS:-1}" != 0 ] && { ! command -v chromium >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; }; then \
	  echo "chromium or poppler-utils is missing (the browser and PDF tests use them): installing them"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	  else echo "error: chromium is not installed and this is not root: run 'apt-get install -y chromium poppler-utils' as root (or set IFN_BROWSER_TESTS=0 to skip the browser tests)" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y chromium poppler-utils || { $$SUDO apt-get update && $$SUDO apt-get install -y chromium poppler-utils; } \
	    || { echo "error: could not install chromium: run 'apt-get install -y chromium poppler-utils' as root" >&2; exit 1; }; \
	fi

$(STAMP): pyproject.toml sandbox/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./sandbox
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ifn-campaign demo

# The staff console on the demo's data (after `make demo`, which prints the user to sign in as).
console: $(STAMP)
	$(BIN)/ifn-campaign console --demo

# `make test`: ruff, then every test but the slow ones (under 10 minutes on two cores). The slow
# ones (marked `slow`: a real Prefect server or worker, subprocesses killed at every step, a
# browser, video, a PDF, the benches' smallest runs) run with `make test-slow` (three workers:
# with four, a Prefect server's lost-run automation fell behind once); CI (.ci/run) runs both.
test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -m "not slow"

test-slow: $(STAMP) chromium
	$(BIN)/pytest -m slow

test-all: test test-slow

# The documentation site (mkdocs.yml, docs/) built strictly into site/: a broken link or anchor, a
# page left out of the navigation or an unknown generated part fails. `.venv/bin/mkdocs serve`
# shows it while writing. (NO_MKDOCS_2_WARNING: Material's banner about MkDocs 2, not a warning
# about this site.)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# The console's messages: extract the English strings of templates/console and
# ifn_campaign/console, merge them into the Indonesian catalogue (then translate the new, empty
# entries of console.po) and compile it to console.mo, which is committed beside it
# (tests/console/test_messages.py checks both are current and complete).
LOCALE := ifn_campaign/console/locale
messages: $(STAMP)
	$(BIN)/pybabel extract -F pyproject.toml -o $(LOCALE)/console.pot --no-location --sort-output \
	  --omit-header --no-wrap .
	$(BIN)/pybabel update -i $(LOCALE)/console.pot -d $(LOCALE) -D console -l id \
	  --no-fuzzy-matching --no-wrap --ignore-obsolete
	$(BIN)/pybabel compile -d $(LOCALE) -D console -l id --statistics

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

# The console's pages on PostgreSQL with 10,000 members and 50,000 posts (the server on
# 127.0.0.1:5432; its own database, dropped at the end: --keep reuses it).
bench-console: $(STAMP)
	$(BIN)/python bench/console_bench.py

# Member notices: queue_due and send_due for 1,000 and 5,000 posts through the mail sandbox
# (SQLite; PostgreSQL as well when IFN_TEST_DATABASE_URL is set), against plain smtplib.
bench-notices: $(STAMP)
	$(BIN)/python bench/notices_bench.py

# Insights: read_due over 10,000 published posts (Instagram, Facebook, YouTube; 8 Pages) at 100 ms
# a platform call: calls per post per reading and wall time against the floor batching allows
# (ceil(posts / 50) per account), and a naive reader's one post a call.
bench-insights: $(STAMP)
	$(BIN)/python bench/insights_bench.py

# The monthly report's PDF for a month of 2,000 posts: wall time, peak memory, pages and size
# with the gallery capped at report.pdf_cards, against every card at full size (about 15 min).
bench-report: $(STAMP)
	$(BIN)/python bench/report_bench.py

# Rewrite the golden cards and captions on purpose (after a template or brand change); look at
# tests/golden/ (git diff) before committing.
goldens: $(STAMP)
	IFN_UPDATE_GOLDENS=1 $(BIN)/pytest -q tests/cards/test_render.py tests/captions/test_writer.py -k golden
	$(BIN)/python docs/make_images.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

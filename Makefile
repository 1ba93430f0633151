# Two entry points, each creating or refreshing .venv itself: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench bench-cards bench-plan bench-publish bench-campaign goldens clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ifn-campaign demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

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

# Rewrite the golden cards and captions on purpose (after a template or brand change); look at
# tests/golden/ (git diff) before committing.
goldens: $(STAMP)
	IFN_UPDATE_GOLDENS=1 $(BIN)/pytest -q tests/test_cards_render.py tests/test_captions.py -k golden

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

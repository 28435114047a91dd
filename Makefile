# `make run` and `make test` work from a fresh clone: they create .venv and install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: run test install install-dev babel bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# Web console in the foreground, the scheduler as its own process beside it (stopped together).
run: install
	$(BIN)/flask --app app init
	$(BIN)/flask --app app demo seed
	@echo "Web console: http://$(HOST):$(PORT)/"
	@$(BIN)/flask --app app scheduler run & sched=$$!; \
	  trap 'kill $$sched 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/flask --app app run --host $(HOST) --port $(PORT)

test: install-dev
	bash scripts/ensure-test-packages.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Re-extract user-facing strings, merge them into the catalogues and compile them.
babel: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --omit-header \
		-o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-wrap --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d translations

bench: install
	$(BIN)/python bench/seed.py

clean:
	rm -rf $(VENV) .pytest_cache

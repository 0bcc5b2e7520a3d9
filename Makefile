# Set-up, demo and tests. Every target creates .venv when it is missing, so a fresh clone needs
# only Python 3.11+ and this Makefile.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/leakaudit audit sample_data/ --out leakaudit-report
	@echo "Open leakaudit-report/report.html in a browser."

lint: $(STAMP)
	$(BIN)/ruff check src tests sample_data scripts
	$(BIN)/mypy
	cd src && ../$(BIN)/lint-imports --config ../pyproject.toml

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) leakaudit-report build dist

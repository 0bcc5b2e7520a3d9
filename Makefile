# Set-up, demo and tests. Every target creates .venv when it is missing, so a fresh clone needs
# only Python 3.11+ and this Makefile.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean browser screenshot

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/leakaudit audit sample_data/ --out leakaudit-report
	@echo "Open leakaudit-report/report.html in a browser."

lint: $(STAMP)
	$(BIN)/ruff check src tests sample_data scripts bench
	$(BIN)/mypy
	cd src && ../$(BIN)/lint-imports --config ../pyproject.toml

# Headless Chromium for the report's browser test: Debian's package, installed when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the report browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: lint browser
	LEAKAUDIT_REQUIRE_BROWSER=1 $(BIN)/pytest

# A picture of the demo report: leakaudit-report/report.png
screenshot: demo browser
	$(BIN)/python -c "import sys; sys.path.insert(0, 'tests'); from browser import screenshot; \
	from pathlib import Path; print(screenshot(Path('leakaudit-report/report.html'), Path('leakaudit-report/report.png')) or 'no console errors')"
	@echo "Wrote leakaudit-report/report.png"

clean:
	rm -rf $(VENV) leakaudit-report build dist

# tanlu: two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Debian packages the report needs: Chromium prints report.pdf and loads report.html in the
# tests; Noto CJK renders Chinese in the PDF; poppler-utils turns PDF pages into images; a Java
# runtime (17 or later) runs Spark, the distributed engine (pyspark 4.0, tests/test_spark.py);
# PostgreSQL's server runs the service's database tests in a throw-away cluster
# (tests/postgres.py: initdb and pg_ctl in a temporary folder, no system service); wrk, a load
# generator in C, asks the service's reads in `make bench` (benchmarks/service.py).
SYSTEM_PACKAGES := chromium fonts-noto-cjk poppler-utils default-jre-headless postgresql wrk

.PHONY: install system-deps demo test lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[dev,spark]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	@if ! command -v chromium >/dev/null || ! command -v pdftoppm >/dev/null || ! command -v java >/dev/null \
	    || ! command -v wrk >/dev/null \
	    || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	    || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  echo "installing Debian packages: $(SYSTEM_PACKAGES)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null \
	    || { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null; }; \
	fi

demo: install system-deps
	$(BIN)/tanlu run examples/internet-company --out out/internet-company/zh --lang zh
	$(BIN)/tanlu run examples/internet-company --out out/internet-company/en --lang en
	@echo "Reports and results: $(CURDIR)/out/internet-company/zh/report.html and $(CURDIR)/out/internet-company/en/report.html (results.json, results.xlsx beside each)"

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

format: install
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

test: lint system-deps
	$(BIN)/pytest -q -n auto --dist loadfile --durations=30

# make bench ARGS="--only scale": options of python -m benchmarks (docs/performance.md)
bench: install system-deps
	$(BIN)/python -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache

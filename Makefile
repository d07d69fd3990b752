# posture-monitor: `make run` and `make test` are all a newcomer needs (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: run test lint pytest fuzz deps venv bench soak docs dashboards clean

run: deps venv
	$(BIN)/posture db upgrade
	$(BIN)/posture demo

test: deps venv lint pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest

# Not part of `make test`: the fuzz tests with the large hypothesis profile, then schemathesis on the whole API
# with many more examples (about 10 minutes on 2 cores).
FUZZ_EXAMPLES ?= 25
fuzz: venv
	FUZZ_PROFILE=fuzz $(BIN)/pytest -q --timeout 1800 tests/fuzz
	SCHEMATHESIS_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q --timeout 1800 \
		tests/api/test_openapi.py::test_schemathesis_finds_no_server_error_and_no_reply_outside_the_document

deps:
	@.ci/install-deps
	@.ci/install-observatory

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

docs: venv
	$(BIN)/python -m monitor.catalogue > docs/findings.md

# the Grafana JSON from dashboards/build.py (tests/test_dashboards.py fails while the committed files are stale)
dashboards: venv
	$(BIN)/python -m dashboards.build

bench: venv
	$(BIN)/python bench/scheduler.py
	$(BIN)/python bench/ports_scan.py
	$(BIN)/python bench/tls_scan.py
	$(BIN)/python bench/vuln_match.py
	$(BIN)/python bench/alerts.py
	$(BIN)/python bench/metrics.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/web_ui.py
	$(BIN)/python bench/dnssec.py
	$(BIN)/python bench/mail.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/tls_probe.py
	$(BIN)/python bench/ports_probe.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/discovery.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/delivery.py

# not part of `make bench` or `make test`: ten minutes of the real daemon under load (docs/benchmarks.md)
soak: deps venv
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache

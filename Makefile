# Two commands: `make demo` and `make test`. Both install what is missing first.
SHELL := /bin/bash
VENV := .venv
LANDPLAN := $(VENV)/bin/landplan
STAMP := $(VENV)/.installed
BROWSER_STAMP := $(VENV)/.browser
API_PID := var/api.pid

.PHONY: setup db demo test lint bench bench-import bench-page bench-contention bench-editing stop clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/bootstrap.sh web/package.json web/package-lock.json
	bash scripts/bootstrap.sh
	touch $@

# The browser tests drive Debian's Chromium: installed for `make test`, not for the demo.
$(BROWSER_STAMP): $(STAMP)
	bash scripts/bootstrap.sh --browser
	touch $@

db: setup
	$(LANDPLAN) db up
	$(LANDPLAN) db migrate

demo: db
	$(LANDPLAN) demo-data
	@echo "Serving the Cao Bằng demo at http://127.0.0.1:8000 (Ctrl-C stops the server; make stop stops the database too)"
	$(LANDPLAN) serve --host 127.0.0.1 --port 8000 --pid-file $(API_PID)

test: setup $(BROWSER_STAMP) lint
	$(LANDPLAN) db up
	$(VENV)/bin/pytest

bench: setup
	bash scripts/bench/setup.sh
	$(LANDPLAN) db up
	$(VENV)/bin/python -m scripts.bench.run

bench-import: setup
	bash scripts/bench/setup.sh
	$(LANDPLAN) db up
	$(VENV)/bin/python -m scripts.bench.imports

# Tile latency while 16 clients download every parcel as DXF, against idle (demo data).
bench-contention: db
	$(LANDPLAN) demo-data
	$(VENV)/bin/python -m scripts.bench.contention

# PATCH with If-Match at 1, 4 and 16 clients against the bare UPDATE (1M parcels).
bench-editing: db
	$(VENV)/bin/python -m scripts.bench.editing

# The public map's weight and first view against Folium's embedded GeoJSON (demo data).
bench-page: db $(BROWSER_STAMP)
	$(LANDPLAN) demo-data
	$(VENV)/bin/python -m scripts.bench.page

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

stop:
	@if [ -f $(API_PID) ]; then kill $$(cat $(API_PID)) 2>/dev/null || true; rm -f $(API_PID); echo "API server stopped"; fi
	@if [ -x $(LANDPLAN) ]; then $(LANDPLAN) db down; fi

clean: stop
	rm -rf $(VENV) .venv-tipg var web/node_modules

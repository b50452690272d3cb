# Two commands on a fresh machine: `make run` and `make test` (Python 3.11+ and pip only).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= configs/sample.yaml
OUT    ?= out/sample
# Natural Earth's marine polygons around China (public domain), kept in the repo: make_seas.py's input
SEAS_SOURCE := sample_rasters/sources/ne_10m_geography_marine_polys_east_asia.geojson

.PHONY: run test setup setup-test sample clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

setup: $(VENV)/.installed
## setup-test: .venv with the test extras, and Debian's chromium (headless screenshots of report.html)
setup-test: $(VENV)/.installed-test
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) || \
	  echo "setup-test: could not install chromium (needs apt-get and root); continuing without it: the headless-Chromium test of report.html skips (it fails when CI is set)"

## run: set up .venv and run the pipeline on the bundled sample (re-running replaces out/sample)
run: setup
	$(BIN)/carbon-sink run $(CONFIG) --out $(OUT) --overwrite

## test: set up .venv with the test extras and run the test suite
test: setup-test
	$(BIN)/python -m pytest -q

## sample: rebuild sample_rasters/ from ../shared/data (developers only; needs ../shared); the
## scenario layer is derived from the sample's land cover, so it is made after make_sample.py; the seas
## layer is added last (make_sample.py and make_china.py rewrite regions.gpkg)
sample: setup
	$(BIN)/python sample_rasters/make_sample.py --shared ../shared/data --out sample_rasters
	$(BIN)/python sample_rasters/make_scenario.py
	$(BIN)/python sample_rasters/make_china.py --shared ../shared/data --out sample_rasters/china
	$(BIN)/python sample_rasters/make_seas.py --geojson $(SEAS_SOURCE) --gpkg sample_rasters/regions.gpkg
	$(BIN)/python sample_rasters/make_seas.py --geojson $(SEAS_SOURCE) --gpkg sample_rasters/china/regions.gpkg

clean:
	rm -rf $(VENV) out .pytest_cache

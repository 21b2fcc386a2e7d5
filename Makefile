# edu-cnn: two commands for a newcomer.
#   make lab   - set up .venv (first time only) and open JupyterLab on notebooks/
#   make test  - set up .venv and run every test: unit tests, notebooks (nbval), browser
# Everything else here is for course authors.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The settings the stored notebook outputs were made with (nbval compares against them):
# the shipped MNIST sample instead of a download, the short training runs, and one BLAS
# thread – the same sums in the same order on every machine, and no spin-waiting threads
# when the kernel shares two cores with JupyterLab and a browser (9× slower otherwise).
NOTEBOOK_ENV := EDU_CNN_OFFLINE=1 EDU_CNN_FAST=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
	MKL_NUM_THREADS=1 MPLBACKEND=module://matplotlib_inline.backend_inline

# A course must work offline and ask nothing at launch: no news feed or news toast, no
# update check, no extension manager – all in jupyter-config/ (its README says what each
# file does); the browser tests start JupyterLab with the same folder.
LAB_ENV := JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter-config$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH))

.PHONY: lab test test-full-setting lint unit notebooks-test execute-notebooks slides present bench clean setup model

setup: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-test.txt
	@touch $(STAMP)

# (as root, e.g. in a container, JupyterLab needs --allow-root)
lab: $(STAMP)
	$(LAB_ENV) $(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

# The browser tests (tests/browser) need Debian's Chromium (installed here when missing
# and we are root); they build the slide decks themselves when npm is there.
test: $(STAMP) lint
	@scripts/ensure_chromium.sh
	$(NOTEBOOK_ENV) $(BIN)/python -m pytest tests notebooks --nbval \
		--nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout=600 \
		-m "not full_setting" -p no:cacheprovider

# Every notebook as a student runs it: without EDU_CNN_FAST, offline (the shipped sample);
# fails on any error in any cell. About 10 minutes on 2 cores, so not part of `make test`.
test-full-setting: $(STAMP)
	$(BIN)/python -m pytest -s tests/test_notebooks_full_setting.py -m full_setting -p no:cacheprovider

# The style rules chosen in pyproject.toml ([tool.ruff.lint]), with the pinned ruff.
lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

# Only the unit tests (fast feedback while editing the package).
unit: $(STAMP) lint
	$(BIN)/python -m pytest tests -m "not browser and not full_setting" -p no:cacheprovider

# Only the notebooks, as nbval sees them.
notebooks-test: $(STAMP)
	$(NOTEBOOK_ENV) $(BIN)/python -m pytest notebooks --nbval \
		--nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout=600 -p no:cacheprovider

# Re-run every notebook in a fresh kernel and store its outputs (authors, after editing).
execute-notebooks: $(STAMP)
	$(NOTEBOOK_ENV) $(BIN)/python scripts/execute_notebooks.py notebooks/*.ipynb

# One offline reveal.js deck per chapter in build/slides/ (+ index.html); docs/SLIDES.md.
slides: $(STAMP)
	$(BIN)/python scripts/build_slides.py

# A trained LeNet-5 (lenet5.educnn, here) for the README's command-line block: chapter 7's
# short recipe on the MNIST sample shipped with the course, about a minute, no download.
model: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/python scripts/train_model.py lenet5.educnn

# One chapter as live slides with working widgets (Voilà + local reveal.js), offline:
#   make present CHAPTER=04      (docs/SLIDES.md, "Presenting live")
CHAPTER ?= 04
present: $(STAMP)
	$(BIN)/python scripts/present.py $(CHAPTER)

bench: $(STAMP)
	$(BIN)/python benchmarks/lenet_speed.py

clean:
	rm -rf build .pytest_cache

# Two commands for people: `make lab` and `make test`.  Both (re)build the
# project virtual environment .venv/ from requirements/requirements.lock; a
# second run skips the install when the lock and pyproject.toml are unchanged.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements/requirements.lock
STAMP  := $(VENV)/.installed
KERNEL := d2l-deep-rnn
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb notebooks/exercises/*.ipynb))
TAB    ?= pytorch
NBVAL  := $(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-kernel-name python3 --nbval-cell-timeout=900

.PHONY: install lab test test-unit test-notebooks test-browser lock book bench notebooks-zh notebooks-en figure clean
.PHONY: student slides site

$(STAMP): $(LOCK) pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required (found %s); set PYTHON=python3.11" % sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -r $(LOCK)
	# The reference package the tests compare against; its pins predate Python 3.11.
	$(BIN)/python -m pip install -q --no-deps d2l==0.17.6
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (d2l 9.3 deep RNNs)"
	touch $(STAMP)

install: $(STAMP)

lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

test: install test-unit test-notebooks

test-unit: install
	$(BIN)/python -m pytest -p no:cacheprovider --ignore=tests/browser tests

test-notebooks: install
	D2L_QUICK=1 D2L_TAB=pytorch $(NBVAL) $(NOTEBOOKS)
	D2L_QUICK=1 D2L_TAB=mxnet $(NBVAL) $(NOTEBOOKS)

test-browser: install
	$(BIN)/python -m pytest -p no:cacheprovider tests/browser

# Regenerate the lock after editing requirements/requirements.in.
lock:
	$(BIN)/python -m piptools compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links -o $(LOCK) requirements/requirements.in
	$(BIN)/python tools/sync_env.py

book: install
	$(BIN)/python tools/book.py --tab $(TAB)

bench: install
	$(BIN)/python tools/bench.py

notebooks-zh: install
	$(BIN)/python tools/nbtools.py split --lang zh --out build/zh $(NOTEBOOKS)
	mkdir -p build/img && cp img/*.svg build/img/  # ../img/ links keep working

notebooks-en: install
	$(BIN)/python tools/nbtools.py split --lang en --out build/en $(NOTEBOOKS)
	mkdir -p build/img && cp img/*.svg build/img/  # ../img/ links keep working

# Classroom kit (README: For teachers): the student edition in build/student/{zh,en}/,
# offline reveal.js decks in build/slides/, the executed edition in build/site/.
student: install
	$(BIN)/python tools/student.py --out build/student

slides: install
	$(BIN)/python tools/slides.py --tab $(TAB) --out build/slides

# SITE_MODE=quick|class|full executes the notebooks now; SITE_FROM=build reuses `make book`.
SITE_MODE ?= full
site: install
	$(BIN)/python tools/website.py --tabs $(TAB) --out build/site $(if $(SITE_FROM),--from $(SITE_FROM),--mode $(SITE_MODE))

figure: install
	$(BIN)/python tools/draw_deep_rnn.py img/deep-rnn.svg

clean:
	rm -rf build .pytest_cache

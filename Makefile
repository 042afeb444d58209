# Two commands for people: `make lab` and `make test`.  Both go through
# tools/setup_env.py, which (re)builds the virtual environment from
# requirements/requirements.lock when the lock, pyproject.toml or the Python
# changed, and says which tabs (PyTorch, MXNet) the environment has.  Windows
# users without make run the same script: `py -3.13 tools\setup_env.py lab`.
#
#   make lab                         # the Python the venv has, else python3
#   make lab PYTHON=python3.11       # choose the Python (MXNet needs 3.11)
#   make test VENV=.venv-3.13 PYTHON=python3.13
#   make lab TORCH=cpu               # PyTorch's CPU build (Linux x86-64, no GPU)
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= pypi
BIN    := $(VENV)/bin
SETUP  := $(PYTHON) -m tools.setup_env --venv $(VENV) --torch $(TORCH) \
          $(if $(filter command line environment,$(origin PYTHON)),--python $(PYTHON))
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb notebooks/exercises/*.ipynb))
TAB    ?= pytorch

.PHONY: install lab test test-unit test-notebooks test-browser check-install lock book bench notebooks-zh notebooks-en figure strip check clean
.PHONY: student slides site times answers

install:
	@$(SETUP) install

check-install:
	@$(SETUP) check

lab:
	@$(SETUP) lab

test:
	@$(SETUP) test

test-unit:
	@$(SETUP) test unit

# Every notebook in quick mode, once per tab whose framework is installed
# (d2l_helpers/frameworks.py lists them, and says why one is missing).
test-notebooks:
	@$(SETUP) test notebooks

test-browser:
	@$(SETUP) test browser

# Regenerate the lock (all platforms) after editing requirements/requirements.in.
lock:
	@$(SETUP) lock

book: install
	$(BIN)/python -m tools.book --tab $(TAB)

# The measured-answer cells of notebooks 04, ex2, ex3, ex4 and their long tables in
# README.md, from results/full-mode.json (run it after recording new full-mode runs).
answers: install
	$(BIN)/python -m tools.answers

bench: install
	$(BIN)/python -m tools.bench
	$(BIN)/python -m tools.bench_shared --concurrent 1 2 4

# notebooks-zh, notebooks-en: single-language copies in build/<lang>/
notebooks-zh notebooks-en: notebooks-%: install
	$(BIN)/python -m tools.nbtools split --lang $* --out build/$* $(NOTEBOOKS)
	mkdir -p build/img && cp img/*.svg build/img/  # ../img/ links keep working

# Remove outputs and execution counts from the notebooks (before committing).
strip: install
	$(BIN)/python -m tools.nbtools strip $(NOTEBOOKS)

# The notebook conventions of docs/CONVENTIONS.md, without running anything.
check: install
	$(BIN)/python -m tools.nbtools check $(NOTEBOOKS)

# Classroom kit (README: For teachers): the student edition in build/student/{zh,en}/,
# offline reveal.js decks in build/slides/, the executed edition in build/site/.
# The run-time lines at the top of every notebook and README's "For teachers" table, from
# the recorded wall times in results/{full,class,quick}-mode.json (tools/mode_times.py).
times: install
	$(BIN)/python -m tools.mode_times

student: install
	$(BIN)/python -m tools.student --out build/student

slides: install
	$(BIN)/python -m tools.slides --tab $(TAB) --out build/slides

# SITE_MODE=quick|class|full executes the notebooks now; SITE_FROM=build reuses `make book`.
SITE_MODE ?= full
site: install
	$(BIN)/python -m tools.website --tabs $(TAB) --out build/site $(if $(SITE_FROM),--from $(SITE_FROM),--mode $(SITE_MODE))

# The executed edition, committed: executed/{zh,en}/ (tools/executed.py).  Every notebook
# runs once under $(TAB) in class mode (EXECUTED_MODE=quick: a smoke test in seconds).
EXECUTED_MODE ?= class
.PHONY: executed
executed: install
	$(BIN)/python -m tools.executed --mode $(EXECUTED_MODE) --tab $(TAB)

# The architecture figure (img/deep-rnn.svg, img/deep-rnn.zh.svg) and the results
# figures img/results-*.png from results/full-mode.json (docs/FIGURES.md lists them).
figure: install
	$(BIN)/python -m tools.draw_deep_rnn
	$(BIN)/python -m tools.figures

clean:
	rm -rf build .pytest_cache

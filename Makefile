# Two commands for a new user: `make book` (set up, render the book) and
# `make test` (set up, run the tests); `make report` renders the short report,
# `make handin` the course hand-in (two executed notebooks, report, zip).
# Everything lives in .venv/.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup book report handin run test bench book-bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

setup: $(STAMP)

book: setup
	@bash scripts/render_book.sh

report: setup
	@bash scripts/render_book.sh --profile report

# .venv/bin first: a Quarto that render_book.sh pip-installed there is found.
handin: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m mlp_lab handin

run: setup
	$(PY) -m mlp_lab run

# Two pytest processes (pytest-xdist), each test file whole in one of them: the
# suite waits mostly on subprocesses, kernels and servers, and its module-scoped
# fixtures (the book's record, the hand-in) are built once per file.
test: setup
	MPLBACKEND=Agg $(PY) -m pytest -q -n 2 --dist loadfile

bench: setup
	$(PY) -m mlp_lab bench --json benchmarks/recorded.json

book-bench: setup
	$(PY) -m mlp_lab book-bench --json benchmarks/book.json

clean:
	rm -rf _book _report _freeze .quarto data/cache handin

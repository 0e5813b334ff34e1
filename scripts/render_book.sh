#!/usr/bin/env bash
# Render the book (HTML + PDF) with the project's .venv as Quarto's Python;
# arguments go to `quarto render` (`--profile report`: the short report).
set -euo pipefail
cd "$(dirname "$0")/.."
venv_bin="$(pwd)/.venv/bin"
export PATH="$venv_bin:$PATH"
export QUARTO_PYTHON="$venv_bin/python"
# The chapters' Jupyter kernels take their IPython settings from the project,
# not from ~/.ipython: book/_ipython/profile_default/ipython_kernel_config.py
# drops ipykernel's notice "Kernel is running over TCP without encryption"
# (printed once per chapter and format) and nothing else; that file says why.
export IPYTHONDIR="$(pwd)/book/_ipython"
if ! command -v quarto >/dev/null 2>&1; then
    echo "quarto not found; trying: pip install quarto-cli (into .venv)" >&2
    "$venv_bin/python" -m pip install -q quarto-cli || true
fi
if ! command -v quarto >/dev/null 2>&1; then
    cat >&2 <<'MSG'
error: Quarto is not installed, and `pip install quarto-cli` could not provide it
(that package downloads the Quarto binary, which needs internet access).
Fix: install Quarto from https://quarto.org/docs/get-started/ (it bundles Typst
for the PDF, no LaTeX needed), then run `make book` again.
Meanwhile `make run` runs the experiments and prints the results table.
MSG
    exit 1
fi
quarto render "$@"
if [ "${1:-}" = "--profile" ] && [ "${2:-}" = "report" ]; then
    echo "Report written to _report/ (report.pdf and report.html)."
else
    echo "Book written to _book/ (index.html and the PDF)."
fi

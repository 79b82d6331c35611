#!/usr/bin/env bash
# The whole check, as CI runs it: lint, type-check and test in a fresh virtual
# environment that this script creates and fills itself.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh

PY311="$(find_python 3.11 || find_python 3.12 || command -v python3)"
ensure_venv .venv "$PY311" test
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy (strict on the library)"
mypy -p y3 -p rxyomo -p wasm_host
echo "== mypy (the tests, benches and devtools; test functions need not annotate everything)"
mypy tests benches devtools
echo "== pytest"
pytest -q "$@"
bash scripts/test_wasmer.sh

#!/usr/bin/env bash
# The whole check, as CI runs it: lint, type-check and test in a fresh virtual
# environment that this script creates and fills itself (Python 3.11, with the native
# QUIC core built from native/quic), then the type check and tests again under Python
# 3.10 (scripts/test_py310.sh), where QUIC runs on aioquic.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
. scripts/_wasm_toolchain.sh
. scripts/_chromium.sh

if ! PY311="$(find_python 3.11 || find_python 3.12)"; then
    PY311="$(command -v python3)"
    python_missing "no Python 3.11 or 3.12 interpreter found; install Python 3.11 \
(pyenv install 3.11, or the system's python3.11)" "going on with $PY311 ($("$PY311" -V 2>&1))"
fi
ensure_venv .venv "$PY311" test
ensure_chromium
ensure_native .venv
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy (strict on the library)"
mypy -p y3 -p rxyomo -p wasm_host -m _rxyomo_extras
echo "== mypy (the tests, benches and devtools; test functions need not annotate everything)"
mypy tests benches devtools
ensure_wasm_toolchain
echo "== pytest"
pytest -q "$@"
bash scripts/test_py310.sh "$@"

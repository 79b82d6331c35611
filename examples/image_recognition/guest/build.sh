#!/usr/bin/env bash
# Builds image_recognition.wasm offline from Debian's Rust packages:
#
#   apt-get install rustc cargo libstd-rust-dev-wasm32 librust-wasm-bindgen-dev binaryen
#
# Usage: ./build.sh                      the model is read from a preopened directory
#        ./build.sh --embed MODEL.tflite the model is embedded in the module
set -euo pipefail
cd "$(dirname "$0")"

features=()
if [ "${1:-}" = "--embed" ]; then
    INFER_EMBED_MODEL="$(realpath "${2:?--embed needs the path of a .tflite file}")"
    export INFER_EMBED_MODEL
    features=(--features embed-model)
fi

# A rustup toolchain earlier on PATH may lack the wasm32 standard library: use Debian's.
export RUSTC=/usr/bin/rustc
/usr/bin/cargo build --release --target wasm32-wasi "${features[@]}"
wasm-opt -Oz --strip-debug --strip-producers \
    target/wasm32-wasi/release/image_recognition.wasm -o image_recognition.wasm
ls -l image_recognition.wasm

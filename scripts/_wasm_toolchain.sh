# Sourced by scripts/test.sh: the Rust toolchain the WebAssembly test guests are built with
# (tests/guests/, devtools/guests.py). rustup's toolchains have no wasm32 standard library
# here and cannot download one; Debian's rustc has it as a package.

# Usage: ensure_wasm_toolchain; installs Debian's rustc, cargo and wasm32 std when they are
# missing and this is a root shell with apt-get; otherwise says what the tests will miss.
ensure_wasm_toolchain() {
    local sysroot
    if sysroot="$(/usr/bin/rustc --print sysroot 2>/dev/null)" \
            && [ -d "$sysroot/lib/rustlib/wasm32-wasi/lib" ] && [ -x /usr/bin/cargo ]; then
        return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        echo "== installing Debian's rustc with the wasm32 standard library (test guests)"
        local log
        log="$(mktemp)"
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                rustc cargo libstd-rust-dev-wasm32 > "$log" 2>&1 \
            || { DEBIAN_FRONTEND=noninteractive apt-get update -q > "$log" 2>&1 \
                && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                    rustc cargo libstd-rust-dev-wasm32 >> "$log" 2>&1; }; then
            rm -f "$log"
            return 0
        fi
        tail -20 "$log" >&2
        rm -f "$log"
    fi
    echo "== WARNING: no rustc with the wasm32 standard library (apt-get install rustc cargo \
libstd-rust-dev-wasm32); the tests of the built guests skip, which is an error under CI=true" >&2
}

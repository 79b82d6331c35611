# Shared by scripts/test.sh, scripts/test_py310.sh and scripts/demo.sh: find interpreters,
# create (or refresh) a virtual environment and install the project with the given
# extras into it.

# Usage: ensure_venv DIR PYTHON EXTRAS
ensure_venv() {
    local dir="$1" python="$2" extras="$3"
    if [ ! -x "$dir/bin/python" ]; then
        "$python" -m venv "$dir"
        "$dir/bin/python" -m pip install --quiet --upgrade pip
    fi
    # Reinstall only when the dependency list changed: a stamp keeps reruns fast.
    local stamp="$dir/.rxyomo-installed-$extras"
    local want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        # The build backend is chatty even with --quiet: keep its output for failures.
        local log="$dir/pip-install.log"
        if ! "$dir/bin/python" -m pip install --quiet --disable-pip-version-check \
                -e ".[$extras]" > "$log" 2>&1; then
            cat "$log" >&2
            echo "installing the project's dependencies ($extras) failed; see above" >&2
            return 1
        fi
        echo "$want" > "$stamp"
    fi
}

# Usage: ensure_native DIR
# Builds rxyomo's native QUIC core (native/quic: Rust, built with maturin, its crates
# from Rust's package registry as Cargo.lock pins them) into a wheel cached under
# ${RXYOMO_CACHE:-~/.cache/rxyomo}/native-quic by a hash of its sources, and installs it
# into the virtual environment DIR; reruns reuse the wheel and skip the install. Without
# cargo the transports run on aioquic: a warning here, an error under CI=true.
ensure_native() {
    local dir="$1"
    local cache="${RXYOMO_CACHE:-$HOME/.cache/rxyomo}/native-quic"
    local key
    key="$(cd native/quic && find Cargo.toml Cargo.lock pyproject.toml src -type f \
        | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)"
    local stamp="$dir/.rxyomo-native-quic"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
        return 0
    fi
    local wheels="$cache/$key"
    if ! compgen -G "$wheels/rxyomo_quic-*.whl" > /dev/null; then
        if ! command -v cargo > /dev/null 2>&1; then
            if is_ci; then
                echo "== ERROR: cargo not found: the native QUIC core cannot be built \
(an error under CI=true)" >&2
                exit 1
            fi
            echo "== WARNING: cargo not found: the native QUIC core is not built; QUIC runs \
on aioquic (install Rust's cargo to build it)" >&2
            return 0
        fi
        echo "== building the native QUIC core (once per change of native/quic; cached)"
        local log="$dir/native-build.log" staging="$wheels.partial"
        rm -rf "$staging"
        if ! CARGO_TARGET_DIR="$cache/target" "$dir/bin/python" -m pip wheel --quiet \
                --disable-pip-version-check --no-deps --wheel-dir "$staging" ./native/quic \
                > "$log" 2>&1; then
            cat "$log" >&2
            echo "building the native QUIC core failed; see above" >&2
            return 1
        fi
        mv "$staging" "$wheels"
    fi
    if ! "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
            --force-reinstall "$wheels"/rxyomo_quic-*.whl; then
        echo "installing the native QUIC core failed" >&2
        return 1
    fi
    echo "$key" > "$stamp"
}

# Usage: find_python MINOR (e.g. 3.10); prints the interpreter's path.
find_python() {
    # The first interpreter of the wanted minor version that runs here. Each candidate
    # is asked for its version: a pyenv shim exists for every installed version but
    # runs only the selected ones.
    local minor="$1" candidate path
    for candidate in "python$minor" \
        "$(pyenv root 2>/dev/null)/versions/$minor".*/bin/"python$minor" \
        "/usr/bin/python$minor" "/usr/local/bin/python$minor"; do
        path="$(command -v "$candidate" 2>/dev/null)" || continue
        if "$path" -c "import sys; sys.exit('%d.%d' % sys.version_info[:2] != '$minor')" \
                > /dev/null 2>&1; then
            echo "$path"
            return 0
        fi
    done
    return 1
}

# Usage: is_ci; true when CI=true (any case), as CI sets it.
is_ci() {
    [ "$(printf '%s' "${CI:-}" | tr '[:upper:]' '[:lower:]')" = "true" ]
}

# Usage: python_missing MESSAGE [WHAT_HAPPENS_INSTEAD]
# An interpreter the test command needs is missing: under CI an error that ends the
# script, elsewhere a warning (and what happens instead), and the caller goes on.
python_missing() {
    if is_ci; then
        echo "== ERROR: $1 (an error under CI=true)" >&2
        exit 1
    fi
    echo "== WARNING: $1${2:+; $2}" >&2
}

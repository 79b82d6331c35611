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

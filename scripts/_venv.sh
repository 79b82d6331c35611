# Shared by scripts/test.sh and scripts/demo.sh: create (or refresh) a virtual
# environment and install the project with the given extras into it.
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

find_python() {
    # The first interpreter of the wanted minor version that exists here.
    local minor="$1" candidate
    for candidate in "python$minor" \
        "$(pyenv root 2>/dev/null)/versions/$minor"*/bin/"python$minor" \
        "/usr/bin/python$minor" "/usr/local/bin/python$minor"; do
        if [ -x "$(command -v "$candidate" 2>/dev/null)" ]; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# Sourced by scripts/test.sh: the browser test of the live view drives the system's
# Chromium (Debian's package) through Playwright, which downloads no browser of its own.

# Usage: ensure_chromium; installs Debian's chromium once (as root, with apt-get) when
# none is on PATH. Without one: an error under CI=true, elsewhere a warning (the browser
# test is then skipped).
ensure_chromium() {
    if command -v chromium > /dev/null 2>&1 || command -v chromium-browser > /dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then
        echo "== installing Debian's chromium (once) for the live view's browser test"
        local log
        log="$(mktemp)"
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > "$log" 2>&1 \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
                 apt-get install -y -qq chromium; } >> "$log" 2>&1; then
            rm -f "$log"
            return 0
        fi
        cat "$log" >&2
        rm -f "$log"
    fi
    if is_ci; then
        echo "== ERROR: no chromium for the live view's browser test (an error under CI=true)" >&2
        exit 1
    fi
    echo "== WARNING: no chromium (apt-get install chromium): the browser test is skipped" >&2
}

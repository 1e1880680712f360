# Sourced by scripts/start and scripts/test: a venv with the package, and a Chromium.
# Honours BETPIPE_HOME (default: the repository) and BETPIPE_CHROMIUM (a browser to use).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BETPIPE_HOME="$(mkdir -p "${BETPIPE_HOME:-$REPO}" && cd "${BETPIPE_HOME:-$REPO}" && pwd)"
VENV="$REPO/.venv"
PY="$VENV/bin/python"

say() { printf 'betpipe: %s\n' "$*" >&2; }

setup_venv() {
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    say "needs Python >= 3.11 (found: $("$python" --version 2>&1 || echo none)); set PYTHON=/path/to/python3.11"
    exit 1
  fi
  [ -x "$PY" ] || "$python" -m venv "$VENV"
  # reinstall only when the dependencies changed
  local stamp="$VENV/.betpipe-installed" want
  want="$(sha1sum "$REPO/pyproject.toml" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing the package and its dependencies into $VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check -e "$REPO[test]"
    echo "$want" > "$stamp"
  fi
}

find_chromium() {
  "$PY" -c 'from pipeline.browser.launch import find_chromium; print(find_chromium() or "")' 2>/dev/null || true
}

setup_chromium() {
  [ -n "$(find_chromium)" ] && return 0
  say "no Chromium found; trying 'playwright install chromium'"
  if timeout 300 "$VENV/bin/playwright" install chromium >/dev/null 2>&1 && [ -n "$(find_chromium)" ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian's chromium package (apt-get, about a minute)"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || true
  fi
  if [ -z "$(find_chromium)" ]; then
    say "could not find or install Chromium. Install it one of these ways, then run this again:"
    say "  $VENV/bin/playwright install chromium     (needs internet)"
    say "  sudo apt-get install chromium              (Debian; on Ubuntu use the playwright way)"
    say "  or set BETPIPE_CHROMIUM=/path/to/chrome"
    exit 1
  fi
}

setup_all() {
  setup_venv
  setup_chromium
}

# supervisord's socket for this home: short, under /tmp (same rule as pipeline.core.paths.Home.socket)
home_env() {
  BETPIPE_HOME="$(cd "$BETPIPE_HOME" && pwd -P)"
  export BETPIPE_HOME
  export BETPIPE_SOCK="/tmp/betpipe-$(printf %s "$BETPIPE_HOME" | sha1sum | cut -c1-12).sock"
  CTL=("$VENV/bin/supervisorctl" -c "$REPO/supervisord.conf")
}

running() { [ -S "$BETPIPE_SOCK" ] && "${CTL[@]}" pid >/dev/null 2>&1; }

#!/usr/bin/env bash
# Installs everything the app needs into the project folder, idempotently:
# the Python venv (.venv), bun from the npm registry (.tools/bun) at the version
# Reflex pins, and, with --browser, Debian's chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Chromium comes from Debian's packages while the Python packages install: on a fresh
# machine (CI's clean clone) the two downloads took a minute or more one after the other.
browser=""
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  echo "==> Debian chromium (browser tests), beside the rest"
  (
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
  ) &
  browser=$!
  # If the rest fails first, the install does not go on alone.
  trap '[ -z "$browser" ] || kill "$browser" 2>/dev/null || true' EXIT
fi

PYTHON=${PYTHON:-python3}
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "==> Python environment (.venv)"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# Reflex would download bun from the internet; take the npm package instead.
bun_version=$(.venv/bin/python -c 'from reflex_base.constants.installer import Bun; print(Bun.VERSION)')
if [ "$(.tools/bun/node_modules/.bin/bun --version 2>/dev/null || true)" != "$bun_version" ]; then
  echo "==> bun $bun_version (npm package)"
  mkdir -p .tools/bun
  npm install --silent --no-save --no-audit --no-fund --prefix .tools/bun "bun@$bun_version"
fi

if [ -n "$browser" ]; then
  pid=$browser
  browser=""
  wait "$pid" || { echo "==> installing Debian's chromium failed" >&2; exit 1; }
fi

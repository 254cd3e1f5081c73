#!/usr/bin/env bash
# Installs what Sluice needs on a fresh machine: pnpm 10 (pnpm 11 needs Node 22) and the
# workspace's packages (better-sqlite3 builds from source, about a minute cold).
set -euo pipefail
cd "$(dirname "$0")/.."

need_node_major=20
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt "$need_node_major" ]; then
  echo "sluice: Node.js >= $need_node_major is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

PNPM_VERSION=10.34.9
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "sluice: installing pnpm $PNPM_VERSION" >&2
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || npm install -g "pnpm@$PNPM_VERSION"
fi

# Native builds compile against Node's own headers; never download them.
export npm_config_nodedir="${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}"
if [ -n "${CI:-}" ]; then
  pnpm install --frozen-lockfile --reporter=append-only >&2
else
  pnpm install --reporter=append-only >&2
fi

# Node 22 beside this Node: the fresh-project test also installs and runs a project on it. In CI
# (and with SLUICE_NODE22=1) the pinned Node 22 + npm from the registry into ~/.cache/sluice, and
# better-sqlite3's binding built for it once per version (minutes cold; both shared by every clone,
# warm in about a second). Elsewhere that test skips its Node 22 part, saying so.
if [ -n "${CI:-}" ] || [ "${SLUICE_NODE22:-}" = 1 ]; then
  if ! { bash scripts/node22.sh >/dev/null && bash scripts/node22.sh binding >/dev/null; }; then
    echo "sluice: could not set up Node 22 (scripts/node22.sh); the fresh-project test needs it under CI=true" >&2
    if [ -n "${CI:-}" ]; then exit 1; fi
  fi
fi

# The fault suite drives the live view in a real terminal (tmux); install it when apt can (idempotent).
if ! command -v tmux >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "sluice: installing tmux (the live-view test)" >&2
  (apt-get install -y -qq tmux >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq tmux >/dev/null 2>&1; }) || echo "sluice: could not install tmux; the live-view test will fail under CI=true" >&2
fi

# The triggers' metric-monitor tests query a real Prometheus (Debian's, its TSDB built by promtool), when apt can.
if ! command -v promtool >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "sluice: installing prometheus (the triggers' Prometheus tests)" >&2
  (apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; }) || echo "sluice: could not install prometheus; the triggers' Prometheus tests will fail under CI=true" >&2
fi

# The web view's tests drive a real browser: Debian's Chromium (no browser download), when apt can.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "sluice: installing chromium (the web view's browser tests)" >&2
  (apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }) || echo "sluice: could not install chromium; the browser tests will fail under CI=true" >&2
fi

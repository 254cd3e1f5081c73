#!/usr/bin/env bash
# Regenerates test/fixtures/drift.json with scipy (reference values for the drift statistics).
# Not needed for the tests: the fixtures are committed. The venv lives in a git-ignored cache
# (packages/triggers/.cache/venv) with pinned scipy/numpy from PyPI; re-running is fast when warm.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import scipy, numpy' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'numpy==2.1.3' 'scipy==1.14.1'
fi
# --venv-only: just make sure the venv exists (bench/triggers.bench.ts uses it for the scipy peer)
[ "${1:-}" = "--venv-only" ] && { echo "$PWD/$venv/bin/python"; exit 0; }
"$venv/bin/python" test/fixtures/make_fixtures.py "${@:-test/fixtures/drift.json}"

#!/usr/bin/env bash
# The main job on a fresh machine: install, then train and promote a real model locally
# (examples/tabular-training) on the embedded default (SQLite state + artifact store in .sluice/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec pnpm exec sluice run examples/tabular-training/pipeline.ts "$@"

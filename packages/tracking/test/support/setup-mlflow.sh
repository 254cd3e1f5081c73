#!/usr/bin/env bash
# Installs a pinned MLflow tracking server into a virtualenv for the tracking tests (test-only,
# never part of the product). Idempotent: a venv that already has the pinned version is kept.
# Without python3 it says why and exits 0; the MLflow suites then skip (in CI they are required).
#
# Usage: bash packages/tracking/test/support/setup-mlflow.sh   -> prints the venv's mlflow path
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MLFLOW_VERSION=3.17.2   # 3.18.0's pinned skinny package is not served by the registry here
# Outside the clone, so a fresh clone (CI) reuses it: the same machine keeps $HOME.
venv="${SLUICE_MLFLOW_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice/mlflow-$MLFLOW_VERSION}"

if ! command -v python3 >/dev/null 2>&1; then
  echo "setup-mlflow: python3 is not installed: the MLflow suites will skip" >&2
  exit 0
fi
if [ -x "$venv/bin/mlflow" ] && "$venv/bin/python" -c "import mlflow,sys; sys.exit(0 if mlflow.__version__=='$MLFLOW_VERSION' else 1)" 2>/dev/null; then
  echo "$venv/bin/mlflow"; exit 0
fi
t0=$(date +%s)
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "mlflow==$MLFLOW_VERSION" >&2
echo "setup-mlflow: mlflow $MLFLOW_VERSION installed in $(( $(date +%s) - t0 ))s ($venv)" >&2
echo "$venv/bin/mlflow"

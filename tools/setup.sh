#!/usr/bin/env bash
# Builds the test oracles and the test cluster into tools/.bin/ (git-ignored):
#   argo-lint            Argo's own offline, strict lint            (tools/argo, ./lint)
#   workflow-controller  Argo's own workflow controller, our main   (tools/argo, ./controller)
#   kube-apiserver       a real Kubernetes API server               (tools/kube)
#   etcd                 its store                                  (tools/kube/etcd)
#   kwok                 the simulated node                         (tools/kwok)
# and installs the artifact repository's S3 server (moto[server], pinned in s3/requirements.txt)
# into a venv OUTSIDE the clone, ~/.cache/sluice/moto-<version> (SLUICE_MOTO_VENV overrides), so a
# fresh clone on the same machine (CI) stays warm.
# Idempotent: Go's build and module caches make a second run take seconds; the venv is kept
# while its version stamp matches.
# Without Go (or Python) it prints why and exits 0; the suites that need them then skip.
#
# Usage: bash tools/setup.sh [argo|kube|kwok|s3]...   (default: all; `argo-lint` = `argo`)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/.bin"
MOTO_VERSION=$(sed -n 's/^moto\[server\]==//p' "$here/s3/requirements.txt")

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(argo kube kwok s3)
mkdir -p "$bin"
t_all=$(now)

# s3: moto's S3 server in a venv (Python is needed by examples anyway; Go is not).
MOTO_VENV="${SLUICE_MOTO_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice/moto-$MOTO_VERSION}"
setup_s3() {
  # The venv is shared by every clone on the machine: one installer at a time (the others wait, then find it).
  mkdir -p "$(dirname "$MOTO_VENV")"
  ( flock 9; install_moto ) 9>"$MOTO_VENV.lock"
}
install_moto() {
  local venv="$MOTO_VENV" t0; t0=$(now)
  if [ -x "$venv/bin/moto_server" ] && [ "$(cat "$venv/.sluice-version" 2>/dev/null)" = "$MOTO_VERSION" ]; then
    echo "tools/setup.sh: moto[server] $MOTO_VERSION already in $venv"
    return
  fi
  local py; py=$(command -v python3 || true)
  if [ -z "$py" ]; then
    echo "tools/setup.sh: python3 is not installed: no S3 server; the cluster suites will skip."
    return
  fi
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/s3/requirements.txt"
  echo "$MOTO_VERSION" > "$venv/.sluice-version"
  echo "tools/setup.sh: moto[server] $MOTO_VERSION installed in $(secs "$t0" "$(now)")s ($venv)"
}

go_targets=()
for t in "${targets[@]}"; do
  case "$t" in
    s3) setup_s3 ;;
    argo|argo-lint|kube|kwok) go_targets+=("$t") ;;
    *) echo "tools/setup.sh: unknown target '$t' (expected argo, kube, kwok or s3)" >&2; exit 2 ;;
  esac
done
[ ${#go_targets[@]} -eq 0 ] && { echo "tools/setup.sh: done in $(secs "$t_all" "$(now)")s"; exit 0; }

if ! command -v go >/dev/null 2>&1; then
  echo "tools/setup.sh: Go is not installed (no 'go' on PATH): not building the oracles; pnpm test:oracles will skip them."
  exit 0
fi

# go.mod and go.sum are committed and complete: never rewrite them during a build.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"

# The versions that judge us are the ones the go.mod files pin.
modver() { (cd "$1" && go list -m -f '{{.Version}}' "$2"); }
ARGO_VERSION=$(modver "$here/argo" github.com/argoproj/argo-workflows/v4)
KUBE_VERSION=$(modver "$here/kube" k8s.io/kubernetes)
ETCD_VERSION=$(modver "$here/kube" go.etcd.io/etcd/server/v3)
KWOK_VERSION=$(modver "$here/kwok" sigs.k8s.io/kwok)

# fetch MODULE_DIR: the module graph into Go's module cache (quiet, and timed apart from builds)
fetch() {
  local t0; t0=$(now)
  (cd "$1" && go mod download)
  echo "tools/setup.sh: modules of ${1#"$here"/} ready in $(secs "$t0" "$(now)")s"
}

# build NAME MODULE_DIR PACKAGE [LDFLAGS]
build() {
  local name=$1 dir=$2 pkg=$3 ldflags=${4:-}
  local t0; t0=$(now)
  # Built beside and renamed into place: scripts/test.sh builds while other tests run, and a
  # test that finds a binary must never run a half-written one.
  (cd "$dir" && go build -buildvcs=false -trimpath -ldflags "-s -w $ldflags" -o "$bin/.$name.partial" "$pkg")
  mv -f "$bin/.$name.partial" "$bin/$name"
  echo "tools/setup.sh: $name ready in $(secs "$t0" "$(now)")s ($bin/$name)"
}

echo "tools/setup.sh: $(go version); GOCACHE=$(go env GOCACHE)"
for t in "${go_targets[@]}"; do
  case "$t" in
    argo|argo-lint)
      # One module for both: Argo's dependency graph downloads and compiles once.
      fetch "$here/argo"
      build argo-lint "$here/argo" ./lint
      build workflow-controller "$here/argo" ./controller ;;
    kube)
      fetch "$here/kube"
      v=k8s.io/component-base/version
      minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
      build kube-apiserver "$here/kube" k8s.io/kubernetes/cmd/kube-apiserver \
        "-X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
      build etcd "$here/kube" ./etcd ;;
    kwok)
      fetch "$here/kwok"
      build kwok "$here/kwok" sigs.k8s.io/kwok/cmd/kwok ;;
  esac
done
echo "$ARGO_VERSION" > "$bin/argo-version"
echo "$KUBE_VERSION" > "$bin/kube-version"
echo "$ETCD_VERSION" > "$bin/etcd-version"
echo "$KWOK_VERSION" > "$bin/kwok-version"
echo "tools/setup.sh: argo-workflows $ARGO_VERSION, kubernetes $KUBE_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION"
echo "tools/setup.sh: done in $(secs "$t_all" "$(now)")s"

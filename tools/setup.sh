#!/usr/bin/env bash
# Builds the test oracles into tools/.bin/ (git-ignored):
#   argo-lint       Argo's own offline, strict lint (tools/argo-lint)
#   kube-apiserver  a real Kubernetes API server (tools/kube)
#   etcd            its store (tools/kube/etcd)
# Idempotent: Go's build and module caches make a second run take seconds.
# Without Go it prints why and exits 0; `pnpm test:oracles` then skips.
#
# Usage: bash tools/setup.sh [argo-lint|kube]...   (default: all)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/.bin"

if ! command -v go >/dev/null 2>&1; then
  echo "tools/setup.sh: Go is not installed (no 'go' on PATH): not building the oracles; pnpm test:oracles will skip them."
  exit 0
fi

# go.mod and go.sum are committed and complete: never rewrite them during a build.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"
mkdir -p "$bin"

# The versions that judge us are the ones the go.mod files pin.
modver() { (cd "$1" && go list -m -f '{{.Version}}' "$2"); }
ARGO_VERSION=$(modver "$here/argo-lint" github.com/argoproj/argo-workflows/v4)
KUBE_VERSION=$(modver "$here/kube" k8s.io/kubernetes)
ETCD_VERSION=$(modver "$here/kube" go.etcd.io/etcd/server/v3)

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

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
  (cd "$dir" && go build -buildvcs=false -trimpath -ldflags "-s -w $ldflags" -o "$bin/$name" "$pkg")
  echo "tools/setup.sh: $name ready in $(secs "$t0" "$(now)")s ($bin/$name)"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(argo-lint kube)

t_all=$(now)
echo "tools/setup.sh: $(go version); GOCACHE=$(go env GOCACHE)"
for t in "${targets[@]}"; do
  case "$t" in
    argo-lint)
      fetch "$here/argo-lint"
      build argo-lint "$here/argo-lint" . ;;
    kube)
      fetch "$here/kube"
      v=k8s.io/component-base/version
      minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
      build kube-apiserver "$here/kube" k8s.io/kubernetes/cmd/kube-apiserver \
        "-X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
      build etcd "$here/kube" ./etcd ;;
    *)
      echo "tools/setup.sh: unknown target '$t' (expected argo-lint or kube)" >&2; exit 2 ;;
  esac
done
echo "$ARGO_VERSION" > "$bin/argo-version"
echo "$KUBE_VERSION" > "$bin/kube-version"
echo "$ETCD_VERSION" > "$bin/etcd-version"
echo "tools/setup.sh: argo-workflows $ARGO_VERSION, kubernetes $KUBE_VERSION, etcd $ETCD_VERSION"
echo "tools/setup.sh: done in $(secs "$t_all" "$(now)")s"

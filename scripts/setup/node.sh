#!/usr/bin/env bash
# Provide a Node.js that @pulumi/pulumi accepts (>= 22). Uses the machine's
# node when it is new enough; otherwise installs Node 24 from the npm registry
# (package `node@24`, which carries the binary) into the cache.
# Prints the folder that holds the `node` binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

if command -v node >/dev/null 2>&1; then
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -ge 22 ]; then dirname "$(command -v node)"; exit 0; fi
fi
if [ -x "$NODE_DIR/node_modules/node/bin/node" ]; then
  echo "$NODE_DIR/node_modules/node/bin"; exit 0
fi
command -v npm >/dev/null 2>&1 || die "npm is not on PATH: install Node.js 22 or later (apt-get install nodejs npm, or from nodejs.org)"
mkdir -p "$NESTLAB_CACHE"
# One install at a time: a second caller waits, then finds it (the install
# replaces the folder another caller may be running node from).
exec 9>"$NESTLAB_CACHE/.node.lock"
if ! flock -n 9; then
  log "waiting for another set-up that installs Node.js"
  flock 9
fi
if [ -x "$NODE_DIR/node_modules/node/bin/node" ]; then
  echo "$NODE_DIR/node_modules/node/bin"
  exit 0
fi
work="$(mktemp -d "$NESTLAB_CACHE/.node-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "installing Node.js $NODE_MAJOR from the npm registry (package node@$NODE_MAJOR)"
npm install --silent --no-audit --no-fund --prefix "$work" "node@$NODE_MAJOR" >"$work/npm.log" 2>&1 \
  || { tail -n 20 "$work/npm.log" >&2; die "npm install node@$NODE_MAJOR failed"; }
"$work/node_modules/node/bin/node" --version >/dev/null || die "the installed node does not run"
rm -rf "$NODE_DIR"
mv "$work" "$NODE_DIR"
trap - EXIT
echo "$NODE_DIR/node_modules/node/bin"

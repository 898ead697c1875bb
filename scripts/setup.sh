#!/usr/bin/env bash
# Everything a fresh machine needs, idempotent and cached: host packages and
# daemons, a Node.js the SDK accepts, the Pulumi engine, the npm packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS
bash scripts/setup/host.sh
# shellcheck source=setup/env.sh
. scripts/setup/env.sh
if [ ! -d node_modules/@pulumi/pulumi ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
log "ready in $((SECONDS - start)) s (node $(node --version), pulumi $(pulumi version))"

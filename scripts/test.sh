#!/usr/bin/env bash
# The README's test command (`npm test`) and CI's: set up, check, run every
# test level. Extra arguments go to jest (e.g. `npm test -- --selectProjects unit`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# shellcheck source=setup/env.sh
. scripts/setup/env.sh
# The S3 server of the shared-state test: built once per machine (minutes),
# here rather than inside a test's time limit.
bash scripts/setup/seaweedfs.sh >/dev/null
log "typecheck, lint, format"
npx tsc --noEmit -p .
npx eslint .
npx prettier --check .
log "compile (dist/: what the programs and the dynamic providers run)"
node scripts/build/dist.js
log "tests"
# One file at a time: the integration and e2e tests share one libvirtd and 2 cores.
exec npx jest --runInBand "$@"

#!/usr/bin/env bash
# `npm run bench:loop`: the project's environment, the peer (built once), then
# the benchmark (loop.ts). Extra arguments go to loop.ts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
# shellcheck source=../../setup/env.sh
. scripts/setup/env.sh
NESTLAB_BENCH_PEER="$(bash scripts/bench/loop/peer.sh)"
export NESTLAB_BENCH_PEER NESTLAB_CACHE
exec npx ts-node --transpile-only scripts/bench/loop/loop.ts "$@"

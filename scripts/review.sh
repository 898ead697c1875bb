#!/usr/bin/env bash
# `npm run review -- [--stack dev] [--out comment.md] [--json facts.json] [--fail-on replace,delete]`:
# the stack's preview as a pull-request comment (review/), with the project's
# engine and environment, as `npm run pulumi` has them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=setup/env.sh
. scripts/setup/env.sh
# The dev stack's passphrase has a documented default (README, "State and secrets").
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE="nestlab-dev"
fi
exec node -r ts-node/register/transpile-only review/cli.ts "$@"

#!/usr/bin/env bash
# `npm run pulumi -- <args>`: the Pulumi CLI with the project's environment,
# for users who have no Pulumi installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=setup/env.sh
. scripts/setup/env.sh
# The dev stack's passphrase has a documented default (README, "State and secrets").
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE="nestlab-dev"
fi
exec pulumi "$@"

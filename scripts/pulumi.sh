#!/usr/bin/env bash
# `npm run pulumi -- <args>`: the Pulumi CLI with the project's environment,
# for users who have no Pulumi installed. The dev stack's public passphrase is
# set for the dev stack only (scripts/setup/passphrase.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=setup/env.sh
. scripts/setup/env.sh
# shellcheck source=setup/passphrase.sh
. scripts/setup/passphrase.sh
choose_passphrase "$@"
exec pulumi "$@"

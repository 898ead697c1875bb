#!/usr/bin/env bash
# `npm run review -- [--stack dev] [--out comment.md] [--json facts.json] [--fail-on replace,delete]`:
# the stack's preview as a pull-request comment (review/), with the project's
# engine and environment, and the passphrase as `npm run pulumi` chooses it
# (the dev stack's public one for the dev stack only).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=setup/env.sh
. scripts/setup/env.sh
# shellcheck source=setup/passphrase.sh
. scripts/setup/passphrase.sh
stack=dev
args=("$@")
for i in "${!args[@]}"; do
  case "${args[$i]}" in
    --stack) stack="${args[$((i + 1))]-}" ;;
    --stack=*) stack="${args[$i]#--stack=}" ;;
  esac
done
choose_passphrase preview --stack "$stack"
exec node -r ts-node/register/transpile-only review/cli.ts "$@"

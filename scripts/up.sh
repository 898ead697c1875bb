#!/usr/bin/env bash
# The README's main command (`npm run up`): set the machine up, build the
# stand-in image when the stack asks for it, and `pulumi up` the stack
# (default: dev). Extra arguments go to `pulumi up`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
stack="${NESTLAB_STACK:-dev}"
# shellcheck source=setup/passphrase.sh
. scripts/setup/passphrase.sh
# Before anything else: a stack without a passphrase of its own goes no further.
passphrase_for "$stack"
bash scripts/setup.sh
if grep -Eq '^\s*nestlab:source:\s*"?standin"?\s*$' "stacks/Pulumi.$stack.yaml" 2>/dev/null; then
  bash scripts/image/standin.sh >/dev/null
fi
bash scripts/pulumi.sh stack select --create "$stack" >/dev/null
exec bash scripts/pulumi.sh up --yes --stack "$stack" "$@"

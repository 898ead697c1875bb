# Shared helpers for the setup scripts. Sourced, never run.
# Everything the project builds or downloads lives under one cache folder,
# outside the checkout, so that a fresh clone on the same machine reuses it.
NESTLAB_CACHE="${NESTLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nestlab}"
# The stacks' state (the default file backend) and Pulumi's home are no cache:
# they are the only record of what the stacks own.
NESTLAB_STATE="${NESTLAB_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/nestlab}"
PULUMI_VERSION="${PULUMI_VERSION:-v3.274.1}"
# The Node.js language host left the sdk/v3 module after v3.68; later versions
# are a separate module that the module proxy here does not serve. The host is
# a thin gRPC shim that runs @pulumi/pulumi's own `cmd/run`; the e2e tests
# prove it against the current CLI and SDK.
LANGUAGE_HOST_SDK_VERSION="${LANGUAGE_HOST_SDK_VERSION:-v3.68.0}"
NODE_MAJOR="${NODE_MAJOR:-24}"

ENGINE_DIR="$NESTLAB_CACHE/pulumi-$PULUMI_VERSION-nodejs-$LANGUAGE_HOST_SDK_VERSION"
NODE_DIR="$NESTLAB_CACHE/node-$NODE_MAJOR"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# The project's environment for the Pulumi CLI and the tests. Sourced.
# Puts the right node and the engine on PATH, keeps Pulumi offline, and
# defaults to a local file backend inside the cache.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"
node_bin="$(bash "$here/node.sh")" || return 1
engine_root="$(bash "$here/engine.sh")" || return 1
export PATH="$engine_root/bin:$node_bin:$PATH"
export NESTLAB_ENGINE_ROOT="$engine_root"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_HOME="${PULUMI_HOME:-$NESTLAB_CACHE/pulumi-home}"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$NESTLAB_CACHE/state}"
mkdir -p "$PULUMI_HOME" "${PULUMI_BACKEND_URL#file://}" 2>/dev/null || true
# V8 compile cache for every node process (the program, the provider processes):
# @pulumi/pulumi loads about twice as fast from it.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$NESTLAB_CACHE/node-compile-cache}"

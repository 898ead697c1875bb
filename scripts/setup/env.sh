# The project's environment for the Pulumi CLI and the tests. Sourced.
# Puts the right node and the engine on PATH, keeps Pulumi offline, and
# defaults to a local file backend in the user's state folder: the state is
# the only record of what the stacks own, never in the cache, which cache
# cleaners empty.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"
node_bin="$(bash "$here/node.sh")" || return 1
engine_root="$(bash "$here/engine.sh")" || return 1
export PATH="$engine_root/bin:$node_bin:$PATH"
export NESTLAB_ENGINE_ROOT="$engine_root"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

# move_once OLD NEW WHAT: earlier versions kept WHAT in the cache at OLD; move
# it to NEW once, saying so. Never over something at NEW: both with content
# is refused, for the user to decide.
move_once() {
  local old="$1" new="$2" what="$3"
  [ -d "$old" ] || return 0
  if [ -z "$(ls -A -- "$old" 2>/dev/null)" ]; then
    rmdir -- "$old" 2>/dev/null || true
    return 0
  fi
  if [ -d "$new" ] && [ -n "$(ls -A -- "$new")" ]; then
    # Pulumi writes a log for every command, so an older checkout run once
    # leaves a home of logs alone there: nothing to keep, nothing to refuse.
    if [ -z "$(ls -A -- "$old" | grep -vx logs)" ]; then
      rm -rf -- "$old"
      log "removed $old: earlier versions kept $what there, and it held only logs"
      return 0
    fi
    printf 'setup: error: %s is in two places: %s (where earlier versions kept it, in the cache) and %s. Keep the one that holds your stacks: move the other out of the way, then run again.\n' \
      "$what" "$old" "$new" >&2
    return 1
  fi
  [ ! -d "$new" ] || rmdir -- "$new"
  if ! mv -T -- "$old" "$new"; then
    # Another set-up at the same moment may have moved it first.
    [ ! -e "$old" ] && [ -d "$new" ] && return 0
    printf 'setup: error: could not move %s from %s to %s; move it by hand (mv -T %s %s)\n' "$what" "$old" "$new" "$old" "$new" >&2
    return 1
  fi
  log "moved $what from $old to $new (a cache folder is emptied by cache cleaners)"
}

# The state folder holds the stacks (their secrets encrypted, the dev stack's
# with a public passphrase) and Pulumi's logins: for the user alone.
state_folder() { (umask 077 && mkdir -p "$NESTLAB_STATE") && chmod 700 "$NESTLAB_STATE"; }
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  state_folder || return 1
  move_once "$NESTLAB_CACHE/state" "$NESTLAB_STATE/backend" "the stacks' state" || return 1
  mkdir -p "$NESTLAB_STATE/backend" || return 1
  export PULUMI_BACKEND_URL="file://$NESTLAB_STATE/backend"
else
  case "$PULUMI_BACKEND_URL" in
    file:///*)
      backend="${PULUMI_BACKEND_URL#file://}"
      mkdir -p "${backend%%\?*}" || return 1
      ;;
  esac
fi
# Pulumi's home holds logins (credentials.json), the selected stack of each
# project (workspaces/) and plugins: state too, not cache.
if [ -z "${PULUMI_HOME:-}" ]; then
  state_folder || return 1
  move_once "$NESTLAB_CACHE/pulumi-home" "$NESTLAB_STATE/pulumi-home" "Pulumi's home (logins, selected stacks)" || return 1
  export PULUMI_HOME="$NESTLAB_STATE/pulumi-home"
fi
mkdir -p "$PULUMI_HOME" || return 1
# V8 compile cache for every node process (the program, the provider processes):
# @pulumi/pulumi loads about twice as fast from it.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$NESTLAB_CACHE/node-compile-cache}"

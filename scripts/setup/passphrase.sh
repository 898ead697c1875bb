# Which stack a Pulumi command acts on, and the passphrase for its secrets.
# Sourced, after lib.sh. The dev stack's passphrase, "nestlab-dev", is public
# (README, "State and secrets"): it is set for that stack only. Any other
# stack needs one of the user's own before anything of it is encrypted.
DEV_PASSPHRASE=nestlab-dev

# stack_of_args ARGS...: the stack `pulumi ARGS...` acts on, found the way the
# CLI finds it: --stack/-s, the name given to `stack init` or `stack select`,
# PULUMI_STACK, then the stack selected in the workspace. Prints nothing when
# the command needs no stack, or when it cannot be told (nothing selected, the
# CLI will ask): no passphrase is set for those.
stack_of_args() {
  local flag="" a
  local -a cwd=() words=()
  while [ $# -gt 0 ]; do
    a="$1"
    shift
    case "$a" in
      --) words+=("$@") && break ;;
      --help | -h | --version) return 0 ;;
      --stack | -s) flag="${1-}" && shift $(($# > 0)) ;;
      --stack=*) flag="${a#--stack=}" ;;
      -s=*) flag="${a#-s=}" ;;
      -s?*) flag="${a#-s}" ;;
      --cwd | -C) cwd=(--cwd "${1-}") && shift $(($# > 0)) ;;
      --cwd=*) cwd=(--cwd "${a#--cwd=}") ;;
      -C=*) cwd=(--cwd "${a#-C=}") ;;
      -C?*) cwd=(--cwd "${a#-C}") ;;
      # Flags that take a value (global, and those of `stack init/select`):
      # the value is no command word.
      --color | --tracing | --tracing-header | --otel-traces | --profiling | --memprofilerate | \
        --verbose | -v | --secrets-provider | --copy-config-from | --teams)
        shift $(($# > 0))
        ;;
      # Short flags run together (-ys lab): whether the s is the stack flag
      # depends on the letters before it. Unknown: the CLI asks.
      -[!-]*s*) return 0 ;;
      -*) ;;
      *) words+=("$a") ;;
    esac
  done
  case "${words[0]-} ${words[1]-}" in
    "version "* | "about "* | "whoami "* | "login "* | "logout "* | "plugin "* | "help "* | \
      "completion "* | "gen-completion "* | "stack ls" | "stack unselect") return 0 ;;
  esac
  if [ -n "$flag" ]; then
    printf '%s\n' "$flag"
    return 0
  fi
  case "${words[0]-} ${words[1]-}" in
    # The name given; without one the CLI asks for it.
    "stack init" | "stack new" | "stack create" | "stack setup" | "stack select")
      printf '%s\n' "${words[2]-}"
      return 0
      ;;
    # These name their stacks in flags of their own, or ask.
    "new "* | "stack migrate") return 0 ;;
  esac
  if [ -n "${PULUMI_STACK+set}" ]; then
    printf '%s\n' "$PULUMI_STACK"
    return 0
  fi
  pulumi "${cwd[@]}" stack --show-name --non-interactive 2>/dev/null || true
}

# passphrase_for STACK: for the dev stack, exports its public passphrase
# unless one is set; for any other stack, requires the user's own (not empty,
# not the dev stack's). The passphrase is read as the CLI reads it:
# PULUMI_CONFIG_PASSPHRASE when set, else the file PULUMI_CONFIG_PASSPHRASE_FILE.
passphrase_for() {
  local stack="$1" given="" have=""
  if [ -n "${PULUMI_CONFIG_PASSPHRASE+set}" ]; then
    given="$PULUMI_CONFIG_PASSPHRASE" have=yes
  elif [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    have=yes
    # Unreadable: the CLI says so itself. Trimmed, as the CLI trims it.
    given="$(cat -- "$PULUMI_CONFIG_PASSPHRASE_FILE" 2>/dev/null)" || given=unreadable
    given="${given#"${given%%[![:space:]]*}"}"
    given="${given%"${given##*[![:space:]]}"}"
  fi
  # Qualified names (organization/nestlab/dev) end in the stack's own name.
  if [ "${stack##*/}" = dev ]; then
    if [ -z "$have" ] || [ -z "$given" ]; then export PULUMI_CONFIG_PASSPHRASE="$DEV_PASSPHRASE"; fi
    return 0
  fi
  if [ -z "$have" ] || [ -z "$given" ] || [ "$given" = "$DEV_PASSPHRASE" ]; then
    printf 'setup: error: the stack "%s" needs a passphrase of its own for its secrets (SSH keys, VNC password): "%s" is public and is for the dev stack only, and an empty one protects nothing. Set yours and run again, e.g. export PULUMI_CONFIG_PASSPHRASE_FILE=~/.config/nestlab/%s.passphrase (a file only you can read), or export PULUMI_CONFIG_PASSPHRASE=...\n' \
      "$stack" "$DEV_PASSPHRASE" "${stack##*/}" >&2
    return 1
  fi
}

# choose_passphrase ARGS...: passphrase_for the stack `pulumi ARGS...` acts on.
choose_passphrase() {
  local stack
  stack="$(stack_of_args "$@")"
  [ -z "$stack" ] || passphrase_for "$stack"
}

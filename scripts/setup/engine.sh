#!/usr/bin/env bash
# Provide the Pulumi CLI, the Node.js language host and the dynamic-provider
# plugin. Uses `pulumi` from PATH when present; otherwise builds them from the
# Go module proxy once and caches them in $ENGINE_DIR/bin.
# Prints the folder that holds bin/pulumi.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

write_dynamic_provider_plugin() {
  # The engine starts this with the program folder as cwd; it must keep this
  # exact file name, or the engine does not forward the plugin's output.
  cat >"$1/pulumi-resource-pulumi-nodejs" <<'SCRIPT'
#!/usr/bin/env bash
set -euo pipefail
entry="$(node -e 'process.stdout.write(require.resolve("@pulumi/pulumi/cmd/dynamic-provider"))')"
exec node "$entry" "$@"
SCRIPT
  chmod +x "$1/pulumi-resource-pulumi-nodejs"
}

if [ -z "${NESTLAB_BUILD_ENGINE:-}" ] && command -v pulumi >/dev/null 2>&1; then
  dirname "$(dirname "$(command -v pulumi)")"
  exit 0
fi
if [ -x "$ENGINE_DIR/bin/pulumi" ] && [ -x "$ENGINE_DIR/bin/pulumi-language-nodejs" ]; then
  echo "$ENGINE_DIR"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "go is not on PATH: install Go 1.24 or later (it builds the Pulumi CLI from the Go module proxy), or install the Pulumi CLI yourself"

mkdir -p "$NESTLAB_CACHE"
# One build at a time (a second caller, e.g. `npm test` beside `npm run up`,
# waits and then finds the engine): minutes of two cores each.
exec 9>"$NESTLAB_CACHE/.engine.lock"
if ! flock -n 9; then
  log "waiting for another set-up that builds the engine"
  flock 9
fi
if [ -x "$ENGINE_DIR/bin/pulumi" ] && [ -x "$ENGINE_DIR/bin/pulumi-language-nodejs" ]; then
  echo "$ENGINE_DIR"
  exit 0
fi
work="$(mktemp -d "$NESTLAB_CACHE/.engine-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out/bin" "$work/cli" "$work/langhost"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
buildflags=(-trimpath -tags osusergo,grpcnotrace)

step() { log "$1"; shift; if ! "$@" >"$work/step.log" 2>&1; then tail -n 30 "$work/step.log" >&2; die "step failed: $*"; fi; }
# Each in a subshell, in its folder (no command strings: paths stay data).
# `&&`: a step runs with errexit off (it is the condition of an if).
resolve_cli() (
  cd "$work/cli" &&
    go mod tidy &&
    go mod edit -require="github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" -require="github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION"
)
compile_cli() (
  cd "$work/cli" &&
    go build "${buildflags[@]}" -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" -o "$work/out/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
)
resolve_langhost() (
  cd "$work/langhost" &&
    go mod tidy &&
    go mod edit -require="github.com/pulumi/pulumi/sdk/v3@$LANGUAGE_HOST_SDK_VERSION"
)
compile_langhost() (
  cd "$work/langhost" &&
    go build "${buildflags[@]}" -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" -o "$work/out/bin/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
)

# The CLI: pkg/v3 carries replace directives, so `go install pkg@version` is
# refused; a wrapper module requires it and repeats its non-local replaces.
pkgmod="$(cd "$work/cli" && go mod download -json "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[ -n "$pkgmod" ] || die "step failed: go mod download github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION"
(
  cd "$work/cli"
  printf 'module nestlab.local/pulumi-cli\n\ngo 1.24\n' >go.mod
  go mod edit -require="github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" -require="github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION"
  # Repeat every replace of pkg/v3 that points at a module, not a folder.
  go mod edit -json "$pkgmod" | node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const r of m.Replace || []) if (r.New.Version) console.log(`${r.Old.Path}=${r.New.Path}@${r.New.Version}`);
  ' | while read -r rep; do go mod edit -replace="$rep"; done
  printf 'package main\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >tools.go
)
step "resolving the Pulumi CLI $PULUMI_VERSION modules (large: cloud SDKs)" resolve_cli
step "compiling the Pulumi CLI (minutes on 2 cores)" compile_cli

(
  cd "$work/langhost"
  printf 'module nestlab.local/pulumi-language-nodejs\n\ngo 1.24\n' >go.mod
  go mod edit -require="github.com/pulumi/pulumi/sdk/v3@$LANGUAGE_HOST_SDK_VERSION"
  printf 'package main\n\nimport _ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"\n' >tools.go
)
step "resolving the Node.js language host ($LANGUAGE_HOST_SDK_VERSION)" resolve_langhost
step "compiling the Node.js language host" compile_langhost

write_dynamic_provider_plugin "$work/out/bin"
"$work/out/bin/pulumi" version >/dev/null || die "the built CLI does not run"

# Move in only when complete: a half-built engine is never taken as cached.
rm -rf "$ENGINE_DIR.old"
[ -d "$ENGINE_DIR" ] && mv "$ENGINE_DIR" "$ENGINE_DIR.old"
mv "$work/out" "$ENGINE_DIR"
rm -rf "$ENGINE_DIR.old"
log "engine ready in $ENGINE_DIR"
echo "$ENGINE_DIR"

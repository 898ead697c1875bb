#!/usr/bin/env bash
# The peer of `npm run bench:loop`: terraform with terraform-provider-libvirt,
# built from Go sources through the Go module proxy once and cached in
# $NESTLAB_CACHE. Prints the folder that holds bin/terraform and the
# provider's filesystem mirror (plugins/).
#
# Versions: terraform v1.11.4; the provider at the newest version the proxy
# here serves (v0.8.3; later ones are refused). terraform's remote-state
# backends (azurerm, consul, cos, gcs, kubernetes, oss, pg, s3) are separate
# modules that the proxy does not serve: they are replaced by stubs that
# return no backend. The benchmark keeps its state in the local backend.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../setup/lib.sh
. "$here/../../setup/lib.sh"

TERRAFORM_VERSION="${TERRAFORM_VERSION:-v1.11.4}"
LIBVIRT_PROVIDER_VERSION="${LIBVIRT_PROVIDER_VERSION:-v0.8.3}"
PEER_DIR="$NESTLAB_CACHE/bench-peer-terraform-$TERRAFORM_VERSION-libvirt-$LIBVIRT_PROVIDER_VERSION"
provider_bin="plugins/registry.terraform.io/dmacvicar/libvirt/${LIBVIRT_PROVIDER_VERSION#v}/linux_amd64/terraform-provider-libvirt_$LIBVIRT_PROVIDER_VERSION"

# The provider runs xsltproc for the domain's `xml { xslt }` (the custom CPU).
if ! command -v xsltproc >/dev/null 2>&1; then
  log "installing xsltproc (terraform-provider-libvirt runs it for XSLT)"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q xsltproc >/dev/null
fi

if [ -x "$PEER_DIR/bin/terraform" ] && [ -x "$PEER_DIR/$provider_bin" ]; then
  echo "$PEER_DIR"
  exit 0
fi
command -v go >/dev/null 2>&1 || die "go is not on PATH: install Go 1.24 or later (it builds the peer from the Go module proxy)"

mkdir -p "$NESTLAB_CACHE"
# One build at a time: a second caller waits, then finds the peer.
exec 9>"$NESTLAB_CACHE/.bench-peer.lock"
flock 9
if [ -x "$PEER_DIR/bin/terraform" ] && [ -x "$PEER_DIR/$provider_bin" ]; then
  echo "$PEER_DIR"
  exit 0
fi
work="$(mktemp -d "$NESTLAB_CACHE/.bench-peer-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out/bin" "$work/terraform" "$work/provider"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
buildflags=(-trimpath)
step() { log "$1"; shift; if ! "$@" >"$work/step.log" 2>&1; then tail -n 30 "$work/step.log" >&2; die "step failed: $*"; fi; }
# Steps run in subshells, in their folder; `&&` because a step runs with
# errexit off (it is the condition of an if).

gomod_of() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p'; }
# Prints old=new@version for each replace of a go.mod that points at a module.
module_replaces() {
  go mod edit -json "$1" | node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const r of m.Replace || []) if (r.New.Version) {
      const old = r.Old.Version ? `${r.Old.Path}@${r.Old.Version}` : r.Old.Path;
      console.log(`${old}=${r.New.Path}@${r.New.Version}`);
    }'
}
# Prints the paths that a go.mod replaces with one of its own folders.
local_replaces() {
  go mod edit -json "$1" | node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const r of m.Replace || []) if (!r.New.Version) console.log(r.Old.Path);'
}

# terraform: its go.mod replaces its own nested modules with folders that the
# module's zip leaves out, so a wrapper module requires it and supplies them.
tfmod="$(cd "$work/terraform" && gomod_of "github.com/hashicorp/terraform@$TERRAFORM_VERSION")"
[ -n "$tfmod" ] || die "step failed: go mod download github.com/hashicorp/terraform@$TERRAFORM_VERSION"
(
  cd "$work/terraform"
  printf 'module nestlab.local/terraform\n\ngo 1.24\n' >go.mod
  go mod edit -require="github.com/hashicorp/terraform@$TERRAFORM_VERSION"
  module_replaces "$tfmod" | while read -r rep; do go mod edit -replace="$rep"; done
  local_replaces "$tfmod" | while read -r path; do
    dir="stubs/${path##*/}"
    mkdir -p "$dir"
    printf 'module %s\n\ngo 1.24\n' "$path" >"$dir/go.mod"
    case "$path" in
      */remote-state/*)
        # Same constructor as the real backend; no backend behind it.
        printf '// Package stub stands for a remote-state backend the module proxy does not serve.\npackage stub\n\nimport "github.com/hashicorp/terraform/internal/backend"\n\nfunc New() backend.Backend { return nil }\n' >"$dir/stub.go"
        ;;
      *) printf '// Package stub stands for a module nothing built here imports.\npackage stub\n' >"$dir/stub.go" ;;
    esac
    go mod edit -replace="$path=./$dir"
  done
  printf 'package main\n\nimport _ "github.com/hashicorp/terraform"\n' >tools.go
)
# -e: tests of its packages import the left-out modules too; the build does not.
resolve_terraform() (
  cd "$work/terraform" &&
    go mod tidy -e &&
    go mod edit -require="github.com/hashicorp/terraform@$TERRAFORM_VERSION"
)
compile_terraform() (
  cd "$work/terraform" &&
    go build "${buildflags[@]}" -ldflags "-s -w -X github.com/hashicorp/terraform/version.dev=no" -o "$work/out/bin/terraform" github.com/hashicorp/terraform
)
step "resolving terraform $TERRAFORM_VERSION modules" resolve_terraform
step "compiling terraform $TERRAFORM_VERSION (minutes on 2 cores)" compile_terraform

# The provider: plain replaces only, repeated in a wrapper module.
pvmod="$(cd "$work/provider" && gomod_of "github.com/dmacvicar/terraform-provider-libvirt@$LIBVIRT_PROVIDER_VERSION")"
[ -n "$pvmod" ] || die "step failed: go mod download github.com/dmacvicar/terraform-provider-libvirt@$LIBVIRT_PROVIDER_VERSION (the proxy here serves v0.8.3)"
(
  cd "$work/provider"
  printf 'module nestlab.local/terraform-provider-libvirt\n\ngo 1.24\n' >go.mod
  go mod edit -require="github.com/dmacvicar/terraform-provider-libvirt@$LIBVIRT_PROVIDER_VERSION"
  module_replaces "$pvmod" | while read -r rep; do go mod edit -replace="$rep"; done
  printf 'package main\n\nimport _ "github.com/dmacvicar/terraform-provider-libvirt"\n' >tools.go
)
mkdir -p "$work/out/$(dirname "$provider_bin")"
resolve_provider() (
  cd "$work/provider" &&
    go mod tidy &&
    go mod edit -require="github.com/dmacvicar/terraform-provider-libvirt@$LIBVIRT_PROVIDER_VERSION"
)
compile_provider() (
  cd "$work/provider" &&
    go build "${buildflags[@]}" -ldflags "-s -w -X github.com/dmacvicar/terraform-provider-libvirt/version.ProviderVersion=${LIBVIRT_PROVIDER_VERSION#v}" -o "$work/out/$provider_bin" github.com/dmacvicar/terraform-provider-libvirt
)
step "resolving terraform-provider-libvirt $LIBVIRT_PROVIDER_VERSION modules" resolve_provider
step "compiling terraform-provider-libvirt $LIBVIRT_PROVIDER_VERSION" compile_provider

touch "$work/empty.tfrc"
TF_CLI_CONFIG_FILE="$work/empty.tfrc" "$work/out/bin/terraform" version >/dev/null || die "the built terraform does not run"
# Move in only when complete: a half-built peer is never taken as cached.
rm -rf "$PEER_DIR.old"
[ -d "$PEER_DIR" ] && mv "$PEER_DIR" "$PEER_DIR.old"
mv "$work/out" "$PEER_DIR"
rm -rf "$PEER_DIR.old"
log "peer ready in $PEER_DIR"
echo "$PEER_DIR"

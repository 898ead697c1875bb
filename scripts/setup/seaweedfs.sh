#!/usr/bin/env bash
# Provide SeaweedFS's `weed` (an S3-compatible server) for the test of a
# shared state backend: built from the Go module proxy once, cached in
# $NESTLAB_CACHE, under a lock so two callers build once.
# Prints the path of the binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"
SEAWEEDFS_VERSION="${SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}"
dir="$NESTLAB_CACHE/seaweedfs-$SEAWEEDFS_VERSION"
bin="$dir/weed"

# A binary that runs and names its version counts as built.
works() { [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q '^version '; }
if works; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null 2>&1 || die "go is not on PATH: install Go 1.26 or later (it builds SeaweedFS from the Go module proxy)"

mkdir -p "$NESTLAB_CACHE"
exec 9>"$NESTLAB_CACHE/.seaweedfs.lock"
if ! flock -n 9; then
  log "waiting for another set-up that builds SeaweedFS"
  flock 9
fi
if works; then
  echo "$bin"
  exit 0
fi
work="$(mktemp -d "$NESTLAB_CACHE/.seaweedfs-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export CGO_ENABLED=0 GOFLAGS=-mod=mod
module="github.com/seaweedfs/seaweedfs"

# Its go.mod carries a replace directive, so `go install module/weed@version`
# is refused; a wrapper module requires it and repeats its module replaces.
gomod="$(cd "$work" && go mod download -json "$module@$SEAWEEDFS_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[ -n "$gomod" ] || die "go mod download $module@$SEAWEEDFS_VERSION failed"
(
  cd "$work"
  printf 'module nestlab.local/seaweedfs\n\ngo 1.26\n' >go.mod
  go mod edit -require="$module@$SEAWEEDFS_VERSION"
  go mod edit -json "$gomod" | node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const r of m.Replace || []) if (r.New.Version) console.log(`${r.Old.Path}=${r.New.Path}@${r.New.Version}`);
  ' | while read -r rep; do go mod edit -replace="$rep"; done
  printf 'package main\n\nimport _ "%s/weed"\n' "$module" >tools.go
)
build() (
  cd "$work" &&
    go mod tidy &&
    nice -n 19 go build -trimpath -ldflags "-s -w" -o "$work/weed" "$module/weed"
)
log "building SeaweedFS $SEAWEEDFS_VERSION (minutes on 2 cores)"
if ! build >"$work/build.log" 2>&1; then
  tail -n 30 "$work/build.log" >&2
  die "building SeaweedFS failed"
fi
"$work/weed" version 2>/dev/null | grep -q '^version ' || die "the built weed does not run"
mkdir -p "$dir"
mv -f "$work/weed" "$bin"
log "SeaweedFS ready: $bin"
echo "$bin"

#!/usr/bin/env bash
# The guest kit: a small Debian guest for tests against a real kernel.
#
#   bash scripts/guest/build-kit.sh          build if needed; print the kit folder
#   bash scripts/guest/build-kit.sh --key    print the key only (resolves packages)
#
# The kit is a Debian bookworm kernel (vmlinuz) and an initramfs (cpio.gz) with
# busybox, kmod, dropbear, the kvm/kvm_amd/kvm_intel and virtio modules and the
# kvm-holder program, plus an SSH key pair for root and the guest's host key
# (made at build time, so a test can pin it). Everything comes from Debian
# packages fetched with `apt-get download` and unpacked with `dpkg-deb -x`:
# nothing is installed on the build host.
#
# Cached under $NESTLAB_CACHE/guest-kit-<key>/, the key a hash of the package
# versions and of this folder's files; built in a temp folder beside it and
# renamed when complete. A failed build leaves nothing behind and names the
# step that failed with the last lines of its output.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NESTLAB_CACHE="${NESTLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nestlab}"
KIT_FORMAT=1
KERNEL_META="linux-image-amd64"
# The userland: dash is /bin/sh as on Debian (busybox's own shell would run its
# modprobe/rmmod applets instead of kmod's); busybox gives the other commands.
# Shared libraries are taken from these packages by the binaries' NEEDED entries.
USER_PACKAGES=(busybox-static dash dropbear-bin kmod libc6 libcrypt1 libgcc-s1 libgmp10 libkmod2
  liblzma5 libssl3 libtomcrypt1 libtommath1 libzstd1 zlib1g)
# Modules in the initramfs, with everything they depend on.
MODULES=(kvm_amd kvm_intel virtio_pci virtio_net virtio_blk virtio_console virtio_balloon)
KERNEL_CMDLINE="console=ttyS0 panic=-1 quiet"
READY_MARKER="NESTLAB-GUEST-READY"

log() { printf 'guest-kit: %s\n' "$*" >&2; }
die() { printf 'guest-kit: error: %s\n' "$*" >&2; exit 1; }

mode=build
case "${1:-}" in
  "") ;;
  --key) mode=key ;;
  *) die "unknown argument '$1'; usage: build-kit.sh [--key]" ;;
esac

# Tools of the build host (each from a standard Debian package).
declare -A tools=([apt-get]=apt [apt-cache]=apt [apt-config]=apt [dpkg-deb]=dpkg [cpio]=cpio
  [gzip]=gzip [gcc]=gcc [readelf]=binutils [ssh-keygen]=openssh-client [flock]=util-linux
  [sha256sum]=coreutils)
for t in "${!tools[@]}"; do
  command -v "$t" >/dev/null 2>&1 || die "$t is not installed: apt-get install ${tools[$t]}"
done
[ -e /usr/include/linux/kvm.h ] || die "linux/kvm.h is missing: apt-get install linux-libc-dev"

mkdir -p "$NESTLAB_CACHE"

# --- Which package versions: resolved with apt-cache (about 1 s) once per
# state of the apt lists, then remembered.
lists_dir="$(eval "$(apt-config shell d Dir::State::Lists/d)"; echo "${d:-/var/lib/apt/lists/}")"
apt_state="$(
  {
    stat -c '%n %s %Y' "$lists_dir"*Packages* 2>/dev/null || true
    stat -c '%n %s %Y' /etc/apt/sources.list /etc/apt/sources.list.d/* /etc/apt/preferences \
      /etc/apt/preferences.d/* 2>/dev/null || true
    echo "$KERNEL_META ${USER_PACKAGES[*]}"
  } | sha256sum | cut -c1-32
)"
resolved_dir="$NESTLAB_CACHE/guest-kit-resolved"
resolved_file="$resolved_dir/$apt_state"

# Prints "package=version" lines for every package apt-cache shows.
show_versions() {
  apt-cache show --no-all-versions "$@" | awk '
    /^Package: / { p = $2 }
    /^Version: / { print p "=" $2 }'
}

resolve() {
  local kernel_pkg lines
  kernel_pkg="$(apt-cache show --no-all-versions "$KERNEL_META" 2>/dev/null \
    | sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -n1)"
  [ -n "$kernel_pkg" ] || die "apt-cache knows no $KERNEL_META: run apt-get update (Debian bookworm sources)"
  lines="$(show_versions "$kernel_pkg" "${USER_PACKAGES[@]}" 2>&1)" \
    || die "apt-cache show failed: $(tail -n 5 <<<"$lines")"
  for p in "$kernel_pkg" "${USER_PACKAGES[@]}"; do
    grep -q "^$p=" <<<"$lines" || die "apt-cache has no candidate for $p: run apt-get update"
  done
  mkdir -p "$resolved_dir"
  local tmp
  tmp="$(mktemp "$resolved_dir/.tmp.XXXXXX")"
  {
    echo "kernel $kernel_pkg"
    LC_ALL=C sort <<<"$lines"
  } >"$tmp"
  mv -f "$tmp" "$resolved_file"
}

[ -s "$resolved_file" ] || resolve
kernel_pkg="$(sed -n 's/^kernel //p' "$resolved_file")"
mapfile -t pinned < <(grep '=' "$resolved_file")

key="$(
  {
    echo "format $KIT_FORMAT"
    cat "$resolved_file"
    gcc -dumpfullversion
    (cd "$here" && LC_ALL=C sha256sum build-kit.sh init.sh kvm-holder.c)
  } | sha256sum | cut -c1-16
)"
kit_dir="$NESTLAB_CACHE/guest-kit-$key"

if [ "$mode" = key ]; then echo "$key"; exit 0; fi
if [ -s "$kit_dir/kit.json" ]; then echo "$kit_dir"; exit 0; fi

# --- Build, one at a time: a second caller waits and then finds the kit.
exec 9>"$NESTLAB_CACHE/.guest-kit.lock"
flock 9
if [ -s "$kit_dir/kit.json" ]; then echo "$kit_dir"; exit 0; fi

started=$(date +%s)
work="$(mktemp -d "$NESTLAB_CACHE/.guest-kit-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/logs"

# step NAME COMMAND...: runs one build step in a subshell (errexit holds
# inside it) with its output in a log; on failure, names the step and shows
# the end of that log.
step() {
  local name="$1" rc
  shift
  set +e
  (
    set -e
    "$@"
  ) >"$work/logs/$name.log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    {
      printf 'guest-kit: error: step "%s" failed (%s); last lines:\n' "$name" "$*"
      tail -n 15 "$work/logs/$name.log" | sed 's/^/  /'
    } >&2
    exit 1
  fi
}

log "building guest kit $key ($kernel_pkg and ${#USER_PACKAGES[@]} userland packages)"

# --- Packages, kept in a cache of .deb files named by version.
debs="$NESTLAB_CACHE/debs"
mkdir -p "$debs"
deb_of() { # deb_of PACKAGE=VERSION: the cached .deb, if any
  local p="${1%%=*}" v="${1#*=}"
  compgen -G "$debs/${p}_${v//:/%3a}_*.deb" | head -n1 || true
}
fetch_debs() {
  local missing=() spec
  for spec in "${pinned[@]}"; do [ -n "$(deb_of "$spec")" ] || missing+=("$spec"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  mkdir -p "$work/download"
  (cd "$work/download" && apt-get download -q "${missing[@]}")
  mv -f "$work/download"/*.deb "$debs/"
  for spec in "${missing[@]}"; do
    [ -n "$(deb_of "$spec")" ] || { echo "apt-get download gave no .deb for $spec"; return 1; }
  done
}
step download fetch_debs

unpack() {
  local spec
  for spec in "${pinned[@]}"; do
    if [ "${spec%%=*}" = "$kernel_pkg" ]; then
      dpkg-deb -x "$(deb_of "$spec")" "$work/kernel"
    else
      dpkg-deb -x "$(deb_of "$spec")" "$work/pkgs"
    fi
  done
}
step unpack unpack

kver="$(basename "$(compgen -G "$work/kernel/lib/modules/*" | head -n1)")"
[ -n "$kver" ] && [ -d "$work/kernel/lib/modules/$kver" ] || die "no lib/modules in $kernel_pkg"

# Runs an unpacked binary with the unpacked loader and libraries (never the
# build host's), under the name argv0 (kmod and busybox are multi-call).
pkg_libs="$work/pkgs/lib/x86_64-linux-gnu:$work/pkgs/usr/lib/x86_64-linux-gnu"
run_unpacked() {
  local argv0="$1" bin="$2"
  shift 2
  "$work/pkgs/lib64/ld-linux-x86-64.so.2" --library-path "$pkg_libs" --argv0 "$argv0" "$bin" "$@"
}

# --- Root file system of the initramfs: merged /usr, all programs in /usr/bin.
root="$work/root"
kit="$work/kit"
mkdir -p "$kit"
layout() {
  mkdir -p "$root"/{usr/bin,usr/lib/x86_64-linux-gnu,usr/lib64,dev,proc,sys,run,tmp,mnt,var/log}
  mkdir -p "$root"/etc/{modprobe.d,dropbear} "$root/root/.ssh"
  ln -s usr/bin "$root/bin"
  ln -s usr/bin "$root/sbin"
  ln -s bin "$root/usr/sbin"
  ln -s usr/lib "$root/lib"
  ln -s usr/lib64 "$root/lib64"
  ln -s ../run "$root/var/run"
  chmod 0700 "$root/root" "$root/root/.ssh"
  chmod 1777 "$root/tmp"
}
step layout layout

programs() {
  local a
  install -m 0755 "$work/pkgs/bin/busybox" "$root/usr/bin/busybox"
  install -m 0755 "$work/pkgs/bin/kmod" "$root/usr/bin/kmod"
  install -m 0755 "$work/pkgs/usr/sbin/dropbear" "$root/usr/bin/dropbear"
  install -m 0755 "$work/pkgs/bin/dash" "$root/usr/bin/dash"
  ln -s dash "$root/usr/bin/sh"
  for a in modprobe rmmod insmod lsmod depmod modinfo; do ln -s kmod "$root/usr/bin/$a"; done
  # busybox is static: it runs on the build host as it is.
  for a in $("$work/pkgs/bin/busybox" --list); do
    [ -e "$root/usr/bin/$a" ] || [ -L "$root/usr/bin/$a" ] || ln -s busybox "$root/usr/bin/$a"
  done
  install -m 0755 "$here/init.sh" "$root/init"
  gcc -static -Os -s -Wall -Wextra -Werror -o "$root/usr/bin/kvm-holder" "$here/kvm-holder.c"
}
step programs programs

# Copies the shared libraries the dynamic programs need, by NEEDED, recursively.
libraries() {
  local todo=("$root/usr/bin/kmod" "$root/usr/bin/dropbear" "$root/usr/bin/dash") seen=" " f lib src dir
  while [ "${#todo[@]}" -gt 0 ]; do
    f="${todo[0]}"
    todo=("${todo[@]:1}")
    for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      case "$seen" in *" $lib "*) continue ;; esac
      seen+="$lib "
      src=""
      for dir in "$work/pkgs/lib/x86_64-linux-gnu" "$work/pkgs/usr/lib/x86_64-linux-gnu"; do
        [ -e "$dir/$lib" ] && { src="$dir/$lib"; break; }
      done
      [ -n "$src" ] || { echo "no package in USER_PACKAGES provides $lib (needed by ${f##*/})"; return 1; }
      cp -L "$src" "$root/usr/lib/x86_64-linux-gnu/$lib"
      todo+=("$root/usr/lib/x86_64-linux-gnu/$lib")
    done
  done
  cp -L "$work/pkgs/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$root/usr/lib/x86_64-linux-gnu/"
  ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/usr/lib64/ld-linux-x86-64.so.2"
}
step libraries libraries

modules() {
  local ktree="$work/kernel/lib/modules/$kver" dest="$root/usr/lib/modules/$kver" m line path rel
  run_unpacked depmod "$work/pkgs/bin/kmod" -b "$work/kernel" "$kver"
  mkdir -p "$dest"
  cp "$ktree"/modules.builtin "$ktree"/modules.builtin.modinfo "$ktree"/modules.order "$dest/"
  for m in "${MODULES[@]}"; do
    while read -r line; do
      case "$line" in
        "insmod "*)
          path="${line#insmod }"
          path="${path%% *}"
          rel="${path#"$ktree"/}"
          mkdir -p "$dest/$(dirname "$rel")"
          cp "$path" "$dest/$rel"
          ;;
        "builtin "*) ;;
        *) echo "unexpected modprobe output for $m: $line"; return 1 ;;
      esac
    done < <(run_unpacked modprobe "$work/pkgs/bin/kmod" -d "$work/kernel" -S "$kver" --show-depends "$m")
  done
  run_unpacked depmod "$work/pkgs/bin/kmod" -b "$root" "$kver"
  for m in "${MODULES[@]}"; do
    run_unpacked modprobe "$root/usr/bin/kmod" -d "$root" -S "$kver" --show-depends "$m" >/dev/null
  done
  (cd "$dest" && find kernel -name '*.ko' | LC_ALL=C sort) >"$work/modules.list"
}
step modules modules

config() {
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
EOF
  cat >"$root/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
EOF
  chmod 0600 "$root/etc/shadow"
  printf 'root:x:0:\ntty:x:5:\n' >"$root/etc/group"
  printf '/bin/sh\n' >"$root/etc/shells"
  printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' >"$root/etc/nsswitch.conf"
  printf 'nestlab-guest\n' >"$root/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 nestlab-guest\n' >"$root/etc/hosts"
  cat >"$root/etc/profile" <<'EOF'
export PATH=/usr/bin:/bin:/usr/sbin:/sbin
export PS1='nestlab-guest# '
EOF
  # The kit's keys: root's login key (its private half stays beside the kit) and
  # the guest's host key (its public half too, so tests pin it).
  ssh-keygen -q -t ed25519 -N '' -C "nestlab-guest-kit-$key" -f "$kit/ssh_ed25519"
  install -m 0600 "$kit/ssh_ed25519.pub" "$root/root/.ssh/authorized_keys"
  run_unpacked dropbearkey "$work/pkgs/usr/bin/dropbearkey" -t ed25519 \
    -f "$root/etc/dropbear/dropbear_ed25519_host_key"
  chmod 0600 "$root/etc/dropbear/dropbear_ed25519_host_key"
  run_unpacked dropbearkey "$work/pkgs/usr/bin/dropbearkey" -y \
    -f "$root/etc/dropbear/dropbear_ed25519_host_key" \
    | awk '/^ssh-ed25519 / { print $1, $2 }' >"$kit/host_ed25519.pub"
  grep -q '^ssh-ed25519 ' "$kit/host_ed25519.pub" || { echo "dropbearkey -y printed no public key"; return 1; }
}
step config config

archive() {
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort \
    | cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -n -6 >"$kit/initrd.cpio.gz"
  install -m 0644 "$work/kernel/boot/vmlinuz-$kver" "$kit/vmlinuz"
}
step archive archive

json_list() { # json_list ITEM...: a JSON array of strings (items hold no quotes or backslashes)
  local first=1 i
  printf '['
  for i in "$@"; do
    [ $first = 1 ] || printf ', '
    first=0
    printf '"%s"' "$i"
  done
  printf ']'
}
manifest() {
  mapfile -t mods <"$work/modules.list"
  cat >"$kit/kit.json" <<EOF
{
  "format": $KIT_FORMAT,
  "key": "$key",
  "kernelVersion": "$kver",
  "kernelPackage": "$kernel_pkg",
  "packages": $(json_list "${pinned[@]}"),
  "modules": $(json_list "${mods[@]}"),
  "kernelCmdline": "$KERNEL_CMDLINE",
  "readyMarker": "$READY_MARKER",
  "sshUser": "root",
  "kvmHolder": "/usr/bin/kvm-holder",
  "kernel": "vmlinuz",
  "initrd": "initrd.cpio.gz",
  "sshPrivateKeyFile": "ssh_ed25519",
  "sshPublicKeyFile": "ssh_ed25519.pub",
  "hostPublicKeyFile": "host_ed25519.pub",
  "buildSeconds": $(($(date +%s) - started))
}
EOF
}
step manifest manifest

mv "$kit" "$kit_dir"
log "guest kit ready in $kit_dir ($(($(date +%s) - started)) s)"
# Kits for other inputs, built more than an hour ago, go (a test that got
# such a path just before still has time to boot from it).
find "$NESTLAB_CACHE" -mindepth 1 -maxdepth 1 -type d -name 'guest-kit-*' \
  ! -name "guest-kit-$key" ! -name guest-kit-resolved -mmin +60 -exec rm -rf {} + 2>/dev/null || true
find "$resolved_dir" -mindepth 1 -maxdepth 1 -type f -mtime +7 -delete 2>/dev/null || true
echo "$kit_dir"

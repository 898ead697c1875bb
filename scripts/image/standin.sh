#!/usr/bin/env bash
# Builds the stand-in for the RHCE classroom image, or finds it in the cache.
#
#   bash scripts/image/standin.sh          (npm run image:standin)
#
# Prints the image folder on the last line of stdout; everything else goes to
# stderr. The folder, $NESTLAB_CACHE/standin-<key>/, holds:
#   RHEL7_Server.vmdk          monolithicSparse base: Debian bookworm on
#                              MBR + LVM (VG rhel, LV root) + XFS, GRUB on
#                              the disk, sshd, libvirtd with QEMU/KVM
#   RHEL7_Server-000002.vmdk   monolithicSparse snapshot delta (parent CID =
#                              the base's CID) holding the three lab machines
#                              (classroom, server, desktop) and a marker file
#   id_ed25519, id_ed25519.pub root's SSH key (made at build time)
#   ssh_host_ed25519_key.pub   the classroom host's only SSH host key
#   manifest.txt               every Debian package and version installed
#   build.env                  key, sizes and step timings of the build
#
# <key> hashes every file of this folder (scripts, package list, files that
# go into the image): a second call finds the image and takes seconds. The
# build runs in a temporary folder beside the cache entry and is renamed into
# place when complete, so a failed build leaves nothing in the cache but a
# log, standin-<key>.failed.log; it names the step that failed and shows the
# tool's last lines. Needs root (mmdebstrap, chroot); installs the Debian
# packages it needs with apt when they are missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

NESTLAB_CACHE="${NESTLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nestlab}"
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
SECURITY_MIRROR=http://deb.debian.org/debian-security
DISK_GIB=20
BOOT_MIB=512
LAB_MACHINES=(classroom server desktop)
LAB_MEMORY_MIB=96
LAB_DIR=/var/lib/libvirt/images/nestlab
BASE=RHEL7_Server.vmdk
DELTA=RHEL7_Server-000002.vmdk

log() { printf 'standin: %s\n' "$*" >&2; }
die() {
  printf 'standin: error: %s\n' "$*" >&2
  exit 1
}

# step NAME COMMAND...: runs one build step with its output in a log; on
# failure names the step and shows the log's last lines, keeping the log.
step() {
  local name="$1"
  shift
  local started rc=0
  started=$(date +%s)
  log "step $name ..."
  # A subshell with errexit of its own: a function called as `f || …` would
  # run with errexit off and go on after a failed command.
  set +e
  (
    set -e
    "$@"
  ) >"$work/logs/$name.log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    {
      printf 'standin: step %s failed (exit %s); last lines of its log:\n' "$name" "$rc"
      tail -n 25 "$work/logs/$name.log"
    } >&2
    cp "$work/logs/$name.log" "$failed_log" 2>/dev/null || true
    printf 'standin: error: step %s failed; full log: %s\n' "$name" "$failed_log" >&2
    exit 1
  fi
  timings+=("step_${name//-/_}_seconds=$(($(date +%s) - started))")
  log "step $name done in $(($(date +%s) - started)) s"
}

# The cache key: every input file of the build (not the docs), by path and
# content.
cache_key() {
  (
    cd "$here"
    find . -type f ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
  )
}

# $NESTLAB_CACHE/standin/current points at the newest image: the stacks'
# `source: standin` reads it there. Replaced atomically (a rename).
publish() {
  mkdir -p "$NESTLAB_CACHE/standin"
  ln -sfn "$final" "$NESTLAB_CACHE/standin/.current.$$"
  mv -Tf "$NESTLAB_CACHE/standin/.current.$$" "$NESTLAB_CACHE/standin/current"
  # Images of older inputs (about 660 MiB each) go once they are an hour old:
  # only folders named as images are (standin-<key>), never standin-debs.
  find "$NESTLAB_CACHE" -maxdepth 1 -type d -regextype posix-extended \
    -regex '.*/standin-[0-9a-f]{16}' ! -path "$final" -mmin +60 \
    -exec rm -rf --one-file-system {} +
}

found() {
  publish
  log "cached: $final"
  printf '%s\n' "$final"
  exit 0
}

# --- steps ---------------------------------------------------------------------

# Host tools, from Debian packages. libguestfs builds the disk (partitions,
# LVM, XFS, GRUB) in its appliance: this machine needs no loop device or
# device-mapper for it.
install_tools() {
  declare -A need=(
    [mmdebstrap]=mmdebstrap [guestfish]=libguestfs-tools [qemu-img]=qemu-utils
    [ssh-keygen]=openssh-client [cpio]=cpio [flock]=util-linux
  )
  local missing=() cmd
  for cmd in "${!need[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
  done
  # The appliance's mkfs.xfs, and a kernel for the appliance.
  dpkg-query -W -f='${Status}\n' libguestfs-xfs 2>/dev/null | grep -q '^install ok' || missing+=(libguestfs-xfs)
  compgen -G '/boot/vmlinuz-*' >/dev/null || missing+=(linux-image-amd64)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    # libguestfs caches its appliance; it must be rebuilt with the new packages.
    rm -rf "/var/tmp/.guestfs-$(id -u)"
  fi
  echo "tools ready"
}

# root's key and the host key, made now, kept beside the image.
make_keys() {
  ssh-keygen -q -t ed25519 -N '' -C "nestlab-standin-root" -f "$out/id_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C "root@foundation0" -f "$work/ssh_host_ed25519_key"
  cp "$work/ssh_host_ed25519_key.pub" "$out/ssh_host_ed25519_key.pub"
}

# The root filesystem, with mmdebstrap from the package list. Downloaded
# packages are kept in the cache for the next build.
make_rootfs() {
  local packages debs="$NESTLAB_CACHE/standin-debs"
  packages="$(grep -v '^[[:space:]]*#' "$here/packages.txt" | grep -v '^[[:space:]]*$' | paste -sd, -)"
  mkdir -p "$debs"
  # shellcheck disable=SC2016 # "$1" is for mmdebstrap's hook shell
  mmdebstrap --variant=minbase --mode=root \
    --include="$packages" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt="$here/dpkg-excludes.cfg" \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in $debs /var/cache/apt/archives/" \
    --customize-hook="sync-out /var/cache/apt/archives $debs" \
    "$SUITE" "$work/rootfs" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY_MIRROR $SUITE-security main"
}

# This project's settings over the Debian defaults.
customize_rootfs() {
  local root="$work/rootfs"
  cp -a "$here/rootfs/." "$root/"
  # Host key: only the one made by this build.
  rm -f "$root"/etc/ssh/ssh_host_*
  install -m 0600 "$work/ssh_host_ed25519_key" "$root/etc/ssh/ssh_host_ed25519_key"
  install -m 0644 "$work/ssh_host_ed25519_key.pub" "$root/etc/ssh/ssh_host_ed25519_key.pub"
  install -d -m 0700 "$root/root/.ssh"
  install -m 0600 "$out/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
  # GRUB as grub-install would lay it out in /boot/grub, and its core image
  # for the gap after the MBR (written into the disk in make_base).
  local kver
  kver="$(basename "$(ls -d "$root"/usr/lib/modules/*)")"
  install -d "$root/boot/grub/i386-pc"
  cp "$root"/usr/lib/grub/i386-pc/*.mod "$root"/usr/lib/grub/i386-pc/*.lst "$root"/usr/lib/grub/i386-pc/boot.img "$root/boot/grub/i386-pc/"
  sed "s|@KVER@|$kver|g" "$here/grub/grub.cfg.in" >"$root/boot/grub/grub.cfg"
  cp "$here/grub/load.cfg" "$root/tmp/nestlab-load.cfg"
  chroot "$root" grub-mkimage -O i386-pc -o /boot/grub/i386-pc/core.img -c /tmp/nestlab-load.cfg \
    -p '(hd0,msdos1)/grub' biosdisk part_msdos xfs search_label
  rm -f "$root/tmp/nestlab-load.cfg"
  cp "$root/boot/grub/i386-pc/boot.img" "$root/boot/grub/i386-pc/core.img" "$work/"
  # No AppArmor userspace in the image: libvirt runs guests without a
  # security driver.
  printf '\n# nestlab stand-in\nsecurity_driver = "none"\n' >>"$root/etc/libvirt/qemu.conf"
  chroot "$root" systemctl enable systemd-networkd.service
  chroot "$root" systemctl disable apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer
  # A fresh machine id on first boot.
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"
  # shellcheck disable=SC2016 # dpkg-query's format, not the shell's
  chroot "$root" dpkg-query -W -f='${Package} ${Version} ${Architecture}\n' | LC_ALL=C sort >"$out/manifest.txt"
  echo "$(wc -l <"$out/manifest.txt") packages"
  # The tarball for the disk, with numeric owners: the appliance that
  # unpacks it has its own user names.
  tar --numeric-owner --xattrs --acls -C "$root" -cf "$work/rootfs.tar" .
}

# load_order_add MODULES_DIR RELATIVE_PATH INITRD: copies a module into the
# initramfs and appends it to its load order, once.
load_order_add() {
  local name
  name="$(basename "$2" .ko)"
  grep -qx "$name" "$3/lib/modules/load-order" 2>/dev/null && return 0
  cp "$1/$2" "$3/lib/modules/$name.ko"
  echo "$name" >>"$3/lib/modules/load-order"
}

# The lab machines' files: kernel, tiny initramfs, a labelled qcow2 disk each,
# and their libvirt definitions. They go into the snapshot delta only.
make_lab() {
  local root="$work/rootfs" lab="$work/lab" kver initrd="$work/lab-initrd" name uuid
  kver="$(basename "$(ls -d "$root"/usr/lib/modules/*)")"
  mkdir -p "$lab$LAB_DIR" "$lab/etc/libvirt/qemu" "$lab/etc/nestlab" "$initrd"/{bin,dev,proc,sys,tmp,lib/modules}
  cp "$root/boot/vmlinuz-$kver" "$lab$LAB_DIR/vmlinuz"
  cp "$root/usr/bin/busybox" "$initrd/bin/busybox"
  install -m 0755 "$here/lab/init" "$initrd/init"
  # The virtio disk's modules, and the ACPI power button's (button: the ACPI
  # event, evdev: as an input device the init watches), with what they need,
  # in load order (modules.dep lists a module's dependencies with the one to
  # load last first).
  local modules_dir="$root/usr/lib/modules/$kver" target line i
  local -a deps
  for target in virtio_pci virtio_blk button evdev; do
    line="$(grep -E "(^|/)$target\.ko:" "$modules_dir/modules.dep")" || {
      echo "module $target.ko not found in kernel $kver"
      return 1
    }
    read -r -a deps <<<"${line#*:}"
    for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
      load_order_add "$modules_dir" "${deps[i]}" "$initrd"
    done
    load_order_add "$modules_dir" "${line%%:*}" "$initrd"
  done
  cat "$initrd/lib/modules/load-order"
  mknod -m 0600 "$initrd/dev/console" c 5 1
  (cd "$initrd" && find . | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible | gzip -9n) >"$lab$LAB_DIR/initrd.img"
  for name in "${LAB_MACHINES[@]}"; do
    # The disk's first line names the machine; the init reads it back.
    truncate -s 64M "$work/$name.raw"
    printf 'NESTLAB-DISK %s\n' "$name" | dd of="$work/$name.raw" conv=notrunc status=none
    qemu-img convert -f raw -O qcow2 "$work/$name.raw" "$lab$LAB_DIR/$name.qcow2"
    rm -f "$work/$name.raw"
    uuid="$(printf 'nestlab-lab-%s' "$name" | sha256sum | sed -E 's/^(.{8})(.{4}).(.{3}).(.{3})(.{12}).*/\1-\2-4\3-8\4-\5/')"
    sed -e "s|@NAME@|$name|g" -e "s|@UUID@|$uuid|g" -e "s|@MEMORY_MIB@|$LAB_MEMORY_MIB|g" -e "s|@LAB_DIR@|$LAB_DIR|g" \
      "$here/lab/domain.xml" >"$lab/etc/libvirt/qemu/$name.xml"
    chmod 0600 "$lab/etc/libvirt/qemu/$name.xml"
  done
  printf 'NESTLAB-STANDIN-DELTA key=%s machines=%s\n' "$key" "${LAB_MACHINES[*]}" >"$lab/etc/nestlab/standin-delta"
  # Only the new files and their own folders: the folders above them keep
  # the owners and modes the packages gave them.
  (cd "$lab" && find ."$LAB_DIR" etc/libvirt/qemu/*.xml etc/nestlab | LC_ALL=C sort) >"$work/lab.list"
  tar --numeric-owner --owner=0 --group=0 --no-recursion -C "$lab" -cf "$work/lab.tar" -T "$work/lab.list"
  tar -tvf "$work/lab.tar"
}

# The base disk: MBR, /boot XFS on partition 1, LVM on partition 2 (VG rhel,
# LV root, XFS), the root filesystem, GRUB on the MBR. All in one launch of
# the libguestfs appliance.
make_base() {
  local raw="$work/base.raw" boot_end
  truncate -s "${DISK_GIB}G" "$raw"
  boot_end=$((2048 + BOOT_MIB * 2048 - 1))
  guestfish --rw -x -a "$raw" <<EOF
run
part-init /dev/sda mbr
part-add /dev/sda p 2048 $boot_end
part-add /dev/sda p $((boot_end + 1)) -1
part-set-bootable /dev/sda 1 true
part-set-mbr-id /dev/sda 2 0x8e
pvcreate /dev/sda2
vgcreate rhel /dev/sda2
lvcreate-free root rhel 100
mkfs xfs /dev/sda1 label:boot
mkfs xfs /dev/rhel/root label:root
mount /dev/rhel/root /
mkdir /boot
mount /dev/sda1 /boot
tar-in $work/rootfs.tar / xattrs:true acls:true
df-h
umount-all
EOF
  # GRUB on the disk: boot.img's code in the MBR (the partition table after
  # byte 440 stays), core.img in the sectors after it, as grub-install embeds
  # them. (grub-install inside libguestfs's chroot probes the appliance's own
  # disk and refuses.)
  dd if="$work/boot.img" of="$raw" bs=440 count=1 conv=notrunc status=none
  dd if="$work/core.img" of="$raw" bs=512 seek=1 conv=notrunc status=none
  qemu-img convert -p -f raw -O vmdk -o subformat=monolithicSparse "$raw" "$out/$BASE"
  rm -f "$raw"
  qemu-img info "$out/$BASE"
}

# The snapshot delta on top of the base, written through the chain: only the
# lab machines and the marker file land in it.
make_delta() {
  qemu-img create -f vmdk -o subformat=monolithicSparse -b "$BASE" -F vmdk "$out/$DELTA"
  guestfish --rw -x --format=vmdk -a "$out/$DELTA" <<EOF
run
mount /dev/rhel/root /
tar-in $work/lab.tar /
ls /etc/libvirt/qemu
cat /etc/nestlab/standin-delta
umount-all
EOF
  qemu-img info --backing-chain "$out/$DELTA"
}

# Size and shape, written last: its presence marks a complete image.
finish() {
  local base_bytes delta_bytes
  base_bytes=$(qemu-img info --output=json "$out/$BASE" | sed -n 's/.*"actual-size": \([0-9]*\).*/\1/p')
  delta_bytes=$(qemu-img info --output=json "$out/$DELTA" | sed -n 's/.*"actual-size": \([0-9]*\).*/\1/p')
  chmod 0600 "$out/id_ed25519"
  {
    echo "key=$key"
    echo "suite=$SUITE"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "base_allocated_bytes=$base_bytes"
    echo "delta_allocated_bytes=$delta_bytes"
    echo "lab_machines=${LAB_MACHINES[*]}"
    printf '%s\n' "${timings[@]}"
    echo "build_seconds=$(($(date +%s) - build_started))"
  } >"$out/build.env"
  cat "$out/build.env"
}

main() {
  key="$(cache_key)"
  final="$NESTLAB_CACHE/standin-$key"
  [ ! -f "$final/build.env" ] || found

  [ "$(id -u)" -eq 0 ] || die "building the stand-in image needs root (mmdebstrap, chroot); run: sudo bash scripts/image/standin.sh"
  mkdir -p "$NESTLAB_CACHE"
  # One build per key at a time; a second caller waits, then finds it.
  exec 9>"$NESTLAB_CACHE/standin-$key.lock"
  flock 9
  [ ! -f "$final/build.env" ] || found

  # Left by a build that was killed: no build of this key runs now. Never
  # across a mount point (mmdebstrap mounts /dev and /proc in its root).
  rm -rf --one-file-system "$NESTLAB_CACHE/.standin-$key.building."*
  work="$(mktemp -d "$NESTLAB_CACHE/.standin-$key.building.XXXXXX")"
  failed_log="$NESTLAB_CACHE/standin-$key.failed.log"
  trap 'rm -rf --one-file-system "$work"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  out="$work/image"
  mkdir -p "$out" "$work/logs"
  rm -f "$failed_log"
  build_started=$(date +%s)
  timings=()

  step tools install_tools
  export LIBGUESTFS_BACKEND=direct
  # This machine's /dev/kvm cannot run ordinary guests: the appliance uses TCG.
  export LIBGUESTFS_BACKEND_SETTINGS=force_tcg
  step keys make_keys
  step rootfs make_rootfs
  step customize customize_rootfs
  step lab make_lab
  rm -rf --one-file-system "$work/rootfs"
  step base make_base
  step delta make_delta
  step finish finish
  mv "$out" "$final"
  publish
  log "built in $(($(date +%s) - build_started)) s: $final"
  printf '%s\n' "$final"
}

# Everything runs from main, read whole before it starts: editing this file
# during a build does not change the running build.
main "$@"

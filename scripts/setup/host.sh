#!/usr/bin/env bash
# Host tools and daemons: qemu-img, qemu-system-x86, libvirtd (QEMU driver),
# virtlogd, virsh, dnsmasq for NAT networks. Installs what is missing with apt
# when run as root; starts virtlogd and libvirtd when nothing answers at the
# URI. Never stops or reconfigures a libvirtd it did not start.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"
uri="${LIBVIRT_DEFAULT_URI:-qemu:///system}"

# command -> Debian package
declare -A need=(
  [qemu-img]=qemu-utils [qemu-io]=qemu-utils [qemu-system-x86_64]=qemu-system-x86
  [libvirtd]=libvirt-daemon-system [virtlogd]=libvirt-daemon-system [virsh]=libvirt-clients
  [dnsmasq]=dnsmasq-base [iptables]=iptables [ssh]=openssh-client [ssh-keygen]=openssh-client
  [tar]=tar [xz]=xz-utils [cpio]=cpio [mkfs.ext4]=e2fsprogs
  [gcc]=gcc [readelf]=binutils [dpkg-deb]=dpkg [depmod]=kmod
  # The tests' second hypervisor: a network namespace, a mount namespace, an
  # SSH server inside (dropbear-bin has no service that would start here).
  [ip]=iproute2 [unshare]=util-linux [dropbear]=dropbear-bin [dropbearkey]=dropbear-bin
)
missing=()
for cmd in "${!need[@]}"; do
  PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# Headers for the guest kit's static KVM test program.
[ -e /usr/include/stdio.h ] || missing+=(libc6-dev)
[ -e /usr/include/linux/kvm.h ] || missing+=(linux-libc-dev)
# The QEMU driver of libvirtd is a package of its own.
[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] || missing+=(libvirt-daemon-driver-qemu)
# For the test that runs the providers under a German locale: the locale's
# sources (built into a folder of the test's own) and virsh's translation.
[ -e /usr/share/i18n/locales/de_DE ] || missing+=(locales)
[ -e /usr/share/locale/de/LC_MESSAGES/libvirt.mo ] || missing+=(libvirt-l10n)
# ConvertedVolume's rootAccess writes into a guest's disk with libguestfs:
# guestfish, its appliance's XFS tools (RHEL 7's filesystem), and a kernel
# in /boot for the appliance to boot.
guestfs=0
PATH="$PATH:/usr/sbin:/sbin" command -v guestfish >/dev/null 2>&1 || { missing+=(libguestfs-tools); guestfs=1; }
dpkg-query -W -f='${Status}\n' libguestfs-xfs 2>/dev/null | grep -q '^install ok' || { missing+=(libguestfs-xfs); guestfs=1; }
compgen -G '/boot/vmlinuz-*' >/dev/null || { missing+=(linux-image-amd64); guestfs=1; }
if [ "${#missing[@]}" -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" -ne 0 ]; then
    die "missing packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}"
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  # On a fresh machine nothing has made the cache folder yet.
  mkdir -p "$NESTLAB_CACHE"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$NESTLAB_CACHE/apt.log" 2>&1 \
    || { tail -n 20 "$NESTLAB_CACHE/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
  # libguestfs caches its appliance, built from the host's packages: built again with the new ones.
  [ "$guestfs" -eq 0 ] || rm -rf "/var/tmp/.guestfs-$(id -u)"
fi

if virsh -c "$uri" version >/dev/null 2>&1; then
  log "libvirtd answers at $uri"
  exit 0
fi
case "$uri" in
  qemu:///system) ;;
  *) die "nothing answers at $uri, and only a local qemu:///system daemon can be started here" ;;
esac
[ "$(id -u)" -eq 0 ] || die "libvirtd is not running: start it (sudo systemctl start libvirtd) or run this setup as root"

# With systemd, let it own the daemons.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl start virtlogd.socket libvirtd.socket libvirtd.service >/dev/null 2>&1 || true
fi
if ! virsh -c "$uri" version >/dev/null 2>&1; then
  # No systemd (containers, CI): start the daemons by hand, as their units would.
  mkdir -p /var/run/libvirt /var/log/libvirt /var/lib/libvirt/qemu
  pgrep -x virtlogd >/dev/null || /usr/sbin/virtlogd --daemon
  log "starting libvirtd"
  # Errors to a file of its own, so a daemon that will not start can be explained.
  LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/libvirtd.log" /usr/sbin/libvirtd --daemon --pid-file=/var/run/libvirtd.pid
  for _ in $(seq 1 60); do
    virsh -c "$uri" version >/dev/null 2>&1 && break
    sleep 0.5
  done
fi
if ! virsh -c "$uri" version >/dev/null 2>&1; then
  log "libvirtd did not answer at $uri; the end of its log:"
  tail -n 20 /var/log/libvirt/libvirtd.log 2>/dev/null >&2 || true
  die "libvirtd did not start"
fi
log "libvirtd answers at $uri"

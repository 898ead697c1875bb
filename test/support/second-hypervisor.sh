#!/usr/bin/env bash
# The inside of a second hypervisor for tests (test/support/second-hypervisor.ts
# starts it as `ip netns exec NS unshare --mount --propagation private -- bash
# this DIR ADDRESS`): in its own mount namespace, libvirtd's folders are
# folders of DIR, so its objects and sockets are its own; in its own network
# namespace, dropbear listens on ADDRESS:22 only. Runs until TERM, then stops
# both daemons; the mounts go with the namespace.
set -euo pipefail
dir="$1" address="$2"

# Every folder libvirtd (monolithic, QEMU driver) keeps state, sockets, logs
# or definitions in. /etc/libvirt holds only the daemon's settings: the first
# daemon's domain, network and pool definitions live there too, and must not
# show here.
for d in run lib log cache etc; do mkdir -p "$dir/root/$d"; done
cp /etc/libvirt/libvirtd.conf /etc/libvirt/libvirt.conf "$dir/root/etc/"
cp /etc/libvirt/qemu.conf "$dir/root/etc/qemu.conf"
# QEMU's output to a file of this daemon, not to the machine's virtlogd
# (whose socket is in the hidden /run/libvirt).
printf '\nstdio_handler = "file"\n' >>"$dir/root/etc/qemu.conf"
mkdir -p "$dir/root/lib/qemu" "$dir/root/lib/images" "$dir/root/log/qemu"
# dropbear takes authorized_keys only from the user's home: root's home is
# a folder of this hypervisor here (an /etc/passwd of its own says so), and
# the machine's /root is left as it is.
install -m 0700 -d "$dir/root/home" "$dir/root/home/.ssh"
install -m 0600 "$dir/authorized_keys" "$dir/root/home/.ssh/authorized_keys"
awk -F: -v OFS=: -v home="$dir/root/home" '$1 == "root" { $6 = home } { print }' /etc/passwd >"$dir/root/passwd"

mount --bind "$dir/root/run" /run/libvirt
mount --bind "$dir/root/lib" /var/lib/libvirt
mount --bind "$dir/root/log" /var/log/libvirt
mount --bind "$dir/root/cache" /var/cache/libvirt
mount --bind "$dir/root/etc" /etc/libvirt
mount --bind "$dir/root/passwd" /etc/passwd

ip link set lo up
LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/libvirtd.log" \
  /usr/sbin/libvirtd --pid-file="$dir/libvirtd.pid" &
libvirtd=$!
/usr/sbin/dropbear -F -E -s -p "$address:22" -r "$dir/host_key" -P "$dir/dropbear.pid" 2>>"$dir/dropbear.log" &
dropbear=$!

stop() {
  kill -TERM "$dropbear" "$libvirtd" 2>/dev/null || true
  wait "$dropbear" "$libvirtd" 2>/dev/null || true
  exit 0
}
trap stop TERM INT
# Either daemon ending early ends the hypervisor (the caller sees it gone).
wait -n "$libvirtd" "$dropbear" || true
stop

#!/bin/sh
# /init of the nestlab guest kit: a busybox userland in the initramfs (the
# root stays the writable initramfs), kmod for modules, dropbear for SSH.
#
# Kernel command line switches (all optional):
#   nestlab.kvm=0        do not load kvm_amd / kvm_intel at boot (default: load
#                        the vendor module, as udev does on a real host)
#   nestlab.ip=A/N,GW    static address (default 10.0.2.15/24,10.0.2.2: QEMU user net)
#   nestlab.shell=0      no root shell on the console after the ready line
#
# When everything is up it prints one line on the console, for tests to wait on:
#   NESTLAB-GUEST-READY svm=yes|no vmx=yes|no kvm=kvm_amd|kvm_intel|none nested=<value>|- ssh=22|none
export PATH=/usr/bin:/bin:/usr/sbin:/sbin
export HOME=/root

mount -t devtmpfs -o mode=0755 devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devpts -o gid=5,mode=620,ptmxmode=000 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev tmpfs /dev/shm
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp
hostname -F /etc/hostname

arg() { # arg NAME DEFAULT: the value of NAME=… on the kernel command line
  for word in $(cat /proc/cmdline); do
    case "$word" in "$1="*) echo "${word#*=}"; return ;; esac
  done
  echo "$2"
}
has_flag() { grep -qw "$1" /proc/cpuinfo && echo yes || echo no; }
note() { echo "nestlab-init: $*"; }

# Devices QEMU gives the guest; each may be absent.
for m in virtio_pci virtio_net virtio_blk virtio_console virtio_balloon; do
  modprobe -q "$m" || note "modprobe $m failed"
done

svm=$(has_flag svm)
vmx=$(has_flag vmx)
kvm=none
if [ "$(arg nestlab.kvm 1)" != 0 ]; then
  if [ "$svm" = yes ]; then kvm=kvm_amd; elif [ "$vmx" = yes ]; then kvm=kvm_intel; fi
  if [ "$kvm" != none ] && ! modprobe "$kvm"; then
    note "modprobe $kvm failed"
    kvm=none
  fi
fi
nested=-
[ "$kvm" != none ] && nested=$(cat "/sys/module/$kvm/parameters/nested" 2>/dev/null || echo -)

ip link set lo up
ssh=none
if ip link set eth0 up 2>/dev/null; then
  ipspec=$(arg nestlab.ip 10.0.2.15/24,10.0.2.2)
  ip addr add "${ipspec%%,*}" dev eth0
  case "$ipspec" in *,*) ip route add default via "${ipspec#*,}" ;; esac
  # -s: keys only; -R would make keys at runtime: they are baked in at build time.
  if dropbear -s -p 22 -r /etc/dropbear/dropbear_ed25519_host_key -P /run/dropbear.pid; then
    # dropbear forks once it listens; wait for its pid file (bounded).
    for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s /run/dropbear.pid ] && break; sleep 0.1; done
    ssh=22
  else
    note "dropbear failed to start"
  fi
else
  note "no eth0: no network, no SSH"
fi

echo "NESTLAB-GUEST-READY svm=$svm vmx=$vmx kvm=$kvm nested=$nested ssh=$ssh"

if [ "$(arg nestlab.shell 1)" != 0 ]; then
  # A root shell on the console, again after each exit; init must never end.
  # /bin/sh by path: busybox applets would run busybox's own shell for "sh".
  while :; do setsid cttyhack /bin/sh -l; done
fi
while :; do sleep 3600; done

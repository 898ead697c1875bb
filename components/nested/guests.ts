import { qemuGuestName } from "../libvirt/qemu-process";

/**
 * Finding running guests: libvirt's running domains, and every process that
 * holds /dev/kvm or a KVM VM (the seed started qemu-kvm by hand, without
 * libvirt). Either kind keeps the vendor module busy: reloading it would fail
 * or pull KVM from under them.
 */

/**
 * The script that lists every process's open files in one call (one ssh round
 * trip): `ls -l` of /proc/<pid>/fd for all pids, below the root prefix `$1`.
 * /dev/null is listed too so that ls always prints a `<pid>/fd:` header, even
 * for a single process.
 */
export const LIST_FDS_SCRIPT =
  'cd "$1/proc" 2>/dev/null || exit 0; exec ls -l /dev/null [0-9]*/fd 2>/dev/null';

/** A file descriptor that keeps KVM in use: /dev/kvm itself, or a VM or vCPU made from it. */
export function isKvmTarget(target: string): boolean {
  return target === "/dev/kvm" || /^anon_inode:kvm-(?:vm|vcpu)/.test(target);
}

/**
 * The pids whose descriptors point at KVM, from the output of LIST_FDS_SCRIPT
 * (GNU or busybox `ls -l`: "<pid>/fd:" headers, then "… <fd> -> <target>").
 */
export function parseKvmHolders(lsOutput: string): number[] {
  const pids = new Set<number>();
  let pid: number | undefined;
  for (const line of lsOutput.split("\n")) {
    const header = /^(?:.*\/)?(\d+)\/fd:$/.exec(line.trim());
    if (header) {
      pid = Number(header[1]);
      continue;
    }
    if (line.trim().endsWith(":")) {
      pid = undefined;
      continue;
    }
    const arrow = line.indexOf(" -> ");
    if (pid !== undefined && arrow >= 0 && isKvmTarget(line.slice(arrow + 4).trim())) pids.add(pid);
  }
  return [...pids].sort((a, b) => a - b);
}

/** A process that holds KVM. */
export interface KvmHolder {
  readonly pid: number;
  /** /proc/<pid>/comm, e.g. "qemu-system-x86". */
  readonly comm: string | undefined;
  /** /proc/<pid>/cmdline (NUL-separated). */
  readonly cmdline: string | undefined;
}

/**
 * One line per running guest, sorted: a libvirt domain by its name, a QEMU
 * started by hand by its `-name` and pid, any other KVM user by its program
 * and pid. A libvirt domain's QEMU process is not counted twice.
 */
export function describeGuests(
  libvirtNames: readonly string[],
  holders: readonly KvmHolder[],
): string[] {
  const known = new Set(libvirtNames);
  const lines = [...libvirtNames];
  for (const h of holders) {
    const name = h.cmdline ? qemuGuestName(h.cmdline) : undefined;
    if (name !== undefined && known.has(name)) continue;
    const program = (h.comm ?? "").trim() || "unknown program";
    lines.push(
      name !== undefined ? `${name} (${program}, pid ${h.pid})` : `${program} (pid ${h.pid})`,
    );
  }
  return lines.sort();
}

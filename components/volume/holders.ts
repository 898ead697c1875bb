import { qemuGuestName } from "../libvirt/qemu-process";

/**
 * Who holds a file open: every process with a descriptor on it, found in one
 * command (one SSH round trip) by device and inode, so a path reached
 * through a symlink, a hard link or a file already unlinked is found too.
 *
 * `$1` is the file. For each holder the script
 * prints `pid <pid>`, `comm <hex>` and `cmdline <hex>` lines (hex: the bytes
 * of /proc/<pid>/comm and /proc/<pid>/cmdline, which hold NULs and
 * newlines), then `end`. Nothing at all when the file does not exist.
 * `find -L` reports the file each descriptor points at (`%D:%i`).
 */
export const FILE_HOLDERS_SCRIPT = [
  'want=$(stat -L -c "%d:%i" -- "$1" 2>/dev/null) || exit 0',
  "cd /proc || exit 1",
  "pids=$(find -L [0-9]*/fd -mindepth 1 -maxdepth 1 -type f -printf '%D:%i %h\\n' 2>/dev/null |",
  '  awk -v want="$want" \'$1 == want { sub("/fd$", "", $2); print $2 }\' | sort -un)',
  "for p in $pids; do",
  '  printf "pid %s\\ncomm " "$p"; od -A n -v -t x1 "$p/comm" 2>/dev/null | tr -d " \\n"',
  '  printf "\\ncmdline "; od -A n -v -t x1 "$p/cmdline" 2>/dev/null | tr -d " \\n"',
  '  printf "\\nend\\n"',
  "done",
].join("\n");

/** A process that holds the file open. */
export interface FileHolder {
  readonly pid: number;
  /** /proc/<pid>/comm, e.g. "qemu-system-x86" (empty when the process ended meanwhile). */
  readonly comm: string;
  /** /proc/<pid>/cmdline, its arguments NUL-separated. */
  readonly cmdline: string;
}

/** Parses FILE_HOLDERS_SCRIPT's output. */
export function parseFileHolders(output: string): FileHolder[] {
  const holders: FileHolder[] = [];
  let current: { pid?: number; comm: string; cmdline: string } = { comm: "", cmdline: "" };
  for (const line of output.split("\n")) {
    const space = line.indexOf(" ");
    const [tag, value] = space < 0 ? [line, ""] : [line.slice(0, space), line.slice(space + 1)];
    switch (tag) {
      case "pid":
        current = { pid: Number(value), comm: "", cmdline: "" };
        break;
      case "comm":
        current.comm = fromHex(value).replace(/\n$/, "");
        break;
      case "cmdline":
        current.cmdline = fromHex(value);
        break;
      case "end":
        if (current.pid !== undefined && Number.isInteger(current.pid))
          holders.push({ pid: current.pid, comm: current.comm, cmdline: current.cmdline });
        current = { comm: "", cmdline: "" };
        break;
      case "":
        break;
      default:
        throw new Error(`unexpected line in the list of processes holding a file: ${line}`);
    }
  }
  return holders.sort((a, b) => a.pid - b.pid);
}

/**
 * One phrase per holder: a libvirt domain by its name (its QEMU's `-name`
 * is a running domain's), a QEMU started by hand by its `-name` and pid,
 * any other program by its name and pid.
 */
export function describeHolders(
  holders: readonly FileHolder[],
  runningDomains: readonly string[],
): string[] {
  return holders.map((h) => {
    const name = h.cmdline ? qemuGuestName(h.cmdline) : undefined;
    const program = h.comm || "a process";
    if (name !== undefined && runningDomains.includes(name))
      return `the libvirt domain "${name}" (${program}, pid ${h.pid})`;
    if (name !== undefined)
      return `the QEMU guest "${name}" started outside libvirt (pid ${h.pid})`;
    return `${program} (pid ${h.pid})`;
  });
}

function fromHex(hex: string): string {
  return Buffer.from(hex.trim(), "hex").toString("utf8");
}

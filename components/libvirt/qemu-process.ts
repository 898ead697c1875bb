/**
 * What a QEMU process started by libvirt says about itself. Pure.
 */

/** The guest name QEMU was started with (`-name guest=classroom,…` or `-name classroom`), from /proc/<pid>/cmdline. */
export function qemuGuestName(cmdline: string): string | undefined {
  const args = cmdline.split("\0");
  const i = args.indexOf("-name");
  if (i < 0 || i + 1 >= args.length) return undefined;
  const value = args[i + 1];
  const guest = /(?:^|,)guest=((?:[^,]|,,)*)/.exec(value);
  const name = guest ? guest[1] : value.split(/,(?!,)/)[0];
  return name.replace(/,,/g, ",") || undefined;
}

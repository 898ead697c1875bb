import { MissingToolError } from "../core/errors";
import { HostAccess } from "./access";

/** The programs the providers run, with the Debian package that brings each. */
export const TOOLS = {
  "qemu-img": "apt-get install qemu-utils",
  virsh: "apt-get install libvirt-clients",
  modprobe: "apt-get install kmod",
  rmmod: "apt-get install kmod",
  tar: "apt-get install tar",
  sha256sum: "apt-get install coreutils",
  guestfish: "apt-get install libguestfs-tools libguestfs-xfs",
} as const;

export type Tool = keyof typeof TOOLS;

/** Checks up front that every tool is on the host, so nothing half-runs. */
export async function requireTools(host: HostAccess, tools: readonly Tool[]): Promise<void> {
  for (const tool of tools) {
    if (!(await host.hasCommand(tool))) throw new MissingToolError(tool, host.label, TOOLS[tool]);
  }
}

import { HostSpec } from "../host/connection";

/**
 * The roster's rows: what a student (or the instructor) needs to reach a
 * lab, and the seat that keeps it where it is at the next deployment
 * (hand the roster back as `previous`). Pure.
 */
export interface RosterRow {
  readonly student: string;
  readonly hypervisor: string;
  readonly slot: number;
  readonly domainName: string;
  /** The classroom host's VNC server, on the hypervisor ("127.0.0.1:5921"). */
  readonly vncAddress: string | null;
  /** Its serial console, on the hypervisor ("127.0.0.1:4445"). */
  readonly serialAddress: string | null;
  /** The `ssh` command line to the classroom host, through the hypervisor as jump host when remote. */
  readonly ssh: string;
  /** The classroom host's state ("running", "shut off", …). */
  readonly state: string;
  /** The lab's reset count (its disk's generation). */
  readonly generation: number;
}

/**
 * `ssh -p <port> <user>@127.0.0.1` on the hypervisor itself; from elsewhere
 * through the hypervisor (`-J`), since the forward listens on its loopback only.
 */
export function sshCommandLine(host: HostSpec, sshPort: number, user: string): string {
  const target = `-p ${sshPort} ${user}@127.0.0.1`;
  if (!host.ssh) return `ssh ${target}`;
  const h = host.ssh.host.includes(":") ? `[${host.ssh.host}]` : host.ssh.host;
  return `ssh -J ${host.ssh.user}@${h}:${host.ssh.port} ${target}`;
}

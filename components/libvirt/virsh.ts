import { PreconditionError } from "../core/errors";
import { HostAccess, RunOptions, RunResult } from "../host/access";

/**
 * What every feature shares about virsh: its argv, what its "not found"
 * errors look like, and how a document reaches it. Pure but for
 * `runWithDocument`, which runs virsh through HostAccess.
 */

/** argv for virsh on a given connection URI. */
export function virsh(uri: string, ...args: string[]): string[] {
  return ["virsh", "--quiet", "-c", uri, ...args];
}

/** The kinds of libvirt objects the project looks up by name or UUID. */
export type LibvirtObject = "domain" | "network" | "pool" | "volume";

/**
 * virsh's words when the object asked for does not exist (libvirt 9.0: "failed
 * to get domain 'x'", "Domain not found: no domain with matching name 'x'", and
 * the same for networks, storage pools and storage volumes).
 */
const NOT_FOUND: Readonly<Record<LibvirtObject, RegExp>> = {
  domain: /failed to get domain|Domain not found|no domain with matching/i,
  network: /failed to get network|Network not found|no network with matching/i,
  pool: /failed to get pool|Storage pool not found|no storage pool with matching/i,
  volume: /failed to get vol|Storage volume not found|no storage vol with matching/i,
};

/** Whether virsh's stderr says that the object does not exist (rather than that virsh failed). */
export function isNotFound(kind: LibvirtObject, stderr: string): boolean {
  return NOT_FOUND[kind].test(stderr);
}

/**
 * Runs a virsh query about one object (domstate, domuuid, dumpxml, net-info,
 * pool-info, vol-dumpxml …) and returns its output, or undefined when the
 * object does not exist. Any other failure throws, naming the command.
 */
export async function virshLookup(
  host: HostAccess,
  uri: string,
  kind: LibvirtObject,
  args: readonly string[],
): Promise<string | undefined> {
  const r = await host.run(virsh(uri, ...args), { allowFailure: true });
  if (r.exitCode === 0) return r.stdout;
  if (isNotFound(kind, r.stderr)) return undefined;
  throw new PreconditionError(
    `virsh ${args.join(" ")} on ${host.label} failed: ${r.stderr.trim()}`,
  );
}

/** `virsh list --name` (or net-list, pool-list …) → the names, in libvirt's order. */
export function parseVirshNames(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

/**
 * The file name virsh is given for a document that arrives on its standard
 * input. /proc is there on every Linux host (/dev/stdin is not, on minimal ones).
 */
export const STDIN_FILE = "/proc/self/fd/0";

/**
 * argv that hands a program its standard input through a pipe. Node gives a
 * child a socket as its stdin, and a program that opens its stdin by name
 * (as virsh does with a file argument) cannot open a socket (ENXIO): `cat`
 * reads it and pipes it on. A fixed script; the program and its arguments
 * travel as positional arguments, never through the shell's parser.
 */
export function throughPipe(argv: readonly string[]): string[] {
  return ["sh", "-c", 'cat | "$@"', "sh", ...argv];
}

/**
 * Runs a virsh verb that reads a document (define, net-define,
 * hypervisor-cpu-compare), handing the document on virsh's standard input:
 * no file ever holds it (a domain definition may carry the VNC password),
 * and no temporary name exists for anyone to guess. Works over SSH too: the
 * remote command's standard input is the session's. `args` are the verb and
 * its options; the file argument is added last.
 */
export function runWithDocument(
  host: HostAccess,
  uri: string,
  args: readonly string[],
  document: string,
  options: Omit<RunOptions, "input"> = {},
): Promise<RunResult> {
  return host.run(throughPipe(virsh(uri, ...args, STDIN_FILE)), { ...options, input: document });
}

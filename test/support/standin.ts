/**
 * The stand-in for the RHCE classroom image, for tests and the stack setup:
 * built from Debian packages by scripts/image/standin.sh (npm run
 * image:standin) and cached under $NESTLAB_CACHE/standin-<key>/.
 *
 * The image is a VMware chain shaped like the real one: a monolithicSparse
 * RHEL7_Server.vmdk base (MBR, LVM, XFS, GRUB, sshd, libvirtd with QEMU/KVM)
 * and a RHEL7_Server-000002.vmdk snapshot delta that alone holds the three lab
 * machines and a marker file.
 */
import { promises as fs } from "fs";
import * as path from "path";
import { lastLines } from "../../components/core/errors";
import { spawnCollect } from "../../components/host/spawn";
import { RHCE_LAB_MACHINES } from "../../components/lab/lab-machines";

/** The classroom host behind a port forward pinned for StrictHostKeyChecking=yes. */
export { knownHostsLine } from "./guest-kit";

const SCRIPT = path.resolve(__dirname, "../../scripts/image/standin.sh");
/** A build from nothing takes about 10 minutes on 2 busy cores; a cached one seconds. */
const BUILD_TIMEOUT_MS = 45 * 60 * 1000;

/** The lab machines defined in the classroom host's libvirt, in the delta only: the lab's own. */
export const LAB_MACHINES = RHCE_LAB_MACHINES;
export type LabMachine = (typeof LAB_MACHINES)[number];

/** The file inside the delta that the base does not have. */
export const DELTA_MARKER_FILE = "/etc/nestlab/standin-delta";

export interface StandinImage {
  /** The cache folder that holds everything below. */
  readonly dir: string;
  /** The cache key: a hash of every input of the build. */
  readonly key: string;
  /** The base: monolithicSparse vmdk, the OS. */
  readonly baseVmdk: string;
  /** The snapshot delta (backing file: the base, by relative name). Convert this one. */
  readonly deltaVmdk: string;
  /** root's private key (mode 0600); the classroom host accepts only it. */
  readonly sshPrivateKeyFile: string;
  /** The same private key, as text. */
  readonly sshPrivateKey: string;
  /** root's public key, one authorized_keys line. */
  readonly sshPublicKey: string;
  /** The classroom host's only SSH host key: "ssh-ed25519 AAAA… root@foundation0". */
  readonly hostPublicKey: string;
  /** `package version arch` lines of every Debian package in the image. */
  readonly manifestFile: string;
  /** build.env: key, sizes in bytes, step timings in seconds. */
  readonly build: Readonly<Record<string, string>>;
}

let pending: Promise<StandinImage> | undefined;

/**
 * The stand-in image: found in the cache, or built (as root, about 10 minutes).
 * One build per process, however many callers ask.
 */
export function ensureStandinImage(
  options: { onLogLine?: (line: string) => void } = {},
): Promise<StandinImage> {
  pending ??= buildOrFind(options.onLogLine).catch((e: unknown) => {
    pending = undefined;
    throw e;
  });
  return pending;
}

async function buildOrFind(onLogLine?: (line: string) => void): Promise<StandinImage> {
  const result = await spawnCollect(["bash", SCRIPT], {
    timeoutMs: BUILD_TIMEOUT_MS,
    onOutputLine: onLogLine,
  });
  if (result.exitCode !== 0) {
    throw new Error(
      `the stand-in image could not be built (bash ${SCRIPT} exited with ${result.exitCode}):\n${lastLines(result.stderr, 40)}`,
    );
  }
  const dir = lastLines(result.stdout, 1).trim();
  return readStandinImage(dir);
}

/** Reads a complete image folder (one that has build.env). */
export async function readStandinImage(dir: string): Promise<StandinImage> {
  const read = (name: string) => fs.readFile(path.join(dir, name), "utf8");
  const build = parseBuildEnv(await read("build.env"));
  return {
    dir,
    key: build.key,
    baseVmdk: path.join(dir, "RHEL7_Server.vmdk"),
    deltaVmdk: path.join(dir, "RHEL7_Server-000002.vmdk"),
    sshPrivateKeyFile: path.join(dir, "id_ed25519"),
    sshPrivateKey: await read("id_ed25519"),
    sshPublicKey: (await read("id_ed25519.pub")).trim(),
    hostPublicKey: (await read("ssh_host_ed25519_key.pub")).trim(),
    manifestFile: path.join(dir, "manifest.txt"),
    build,
  };
}

/** build.env: KEY=value lines. */
export function parseBuildEnv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([a-z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) values[match[1]] = match[2];
  }
  if (!values.key) throw new Error(`build.env has no key= line:\n${text}`);
  return values;
}

/** Where the classroom host logs a lab machine's serial console. */
export function labSerialLog(machine: LabMachine): string {
  return `/var/log/libvirt/qemu/${machine}-serial.log`;
}

/** What a lab machine reports on its serial console when it is up. */
export interface LabUpLine {
  readonly name: string;
  readonly svm: boolean;
  readonly vmx: boolean;
  /** The label read back from its disk: its own name when the disk is attached. */
  readonly disk: string;
}

/** Finds `NESTLAB-LAB-UP <name> svm=… vmx=… disk=…` in a serial log. */
export function parseLabUpLine(log: string): LabUpLine | undefined {
  const match = /^NESTLAB-LAB-UP (\S+) svm=(yes|no) vmx=(yes|no) disk=(\S+)\r?$/m.exec(log);
  if (!match) return undefined;
  return { name: match[1], svm: match[2] === "yes", vmx: match[3] === "yes", disk: match[4] };
}

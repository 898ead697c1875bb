/**
 * The seed's VMware chain in small, for tests and benchmarks: a
 * monolithicSparse base `RHEL7_Server.vmdk` and its snapshot delta
 * `RHEL7_Server-000002.vmdk` (parent CID = the base's CID, the parent named
 * by file name as VMware does), each holding data written with qemu-io. Built
 * on this machine, or on another host through a HostAccess.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { HostAccess } from "../../components/host/access";

export const BASE_VMDK = "RHEL7_Server.vmdk";
export const DELTA_VMDK = "RHEL7_Server-000002.vmdk";
export const MiB = 1024 ** 2;

/** `length` bytes of the byte `pattern` at `offset` (bytes into the guest's disk). */
export interface DataWrite {
  readonly pattern: number;
  readonly offset: number;
  readonly length: number;
}

export interface VmdkChainShape {
  readonly virtualBytes: number;
  readonly base: readonly DataWrite[];
  /** Written through the delta: only the delta holds them. */
  readonly delta: readonly DataWrite[];
}

export interface VmdkChain {
  readonly base: string;
  /** The delta: the top of the chain, the file to convert. */
  readonly top: string;
}

/** Writes of `lengthMiB` MiB of `pattern` at each offset (MiB). */
export function mibWrites(
  pattern: number,
  offsetsMiB: readonly number[],
  lengthMiB = 1,
): DataWrite[] {
  return offsetsMiB.map((o) => ({ pattern, offset: o * MiB, length: lengthMiB * MiB }));
}

/** 64 MiB: a MiB of data in the base at 0 and at 40 MiB, and one in the delta at 8 MiB, over a hole. */
export const SMALL_CHAIN: VmdkChainShape = {
  virtualBytes: 64 * MiB,
  base: [...mibWrites(0x11, [0]), ...mibWrites(0x12, [40])],
  delta: mibWrites(0x21, [8]),
};

/** qemu-io runs writing `writes` into `file`; qemu-io takes many -c in one run, batches keep argv short. */
export function qemuIoWriteArgvs(
  file: string,
  format: string,
  writes: readonly DataWrite[],
): string[][] {
  const runs: string[][] = [];
  for (let i = 0; i < writes.length; i += 32) {
    const cmds = writes
      .slice(i, i + 32)
      .flatMap((w) => ["-c", `write -P 0x${w.pattern.toString(16)} ${w.offset} ${w.length}`]);
    runs.push(["qemu-io", "-f", format, ...cmds, file]);
  }
  return runs;
}

/** The commands that build the chain in `dir` (which must exist), in order. */
export function vmdkChainArgvs(
  dir: string,
  shape: VmdkChainShape,
): { chain: VmdkChain; argvs: string[][] } {
  const base = path.posix.join(dir, BASE_VMDK);
  const top = path.posix.join(dir, DELTA_VMDK);
  const argvs = [
    [
      "qemu-img",
      "create",
      "-q",
      "-f",
      "vmdk",
      "-o",
      "subformat=monolithicSparse",
      base,
      String(shape.virtualBytes),
    ],
    ...qemuIoWriteArgvs(base, "vmdk", shape.base),
    ["qemu-img", "create", "-q", "-f", "vmdk", "-b", BASE_VMDK, "-F", "vmdk", top],
    ...qemuIoWriteArgvs(top, "vmdk", shape.delta),
  ];
  return { chain: { base, top }, argvs };
}

/** Builds the chain in `dir` on this machine (synchronously: usable at a test file's top level). */
export function makeVmdkChainSync(dir: string, shape: VmdkChainShape = SMALL_CHAIN): VmdkChain {
  const { chain, argvs } = vmdkChainArgvs(dir, shape);
  for (const [file, ...args] of argvs)
    execFileSync(file, args, { stdio: ["ignore", "ignore", "pipe"] });
  return chain;
}

/** Builds the chain in `dir` on `host` (e.g. a hypervisor reached over SSH). */
export async function makeVmdkChain(
  host: HostAccess,
  dir: string,
  shape: VmdkChainShape = SMALL_CHAIN,
): Promise<VmdkChain> {
  const { chain, argvs } = vmdkChainArgvs(dir, shape);
  for (const argv of argvs) await host.run(argv);
  return chain;
}

/** Writes more data into an image here (a changed source, a new CID). */
export function writeDataSync(file: string, format: string, writes: readonly DataWrite[]): void {
  for (const [f, ...args] of qemuIoWriteArgvs(file, format, writes)) {
    execFileSync(f, args, { stdio: ["ignore", "ignore", "pipe"] });
  }
}

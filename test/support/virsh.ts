/**
 * virsh for tests, in one place: on this machine synchronously (for checks in
 * a test body and fixtures made at a test file's top level), or through a
 * HostAccess (a classroom host over SSH, or this machine) asynchronously.
 * Always `-q`: no headers, so outputs are the bare lines.
 */
import { spawnSync } from "child_process";
import { HostAccess, RunResult } from "../../components/host/access";
import { LocalHost } from "../../components/host/local";

/** The system libvirtd of this machine (and, over SSH, of a classroom host). */
export const URI = "qemu:///system";
/** This machine as a resource's `host` input names it. */
export const HOST = { libvirtUri: URI, rootDir: "" };

export function virshArgv(args: readonly string[], uri = URI): string[] {
  return ["virsh", "-q", "-c", uri, ...args];
}

/** Runs virsh here; never throws on its exit code. */
export function virshRun(...args: string[]): RunResult {
  const [file, ...rest] = virshArgv(args);
  const r = spawnSync(file, rest, { encoding: "utf8" });
  if (r.error) throw r.error;
  return { exitCode: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** virsh's output here, trimmed; throws with its stderr when it fails. */
export function virsh(...args: string[]): string {
  const r = virshRun(...args);
  if (r.exitCode !== 0) {
    throw new Error(`virsh ${args.join(" ")} exited with ${r.exitCode}: ${r.stderr.trim()}`);
  }
  return r.stdout.trim();
}

/** Whether virsh succeeds here: the object asked about (dominfo, pool-info, net-info …) exists. */
export function virshOk(...args: string[]): boolean {
  return virshRun(...args).exitCode === 0;
}

/** The names of a pool's volumes here, after a refresh, sorted. */
export function poolVolumes(pool: string): string[] {
  virsh("pool-refresh", pool);
  return volumeNames(virsh("vol-list", pool));
}

/** A started dir pool of the test's own here; `remove()` stops and undefines it (its files stay). */
export function makeDirPool(name: string, target: string): { name: string; remove(): void } {
  for (const step of [
    ["pool-define-as", name, "dir", "--target", target],
    ["pool-build", name],
    ["pool-start", name],
  ]) {
    virsh(...step);
  }
  return {
    name,
    remove() {
      virshRun("pool-destroy", name);
      virshRun("pool-undefine", name);
    },
  };
}

/** virsh through a HostAccess, for hosts other than this machine's libvirtd. */
export interface Virsh {
  /** Exit code and output; never throws on the exit code. */
  run(...args: string[]): Promise<RunResult>;
  /** The output as virsh wrote it; throws with its stderr when it fails. */
  out(...args: string[]): Promise<string>;
  /** Whether it succeeds. */
  ok(...args: string[]): Promise<boolean>;
  /** The names of a pool's volumes, after a refresh, sorted. */
  volumes(pool: string): Promise<string[]>;
}

/** virsh run on `host` (default: this machine), against `uri` there. */
export function virshOn(host: HostAccess = new LocalHost(), uri = URI): Virsh {
  const run = (...args: string[]) =>
    host.run(virshArgv(args, uri), { allowFailure: true, timeoutMs: 2 * 60_000 });
  const out = async (...args: string[]) => {
    const r = await run(...args);
    if (r.exitCode !== 0) {
      throw new Error(
        `virsh ${args.join(" ")} on ${host.label} exited with ${r.exitCode}: ${r.stderr.trim()}`,
      );
    }
    return r.stdout;
  };
  return {
    run,
    out,
    ok: async (...args) => (await run(...args)).exitCode === 0,
    async volumes(pool) {
      await out("pool-refresh", pool);
      return volumeNames(await out("vol-list", pool));
    },
  };
}

/** `vol-list -q`: the name is the first column of each line. */
function volumeNames(list: string): string[] {
  return list
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0])
    .filter(Boolean)
    .sort();
}

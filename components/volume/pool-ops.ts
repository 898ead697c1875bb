import { CommandError, PreconditionError } from "../core/errors";
import { Held, HostAccess } from "../host/access";
import { virshLookup, parseVirshNames, virsh } from "../libvirt/virsh";
import { describeHolders, FILE_HOLDERS_SCRIPT, parseFileHolders } from "./holders";
import {
  FILE_POOL_TYPES,
  leftoversOf,
  parsePoolState,
  parsePoolXml,
  parseVolListPaths,
  parseVolumeXml,
  PoolFacts,
  VolumeFacts,
} from "./libvirt-xml";
import {
  lockFileName,
  NAME_LOCK_BUSY,
  NAME_LOCK_READY,
  NAME_LOCK_WAIT_SECONDS,
  nameLockArgv,
} from "./name-lock";
import { fileIdArgv } from "./volume-file";

/** Whether a pool is defined, and its state ("running", "inactive", …). */
export async function poolState(
  host: HostAccess,
  uri: string,
  pool: string,
): Promise<string | undefined> {
  const info = await virshLookup(host, uri, "pool", ["pool-info", pool]);
  return info === undefined ? undefined : parsePoolState(info);
}

/**
 * The pool a volume goes into: it must exist, run, and keep its volumes as
 * files in a folder. `volumeName` is locked there for this run (release
 * `lock` when done, before the next pool-refresh; see name-lock.ts); under
 * the lock, leftovers of interrupted conversions into it are removed.
 */
export async function openFilePool(
  host: HostAccess,
  uri: string,
  pool: string,
  volumeName: string,
): Promise<PoolFacts & { readonly lock: Held }> {
  const state = await poolState(host, uri, pool);
  if (state === undefined) {
    throw new PreconditionError(
      `pool: "${pool}" is not a libvirt storage pool on ${host.label} (${uri}). ` +
        `Create it (virsh pool-define-as ${pool} dir --target <folder>; virsh pool-build ${pool}; virsh pool-start ${pool}), ` +
        `or set createPool: { path: "<folder>" } to let ConvertedVolume create it.`,
    );
  }
  if (state !== "running") {
    throw new PreconditionError(
      `pool: "${pool}" is ${state} on ${host.label}: start it with \`virsh pool-start ${pool}\`.`,
    );
  }
  const before = parsePoolXml((await host.run(virsh(uri, "pool-dumpxml", pool))).stdout);
  if (!FILE_POOL_TYPES.includes(before.type)) {
    throw new PreconditionError(
      `pool: "${pool}" is a ${before.type} pool; ConvertedVolume writes image files and takes dir, fs or netfs pools.`,
    );
  }
  await host.run(virsh(uri, "pool-refresh", pool));
  const facts = parsePoolXml((await host.run(virsh(uri, "pool-dumpxml", pool))).stdout);
  // Locked after the refresh, and released before the next one: libvirt never lists the lock file.
  const lock = await lockVolumeName(host, pool, before.path, volumeName);
  try {
    await removeLeftovers(host, before.path, volumeName);
    return { ...facts, lock };
  } catch (e) {
    await lock.release();
    throw e;
  }
}

/**
 * Takes the lock on `volumeName` in the pool folder, waiting a little for a
 * run that holds it; names that run's lock file if it holds it still.
 */
export async function lockVolumeName(
  host: HostAccess,
  pool: string,
  poolPath: string,
  volumeName: string,
): Promise<Held> {
  try {
    return await host.hold(
      nameLockArgv(poolPath, volumeName, NAME_LOCK_WAIT_SECONDS),
      NAME_LOCK_READY,
    );
  } catch (e) {
    if (!(e instanceof CommandError) || e.exitCode !== NAME_LOCK_BUSY) throw e;
    throw new PreconditionError(
      `volumeName: another conversion is writing "${volumeName}" into pool "${pool}" on ${host.label} right now ` +
        `(it holds ${poolPath}/${lockFileName(volumeName)}). Wait until it has ended, then run again: a volume it made is never overwritten.`,
    );
  }
}

/**
 * Removes the leftovers of `volumeName` under its lock; false (nothing
 * removed) while another run holds it, whose file in flight looks the same.
 */
export async function removeLeftoversLocked(
  host: HostAccess,
  pool: string,
  poolPath: string,
  volumeName: string,
): Promise<boolean> {
  const r = await host.run(["ls", "-1A", "--", poolPath], { allowFailure: true });
  if (r.exitCode !== 0 || leftoversOf(r.stdout.split("\n"), volumeName).length === 0) return true;
  let lock: Held;
  try {
    lock = await lockVolumeName(host, pool, poolPath, volumeName);
  } catch (e) {
    if (e instanceof PreconditionError) return false;
    throw e;
  }
  try {
    await removeLeftovers(host, poolPath, volumeName);
    return true;
  } finally {
    await lock.release();
  }
}

/** Removes `.<volumeName>.nestlab-partial-*` files of killed or failed runs: only under the name's lock. */
export async function removeLeftovers(
  host: HostAccess,
  poolPath: string,
  volumeName: string,
): Promise<string[]> {
  const r = await host.run(["ls", "-1A", "--", poolPath], { allowFailure: true });
  if (r.exitCode !== 0) return [];
  const leftovers = leftoversOf(r.stdout.split("\n").filter(Boolean), volumeName);
  for (const name of leftovers) await host.run(["rm", "-f", "--", `${poolPath}/${name}`]);
  return leftovers;
}

/** The volume's facts, or undefined when the pool has no such volume. */
export async function volumeFacts(
  host: HostAccess,
  uri: string,
  pool: string,
  volume: string,
): Promise<VolumeFacts | undefined> {
  const xml = await virshLookup(host, uri, "volume", ["vol-dumpxml", "--pool", pool, volume]);
  return xml === undefined ? undefined : parseVolumeXml(xml);
}

/** A volume's facts by its path (libvirt finds its pool), or undefined when no pool lists it. */
export async function volumeFactsByPath(
  host: HostAccess,
  uri: string,
  path: string,
): Promise<VolumeFacts | undefined> {
  const xml = await virshLookup(host, uri, "volume", ["vol-dumpxml", path]);
  return xml === undefined ? undefined : parseVolumeXml(xml);
}

/** Whether a path exists on the host (any kind of file), and which file it is (see fileIdArgv). */
export async function fileId(host: HostAccess, file: string): Promise<string | undefined> {
  const r = await host.run(fileIdArgv(file), { allowFailure: true });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/**
 * Refuses to go on while any process holds the file open: a running
 * domain's QEMU (libvirt's or one started by hand) would go on writing into
 * a file that no longer has a name, and lose it all at its next start.
 */
export async function requireUnused(
  host: HostAccess,
  uri: string,
  file: string,
  action: string,
): Promise<void> {
  const r = await host.run(["sh", "-c", FILE_HOLDERS_SCRIPT, "sh", file]);
  const holders = parseFileHolders(r.stdout);
  if (holders.length === 0) return;
  const listed = await host.run(virsh(uri, "list", "--name"), { allowFailure: true });
  const running = listed.exitCode === 0 ? parseVirshNames(listed.stdout) : [];
  throw new PreconditionError(
    `${file} is in use by ${describeHolders(holders, running).join(", ")} on ${host.label}: ` +
      `${action} it now would pull the disk from under a running guest, which loses everything written to it since it started. ` +
      `Shut the guest down first (virsh shutdown <domain>), then run again.`,
  );
}

/**
 * The volumes of `pool` whose backing file is `file` (copy-on-write
 * overlays of it), by libvirt's own reading of each volume's header after a
 * pool-refresh. One vol-dumpxml per volume of the pool.
 */
export async function volumesBackedBy(
  host: HostAccess,
  uri: string,
  pool: string,
  file: string,
): Promise<string[]> {
  await host.run(virsh(uri, "pool-refresh", pool));
  const poolPath = parsePoolXml((await host.run(virsh(uri, "pool-dumpxml", pool))).stdout).path;
  const listed = await host.run(virsh(uri, "vol-list", "--pool", pool));
  const out: string[] = [];
  for (const path of parseVolListPaths(listed.stdout, poolPath)) {
    if (path === file) continue;
    const xml = await virshLookup(host, uri, "volume", ["vol-dumpxml", path]);
    if (xml !== undefined && parseVolumeXml(xml).backingPath === file) out.push(path);
  }
  return out;
}

/**
 * Refuses to go on while any volume of `pool` is an overlay of `file`: an
 * overlay holds only what its guest changed, so without its backing file it
 * is unreadable, and every lab on it lost.
 */
export async function requireNoOverlays(
  host: HostAccess,
  uri: string,
  pool: string,
  file: string,
  action: string,
): Promise<void> {
  const overlays = await volumesBackedBy(host, uri, pool, file);
  if (overlays.length === 0) return;
  throw new PreconditionError(
    `${file} is the backing file of ${overlays.length} ${overlays.length === 1 ? "volume" : "volumes"} in pool "${pool}" on ${host.label} ` +
      `(${overlays.join(", ")}): ${action} it would make them unreadable and lose everything written to them. ` +
      `Delete those volumes first (or reset the labs on them), then run again.`,
  );
}

import { PreconditionError } from "../core/errors";
import { isNotFound, virsh } from "../libvirt/virsh";
import { HostAccess } from "../host/access";
import {
  FILE_POOL_TYPES,
  leftoversOf,
  parsePoolState,
  parsePoolXml,
  parseVolumeXml,
  PoolFacts,
  VolumeFacts,
} from "./libvirt-xml";

/** Whether a pool is defined, and its state ("running", "inactive", …). */
export async function poolState(
  host: HostAccess,
  uri: string,
  pool: string,
): Promise<string | undefined> {
  const r = await host.run(virsh(uri, "pool-info", pool), { allowFailure: true });
  if (r.exitCode === 0) return parsePoolState(r.stdout);
  if (isNotFound("pool", r.stderr)) return undefined;
  throw new PreconditionError(
    `virsh pool-info ${pool} failed on ${host.label}: ${r.stderr.trim()}`,
  );
}

/**
 * The pool a volume goes into: it must exist, run, and keep its volumes as
 * files in a folder. Leftovers of interrupted conversions into `volumeName`
 * are removed before the pool is refreshed, so libvirt never lists them.
 */
export async function openFilePool(
  host: HostAccess,
  uri: string,
  pool: string,
  volumeName: string,
): Promise<PoolFacts> {
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
  await removeLeftovers(host, before.path, volumeName);
  await host.run(virsh(uri, "pool-refresh", pool));
  return parsePoolXml((await host.run(virsh(uri, "pool-dumpxml", pool))).stdout);
}

/** Removes `.<volumeName>.nestlab-partial-*` files of killed or failed runs. */
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
  const r = await host.run(virsh(uri, "vol-dumpxml", "--pool", pool, volume), {
    allowFailure: true,
  });
  if (r.exitCode === 0) return parseVolumeXml(r.stdout);
  if (isNotFound("volume", r.stderr)) return undefined;
  throw new PreconditionError(
    `virsh vol-dumpxml --pool ${pool} ${volume} failed on ${host.label}: ${r.stderr.trim()}`,
  );
}

/** Whether a path exists on the host (any kind of file), and its inode. */
export async function pathInode(host: HostAccess, file: string): Promise<string | undefined> {
  const r = await host.run(["stat", "--printf", "%i", "--", file], { allowFailure: true });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

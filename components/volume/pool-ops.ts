import { PreconditionError } from "../core/errors";
import { HostAccess } from "../host/access";
import { isNotFound, parseVirshNames, virsh } from "../libvirt/virsh";
import { describeHolders, FILE_HOLDERS_SCRIPT, parseFileHolders } from "./holders";
import {
  FILE_POOL_TYPES,
  leftoversOf,
  parsePoolState,
  parsePoolXml,
  parseVolumeXml,
  PoolFacts,
  VolumeFacts,
} from "./libvirt-xml";
import { fileIdArgv } from "./volume-file";

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

import { hasUnknown, UNKNOWN } from "../core/unknown";

export { UNKNOWN };

/**
 * Inputs whose change makes a different volume: each replaces it. The
 * volume's content is a function of all of them; `sourceFingerprint`
 * changes when the source's files do.
 */
export const REPLACING_PROPERTIES = [
  "source",
  "sourceFingerprint",
  "pool",
  "volumeName",
  "mode",
  "compression",
  "clusterSizeKiB",
  "preallocation",
  "compat",
  "virtualSizeGiB",
  "convert",
  "ovaDisk",
] as const;

export interface VolumeDiff {
  readonly changes: boolean;
  readonly replaces: string[];
  readonly deleteBeforeReplace: boolean;
}

type Props = Readonly<Record<string, unknown>>;

/**
 * Compares the state (`olds`, the last outputs) with the checked inputs.
 * A replacement deletes the old volume first when the new one takes the same
 * pool and name (two volumes cannot share a path, and a volume this stack no
 * longer tracks is never overwritten).
 */
export function diffVolume(olds: Props, news: Props): VolumeDiff {
  const replaces: string[] = REPLACING_PROPERTIES.filter((k) => !same(olds[k], news[k]));
  const oldHost = (olds.host ?? {}) as Props;
  const newHost = (news.host ?? {}) as Props;
  if (!same(oldHost.libvirtUri, newHost.libvirtUri)) replaces.push("host.libvirtUri");
  if (!same(oldHost.rootDir, newHost.rootDir)) replaces.push("host.rootDir");
  // A new way to reach the same host (user, port, key) is an update, not a new volume.
  const updates = !same(oldHost.ssh, newHost.ssh) || !same(olds.sshPrivateKey, news.sshPrivateKey);
  const samePath =
    (hasUnknown(news.pool) || olds.pool === news.pool) &&
    (hasUnknown(news.volumeName) || olds.volumeName === news.volumeName);
  return {
    changes: replaces.length > 0 || updates,
    replaces,
    deleteBeforeReplace: replaces.length > 0 && samePath,
  };
}

/** Deep equality of plain JSON values, key order ignored; unknown is never equal. */
export function same(a: unknown, b: unknown): boolean {
  if (hasUnknown(a) || hasUnknown(b)) return false;
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Props)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Props)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => same((a as Props)[k], (b as Props)[k]));
}

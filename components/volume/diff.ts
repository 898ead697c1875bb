import { hasUnknown, UNKNOWN } from "../core/unknown";
import { diffHost } from "../host/connection";
import { contentChanges } from "./fingerprint";

export { UNKNOWN };

/**
 * Inputs whose change makes a different volume: each replaces it. The
 * volume's content is a function of all of them; `sourceFingerprint` is
 * the source's content key, which changes when the source's content does
 * (unless `onSourceChange` is "keep").
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

/** A state or an input bag, typed or not: read as the property bag it is on the wire. */
type Bag = object;

/**
 * Compares the state (`olds`, the last outputs) with the checked inputs.
 * A replacement deletes the old volume first when the new one takes the same
 * pool and name (two volumes cannot share a path, and a volume this stack no
 * longer tracks is never overwritten).
 */
export function diffVolume(oldBag: Bag, newBag: Bag): VolumeDiff {
  const olds = oldBag as Props;
  const news = newBag as Props;
  const replaces: string[] = REPLACING_PROPERTIES.filter((k) =>
    k === "sourceFingerprint" ? sourceReplaces(olds, news) : !same(olds[k], news[k]),
  );
  // Root's key is written into the volume when it is made: another key is another volume. (An
  // in-place rewrite would need the guest off and a second writer on its disk; not done.)
  if (!same(olds.rootAccess, news.rootAccess)) replaces.push("rootAccess");
  // Another hypervisor is a new volume; the same one reached another way (or a new key) an update.
  const host = diffHost(olds, news);
  replaces.push(...host.replaces);
  const updates =
    host.updates.length > 0 ||
    !same(olds.onSourceChange ?? "replace", news.onSourceChange ?? "replace");
  const samePath =
    (hasUnknown(news.pool) || olds.pool === news.pool) &&
    (hasUnknown(news.volumeName) || olds.volumeName === news.volumeName);
  return {
    changes: replaces.length > 0 || updates,
    replaces,
    deleteBeforeReplace: replaces.length > 0 && samePath,
  };
}

/**
 * The files of the source whose content differs from what the volume was
 * made from (`olds`, the state, keeps that fingerprint until the volume is
 * made again). Unknown: the whole fingerprint's key.
 */
export function changedSourceFiles(olds: Bag, news: Bag): string[] {
  const made = (olds as Props).sourceFingerprint;
  const now = (news as Props).sourceFingerprint;
  if (!isLines(made) || !isLines(now)) return same(made, now) ? [] : ["sourceFingerprint"];
  return contentChanges(made, now);
}

/** A content change replaces the volume, unless the user keeps it (`onSourceChange: "keep"`). */
function sourceReplaces(olds: Props, news: Props): boolean {
  return news.onSourceChange !== "keep" && changedSourceFiles(olds, news).length > 0;
}

function isLines(value: unknown): value is Record<string, string> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !hasUnknown(value) &&
    Object.values(value).every((v) => typeof v === "string")
  );
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

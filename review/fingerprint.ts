/**
 * The volume's `sourceFingerprint` (one line of `field=value` per source
 * file, written by components/volume/fingerprint.ts) turned into what a
 * reviewer reads: "source content changed: RHEL7_Server-000002.vmdk (CID
 * 1a2b3c4d → 5e6f7a8b)". Fields this module does not know are named as
 * changed, never shown raw.
 */

export type Fingerprint = Readonly<Record<string, string>>;

/** The fields of one line: `size=… head=… format=vmdk cid=… parentCid=…`. */
export function parseFingerprintLine(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of line.split(" ")) {
    const eq = field.indexOf("=");
    if (eq > 0) out[field.slice(0, eq)] = field.slice(eq + 1);
  }
  return out;
}

/** A fingerprint's value from the preview: an object of strings, else undefined (unknown, secret, absent). */
export function asFingerprint(value: unknown): Fingerprint | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  return entries.every(([, v]) => typeof v === "string") ? (value as Fingerprint) : undefined;
}

/** What a field's change is called when its values mean nothing to a reader. */
const OPAQUE: Readonly<Record<string, string>> = {
  head: "header changed",
  map: "allocation map changed",
  ovf: "OVF descriptor changed",
  mf: "manifest changed",
  mtime: "written to",
  inode: "another file",
  dev: "another device",
};

/**
 * One line per source file whose entry differs, sorted by file: added,
 * gone, or changed with what changed (CIDs in hex, as VMware's descriptor
 * writes them).
 */
export function describeSourceChanges(before: Fingerprint, after: Fingerprint): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const lines: string[] = [];
  for (const key of keys) {
    const file = fileName(key);
    if (before[key] === after[key]) continue;
    if (before[key] === undefined) {
      lines.push(`source file added to the chain: ${file}`);
      continue;
    }
    if (after[key] === undefined) {
      lines.push(`source file no longer in the chain: ${file}`);
      continue;
    }
    const old = parseFingerprintLine(before[key]);
    const cur = parseFingerprintLine(after[key]);
    const parts: string[] = [];
    const changed = (f: string) => f in old && f in cur && old[f] !== cur[f];
    if (changed("cid")) parts.push(`CID ${cid(old.cid)} → ${cid(cur.cid)}`);
    if (changed("parentCid"))
      parts.push(`parent CID ${cid(old.parentCid)} → ${cid(cur.parentCid)}`);
    if (changed("format")) parts.push(`format ${old.format} → ${cur.format}`);
    if (changed("size")) parts.push(`size ${bytes(old.size)} → ${bytes(cur.size)}`);
    // A vmdk's CIDs live in its header: a new CID is the header change.
    const cidChanged = changed("cid") || changed("parentCid");
    for (const f of Object.keys(cur).sort()) {
      if (["cid", "parentCid", "format", "size"].includes(f) || !changed(f)) continue;
      if (f === "head" && cidChanged) continue;
      parts.push(OPAQUE[f] ?? `${f} changed`);
    }
    lines.push(`source content changed: ${file}${parts.length ? ` (${parts.join(", ")})` : ""}`);
  }
  return lines;
}

/** The bytes a conversion reads: the sum of the files' sizes, or undefined when one is missing. */
export function sourceBytes(fingerprint: Fingerprint): number | undefined {
  let total = 0;
  for (const line of Object.values(fingerprint)) {
    const size = Number(parseFingerprintLine(line).size);
    if (!Number.isFinite(size)) return undefined;
    total += size;
  }
  return total;
}

/** `/srv/a/RHEL7_Server-000002.vmdk` → `RHEL7_Server-000002.vmdk`; `/srv/x.ova#disk1.vmdk` → `x.ova#disk1.vmdk`. */
export function fileName(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}

function cid(decimal: string): string {
  const n = Number(decimal);
  return Number.isInteger(n) && n >= 0 ? n.toString(16).padStart(8, "0") : decimal;
}

/** Sizes as a reader takes them in: 1.5 GiB, 640 MiB, 4096 bytes. */
export function bytes(value: string | number): string {
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  const units: [number, string][] = [
    [2 ** 30, "GiB"],
    [2 ** 20, "MiB"],
    [2 ** 10, "KiB"],
  ];
  for (const [size, unit] of units) {
    if (n >= size) return `${Number((n / size).toFixed(1))} ${unit}`;
  }
  return `${n} bytes`;
}

import { createHash } from "crypto";
import { ImageInfo } from "./chain";

/**
 * What `stat` says about one source file. Its size, with the chain's CIDs,
 * the file's first bytes and a qcow2 or raw file's allocation map, makes the
 * source's content key (no image data is read); mtime, inode and device say
 * only whether the file was written or replaced (see sourceIdentity).
 */
export interface FileFacts {
  readonly file: string;
  readonly sizeBytes: number;
  /** st_blocks * 512: what the file takes on disk. Not part of the fingerprint. */
  readonly allocatedBytes: number;
  /** Seconds since the epoch with nanoseconds, as `stat -c %.9Y` prints it. */
  readonly mtime: string;
  readonly inode: string;
  readonly device: string;
  /** "regular file", "directory", … (`stat -c %F`). */
  readonly type: string;
}

/** How many leading bytes of each file go into the fingerprint (vmdk header and descriptor, qcow2 header). */
export const HEADER_BYTES = 4096;

/** The `stat` argv whose output parseStat reads: one NUL-terminated record per file, in order. */
export function statArgv(files: readonly string[]): string[] {
  return ["stat", "-L", "--printf", "%s %b %B %.9Y %i %d %F\\0", "--", ...files];
}

export function parseStat(stdout: string, files: readonly string[]): FileFacts[] {
  const records = stdout.split("\0").slice(0, -1);
  if (records.length !== files.length) {
    throw new Error(
      `stat printed ${records.length} records for ${files.length} files: ${JSON.stringify(stdout)}`,
    );
  }
  return records.map((record, i) => {
    const [size, blocks, blockSize, mtime, inode, device, ...type] = record.split(" ");
    return {
      file: files[i],
      sizeBytes: Number(size),
      allocatedBytes: Number(blocks) * Number(blockSize),
      mtime,
      inode,
      device,
      type: type.join(" "),
    };
  });
}

/** argv printing a file's leading bytes as hex (`od`), from `offset`. */
export function headerArgv(file: string, offset = 0, length = HEADER_BYTES): string[] {
  return [
    "od",
    "-A",
    "n",
    "-v",
    "-t",
    "x1",
    "-j",
    String(offset),
    "-N",
    String(length),
    "--",
    file,
  ];
}

/** The bytes of `od -A n -v -t x1` output. */
export function parseOdHex(stdout: string): Buffer {
  const hex = stdout.replace(/\s+/g, "");
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex))
    throw new Error(`od printed something other than hex bytes: ${stdout.slice(0, 80)}`);
  return Buffer.from(hex, "hex");
}

/** One entry of the fingerprint: a file (or an OVA member) with what identifies its content. */
export interface FingerprintPart {
  /** The key: the file's path, or `<ova>#<member>` for a disk inside an OVA. */
  readonly key: string;
  readonly facts: Pick<FileFacts, "sizeBytes" | "mtime" | "inode" | "device">;
  readonly header: Buffer;
  readonly link?: ImageInfo;
  /** A qcow2 or raw link's allocation map, as digested by allocationMapDigest. */
  readonly allocationMap?: string;
  /** Digests of further metadata the file carries (an OVA: `ovf`, its descriptor; `mf`, its manifest). */
  readonly digests?: Readonly<Record<string, string>>;
}

/**
 * The source's content key: one readable line per file, keyed by path, so a
 * preview names the file and the fact that changed. Only what describes the
 * content goes in: the size, the first HEADER_BYTES bytes (a vmdk's header
 * and descriptor, a qcow2's header), the format, a vmdk's CID and parent CID
 * (VMware and QEMU give a disk a new CID at its first write after each open),
 * a qcow2 or raw link's allocation map, an OVA's descriptor and manifest.
 * Where the file lives (inode, device) and when it was last written (mtime)
 * are not content: a touched, copied or moved source keeps its key. See
 * components/volume/README.md for what this sees and what it cannot.
 */
export function sourceFingerprint(parts: readonly FingerprintPart[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of parts) {
    const fields = [`size=${p.facts.sizeBytes}`, `head=${shortDigest(p.header)}`];
    if (p.link) {
      fields.push(`format=${p.link.format}`);
      if (p.link.vmdk) fields.push(`cid=${p.link.vmdk.cid}`, `parentCid=${p.link.vmdk.parentCid}`);
    }
    if (p.allocationMap !== undefined) fields.push(`map=${p.allocationMap}`);
    for (const [name, value] of Object.entries(p.digests ?? {})) fields.push(`${name}=${value}`);
    out[p.key] = fields.join(" ");
  }
  return out;
}

/**
 * Where each file is and when it was last written: `mtime=… inode=… dev=…`.
 * Never a reason to convert again, but a copy made while any of it changed
 * may be torn, so the provider compares it before and after a copy.
 */
export function sourceIdentity(parts: readonly FingerprintPart[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of parts) {
    out[p.key] = `mtime=${p.facts.mtime} inode=${p.facts.inode} dev=${p.facts.device}`;
  }
  return out;
}

/** The keys whose entries differ between two fingerprints (added, removed or changed), sorted. */
export function fingerprintChanges(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => before[k] !== after[k]).sort();
}

/**
 * The qcow2 and raw files written since the last look (their mtime
 * changed) whose content key did not change: a rewrite in place of data
 * they already held changes no metadata, so it may be a change this key
 * cannot see. (A vmdk written by VMware or QEMU gets a new CID.)
 */
export function unseenRewrites(
  last: {
    readonly sourceFingerprint?: Readonly<Record<string, string>>;
    readonly sourceIdentity?: Readonly<Record<string, string>>;
  },
  now: {
    readonly fingerprint: Readonly<Record<string, string>>;
    readonly identity: Readonly<Record<string, string>>;
  },
): string[] {
  const mtimeOf = (line: string | undefined) =>
    line === undefined ? undefined : fieldsOf(line).mtime;
  return Object.keys(now.fingerprint)
    .filter(
      (key) =>
        / map=/.test(now.fingerprint[key]) &&
        last.sourceFingerprint?.[key] === now.fingerprint[key] &&
        mtimeOf(last.sourceIdentity?.[key]) !== undefined &&
        mtimeOf(last.sourceIdentity?.[key]) !== mtimeOf(now.identity[key]),
    )
    .sort();
}

/** Fields of the lines written before the content key (size, mtime, inode, device, head, …) that are not content. */
const NOT_CONTENT = ["mtime", "inode", "dev"];

/**
 * The files whose content differs between the fingerprint a volume was made
 * from and the source's now, sorted. A line in the older form (it has
 * `mtime=`) is compared on the fields both lines have, less mtime, inode
 * and device: a volume made before the content key is not made again for a
 * touch either.
 */
export function contentChanges(
  made: Readonly<Record<string, string>>,
  now: Readonly<Record<string, string>>,
): string[] {
  return fingerprintChanges(made, now).filter((key) => {
    const before = made[key];
    const after = now[key];
    if (before === undefined || after === undefined || !/(^| )mtime=/.test(before)) return true;
    const old = fieldsOf(before);
    const cur = fieldsOf(after);
    return Object.keys(old).some((f) => !NOT_CONTENT.includes(f) && f in cur && old[f] !== cur[f]);
  });
}

function fieldsOf(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of line.split(" ")) {
    const eq = field.indexOf("=");
    if (eq > 0) out[field.slice(0, eq)] = field.slice(eq + 1);
  }
  return out;
}

/**
 * `qemu-img map` of one qcow2 or raw file alone (a qcow2's backing file is
 * not opened: `backing: null`): which ranges hold data, which read as zero,
 * and where in the file each range's data lies. It reads the qcow2's L1 and
 * L2 tables, or asks the file system for a raw file's holes; never the data.
 */
export function mapArgv(file: string, format: "qcow2" | "raw"): string[] {
  const node = {
    driver: format,
    ...(format === "qcow2" ? { backing: null } : {}),
    file: { driver: "file", filename: file },
  };
  return ["qemu-img", "map", "--output=json", `json:${JSON.stringify(node)}`];
}

/**
 * The digest of `qemu-img map --output=json`, taken over the fields that
 * describe the image (start, length, data, zero, offset), so another
 * version of qemu-img that prints more fields gives the same digest.
 */
export function allocationMapDigest(json: string): string {
  const ranges = JSON.parse(json) as Record<string, unknown>[];
  if (!Array.isArray(ranges)) throw new Error(`qemu-img map printed no list: ${json.slice(0, 80)}`);
  const canonical = ranges
    .map((r) => [r.start, r.length, r.data, r.zero, r.offset ?? "-"].join(","))
    .join("\n");
  return shortDigest(canonical);
}

/** The first 16 hex digits of a SHA-256: enough to tell metadata apart, short enough to read in a preview. */
export function shortDigest(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}

import { createHash } from "crypto";
import { ImageInfo } from "./chain";

/**
 * What `stat` says about one source file. Together with the chain's CIDs and
 * the file's first bytes, this is the source's fingerprint: cheap to take (no
 * image data is read) and different whenever the content can have changed.
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
}

/**
 * The source's fingerprint: one readable line per file, keyed by path, so a
 * preview names the file and the fact that changed. A change of any of
 * size, mtime, inode, device, the first HEADER_BYTES bytes, the format, CID
 * or parent CID (or a file added to or gone from the chain) reconverts.
 */
export function sourceFingerprint(parts: readonly FingerprintPart[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of parts) {
    const fields = [
      `size=${p.facts.sizeBytes}`,
      `mtime=${p.facts.mtime}`,
      `inode=${p.facts.inode}`,
      `dev=${p.facts.device}`,
      `head=${createHash("sha256").update(p.header).digest("hex").slice(0, 16)}`,
    ];
    if (p.link) {
      fields.push(`format=${p.link.format}`);
      if (p.link.vmdk) fields.push(`cid=${p.link.vmdk.cid}`, `parentCid=${p.link.vmdk.parentCid}`);
    }
    out[p.key] = fields.join(" ");
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

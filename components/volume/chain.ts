import * as path from "path";
import { SourceImageError } from "./errors";

/**
 * One image of a backing chain, as `qemu-img info --output=json
 * --backing-chain` reports it (the top first).
 */
export interface ImageInfo {
  /** The file as the chain names it (the source, a parent's name in its child's folder, `<ova>#<disk>`). */
  readonly file: string;
  /** The format it is read as: pinned before QEMU opened it (see confine.ts). */
  readonly format: string;
  readonly virtualSizeBytes: number;
  /** The parent's file, resolved (`full-backing-filename`). */
  readonly backingFile?: string;
  readonly dirty: boolean;
  readonly corrupt: boolean;
  readonly encrypted: boolean;
  readonly vmdk?: VmdkInfo;
  /**
   * The format the file's first bytes announce when it is read as another:
   * a raw disk whose guest wrote, say, a qcow2 header at its first sector.
   */
  readonly headerFormat?: string;
}

export interface VmdkInfo {
  readonly cid: number;
  readonly parentCid: number;
  readonly createType: string;
  /** The files that hold the data (the descriptor itself for monolithic images). */
  readonly extents: readonly string[];
}

/** A link of the chain as the volume reports it in its `chain` output. */
export interface ChainLink {
  readonly file: string;
  readonly format: string;
  readonly createType?: string;
  readonly cid?: number;
  readonly parentCid?: number;
  readonly virtualSizeBytes: number;
  readonly allocatedBytes: number;
}

/** VMware's parent CID of a disk without a parent. */
export const NO_PARENT_CID = 0xffffffff;

/** The vmdk create types QEMU reads completely. */
export const SUPPORTED_VMDK_TYPES: readonly string[] = [
  "monolithicSparse",
  "streamOptimized",
  "twoGbMaxExtentSparse",
  "monolithicFlat",
  "twoGbMaxExtentFlat",
  "vmfs",
  "vmfsSparse",
];

/** Parses `qemu-img info --output=json [--backing-chain]` (one object or a list). */
export function parseImageInfo(json: string, baseDir = "/"): ImageInfo[] {
  const parsed: unknown = JSON.parse(json);
  const items = Array.isArray(parsed) ? parsed : [parsed];
  return items.map((raw) => {
    const o = raw as Record<string, unknown>;
    const file = String(o["filename"]);
    const specific = o["format-specific"] as
      { type?: string; data?: Record<string, unknown> } | undefined;
    let vmdk: VmdkInfo | undefined;
    if (o["format"] === "vmdk" && specific?.type === "vmdk" && specific.data) {
      const d = specific.data;
      const extents = (d["extents"] as { filename: string }[] | undefined) ?? [];
      vmdk = {
        cid: Number(d["cid"]),
        parentCid: Number(d["parent-cid"]),
        createType: String(d["create-type"]),
        extents: extents.map((e) => absolute(e.filename, baseDir)),
      };
    }
    const backing = (o["full-backing-filename"] ?? o["backing-filename"]) as string | undefined;
    return {
      file: absolute(file, baseDir),
      format: String(o["format"]),
      virtualSizeBytes: Number(o["virtual-size"]),
      backingFile:
        backing === undefined
          ? undefined
          : absolute(backing, path.posix.dirname(absolute(file, baseDir))),
      dirty: o["dirty-flag"] === true,
      corrupt: specific?.data?.["corrupt"] === true,
      encrypted: o["encrypted"] === true || o["format"] === "luks",
      vmdk,
    };
  });
}

/** What the first sector of a VMware sparse extent says. */
export interface VmdkSparseHeader {
  /** "KDMV" (hosted sparse / streamOptimized) or "COWD" (ESX vmfsSparse). */
  readonly magic: "KDMV" | "COWD";
  readonly version: number;
  /** Set by VMware while the disk is open; left set when it was not closed cleanly. */
  readonly uncleanShutdown: boolean;
}

/** Reads the sparse extent header from a file's first bytes; undefined for descriptors and other files. */
export function parseVmdkSparseHeader(bytes: Buffer): VmdkSparseHeader | undefined {
  if (bytes.length < 512) return undefined;
  const magic = bytes.toString("latin1", 0, 4);
  if (magic === "KDMV") {
    // VMDK4 header: magic, version, flags, capacity, grainSize, descriptorOffset,
    // descriptorSize, numGTEsPerGT, rgdOffset, gdOffset, overHead, then the
    // uncleanShutdown byte at offset 72.
    return { magic, version: bytes.readUInt32LE(4), uncleanShutdown: bytes[72] !== 0 };
  }
  if (magic === "COWD") {
    // COWD header: the "savedGeneration" / "uncleanShutdown" pair sits at 1600-1604, beyond
    // what a sector holds: QEMU itself ignores it, and so does this check.
    return { magic, version: bytes.readUInt32LE(4), uncleanShutdown: false };
  }
  return undefined;
}

/**
 * Checks a backing chain (the top first) before anything is written: every
 * link of a supported, clean, unencrypted kind, each VMware link's parent CID
 * equal to its parent's CID, and the base without a parent. Throws
 * SourceImageError naming the link.
 */
export function validateChain(
  links: readonly ImageInfo[],
  headers: ReadonlyMap<string, VmdkSparseHeader | undefined> = new Map(),
): void {
  if (links.length === 0) throw new Error("validateChain: an empty chain");
  links.forEach((link, i) => {
    const what = links.length > 1 ? `chain link ${link.file}` : link.file;
    if (link.encrypted) {
      throw new SourceImageError(
        `${what} is encrypted. ConvertedVolume does not take encrypted images: decrypt it first ` +
          `(qemu-img convert with --object secret,… and --image-opts, into an unencrypted image).`,
      );
    }
    if (link.corrupt || link.dirty) {
      throw new SourceImageError(
        `${what} is marked ${link.corrupt ? "corrupt" : "dirty (it was not closed cleanly)"}. ` +
          `Check and repair a copy of it with \`qemu-img check -r all\`, then use the copy.`,
      );
    }
    if (link.vmdk) {
      const type = link.vmdk.createType;
      if (type === "seSparse") {
        throw new SourceImageError(
          `${what} is an seSparse snapshot (ESXi 6.5 and later): QEMU reads it only partly and cannot replay its journal. ` +
            `Consolidate the snapshots in ESXi (or clone the disk with \`vmkfstools -i … -d thin\`) and convert the result.`,
        );
      }
      if (!SUPPORTED_VMDK_TYPES.includes(type)) {
        throw new SourceImageError(
          `${what} is a vmdk of create type "${type}", which ConvertedVolume does not take; ` +
            `supported: ${SUPPORTED_VMDK_TYPES.join(", ")}. Clone it to a monolithicSparse disk with VMware's tools first.`,
        );
      }
      for (const extent of [link.file, ...link.vmdk.extents]) {
        if (headers.get(extent)?.uncleanShutdown) {
          throw new SourceImageError(
            `${what} was not closed cleanly: the VMware uncleanShutdown flag is set in ${extent}. ` +
              `The VM is running or crashed: power it off in VMware (and let VMware repair the disk), then convert.`,
          );
        }
      }
    }
    const parent = links[i + 1];
    if (parent === undefined) {
      if (link.vmdk && link.vmdk.parentCid !== NO_PARENT_CID) {
        throw new SourceImageError(
          `${what} names a parent disk (parent CID ${cidText(link.vmdk.parentCid)}) but no parent file. ` +
            `Copy its parent (the vmdk it was snapshotted from) beside it.`,
        );
      }
      return;
    }
    if (link.vmdk) {
      if (!parent.vmdk) {
        throw new SourceImageError(
          `${what} has a ${parent.format} parent ${parent.file}; a VMware snapshot's parent must be a vmdk.`,
        );
      }
      if (link.vmdk.parentCid !== parent.vmdk.cid) {
        throw new SourceImageError(
          `${what} expects its parent ${parent.file} to have CID ${cidText(link.vmdk.parentCid)}, ` +
            `but the parent has CID ${cidText(parent.vmdk.cid)}: the parent was written to after the snapshot was taken, ` +
            `so the chain no longer describes one disk. Use the files exactly as VMware left them ` +
            `(restore the parent from the same copy as the snapshot), or convert the base alone with mode: "base".`,
        );
      }
    }
  });
}

/** The links a mode converts: the whole chain from its top, or the base alone. */
export function selectLinks(
  links: readonly ImageInfo[],
  mode: "flatten" | "base",
): readonly ImageInfo[] {
  switch (mode) {
    case "flatten":
      return links;
    case "base":
      return links.slice(-1);
    default: {
      const never: never = mode;
      throw new Error(`unknown mode ${String(never)}`);
    }
  }
}

/** The files a chain is made of: each link and its extents, each once, in order. */
export function chainFiles(links: readonly ImageInfo[]): string[] {
  const files: string[] = [];
  for (const link of links) {
    for (const f of [link.file, ...(link.vmdk?.extents ?? [])])
      if (!files.includes(f)) files.push(f);
  }
  return files;
}

/** The chain as the `chain` output reports it, with allocated bytes summed over each link's files. */
export function describeChain(
  links: readonly ImageInfo[],
  allocatedBytes: (file: string) => number,
): ChainLink[] {
  return links.map((link) => {
    const files = [link.file, ...(link.vmdk?.extents ?? [])].filter(
      (f, i, all) => all.indexOf(f) === i,
    );
    return {
      file: link.file,
      format: link.format,
      ...(link.vmdk
        ? { createType: link.vmdk.createType, cid: link.vmdk.cid, parentCid: link.vmdk.parentCid }
        : {}),
      virtualSizeBytes: link.virtualSizeBytes,
      allocatedBytes: files.reduce((sum, f) => sum + allocatedBytes(f), 0),
    };
  });
}

/** "3931985638 (0xea5d56e6)": the decimal qemu-img prints and the hex the descriptor holds. */
export function cidText(cid: number): string {
  return `${cid} (0x${cid.toString(16).padStart(8, "0")})`;
}

function absolute(file: string, baseDir: string): string {
  if (file.startsWith("json:") || file.startsWith("/")) return file;
  return path.posix.join(baseDir, file);
}

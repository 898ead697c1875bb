/**
 * What an image file names: the other files QEMU opens through it (a vmdk's
 * extents and parent, a qcow2's backing and data file), read from the file's
 * own bytes the way QEMU 7.2 reads them, so that every one of them can be
 * checked before QEMU opens anything. Pure: the caller reads the bytes.
 */
import { SourceImageError } from "./errors";

/** Bytes read from the start of each image file: its header, descriptor and backing name. */
export const PREFIX_BYTES = 64 * 1024;

/**
 * QEMU reads a text descriptor whole (up to 1 MiB). VMware's hold a few
 * hundred bytes; a larger "descriptor" is another file (a flat extent's data).
 */
export const MAX_DESCRIPTOR_BYTES = PREFIX_BYTES;

/** QEMU reads the parent's name from this many bytes of the descriptor (DESC_SIZE). */
const PARENT_HINT_BYTES = 20 * 512;

/** qcow2 clusters are at most 2 MiB: the header, its extensions and the backing name fit in one. */
const MAX_QCOW2_CLUSTER = 2 * 1024 * 1024;

/**
 * The format a file's first bytes announce, by the signatures QEMU's
 * probes look for; undefined when there is none (plain data: raw).
 */
export function signatureFormat(bytes: Buffer): string | undefined {
  const has = (at: number, text: string) =>
    bytes.length >= at + text.length && bytes.toString("latin1", at, at + text.length) === text;
  if (has(0, "QFI\xfb")) return bytes.length >= 8 && bytes.readUInt32BE(4) === 1 ? "qcow" : "qcow2";
  if (has(0, "KDMV") || has(0, "COWD") || isVmdkDescriptor(bytes)) return "vmdk";
  if (has(0, "QED\0")) return "qed";
  if (has(0, "LUKS\xba\xbe")) return "luks";
  if (has(0, "vhdxfile")) return "vhdx";
  if (has(0, "conectix")) return "vpc";
  if (bytes.length >= 68 && bytes.readUInt32LE(64) === 0xbeda107f) return "vdi";
  if (has(0, "WithoutFreeSpace") || has(0, "WithouFreSpacExt")) return "parallels";
  if (has(0, "Bochs Virtual HD Image")) return "bochs";
  if (has(0, "#!/bin/sh\n#V2.0 Format\n")) return "cloop";
  return undefined;
}

/**
 * QEMU's test for a text vmdk descriptor (in its first 2 KiB): comment
 * lines and blank lines of spaces, then `version=1`, `2` or `3`.
 */
function isVmdkDescriptor(bytes: Buffer): boolean {
  const text = bytes.toString("latin1", 0, Math.min(bytes.length, 2048));
  let p = 0;
  while (p < text.length) {
    if (text[p] === "#") {
      const nl = text.indexOf("\n", p);
      if (nl < 0) return false;
      p = nl + 1;
      continue;
    }
    if (text[p] === " ") {
      while (p < text.length && text[p] === " ") p++;
      if (text[p] === "\r") p++;
      if (p >= text.length || text[p] !== "\n") return false;
      p++;
      continue;
    }
    return /^version=[123]\r?\n/.test(text.slice(p));
  }
  return false;
}

/** What a qcow2 header records about other files. */
export interface Qcow2Header {
  readonly version: number;
  readonly clusterBytes: number;
  readonly encrypted: boolean;
  /** The backing file as recorded: relative to the image's folder unless absolute. */
  readonly backingName?: string;
  /** The backing file's format, when recorded (the header extension `-F` writes). */
  readonly backingFormat?: string;
  /** Set when the image keeps its data in an external file (with its name when recorded). */
  readonly dataFile?: { readonly name?: string };
}

/** A parse that needs more of the file: read `bytes` from its start and parse again. */
export interface NeedBytes {
  readonly needBytes: number;
}

const QCOW2_EXT_END = 0;
const QCOW2_EXT_BACKING_FORMAT = 0xe2792aca;
const QCOW2_EXT_DATA_FILE = 0x44415441;
const QCOW2_INCOMPAT_DATA_FILE = 1n << 2n;

/**
 * Reads a qcow2 header (`bytes` from the file's start; `fileBytes` the
 * file's size): the backing file's name and format, the external data file,
 * encryption. Asks for more bytes when the header's extensions or the
 * backing name lie beyond `bytes`.
 */
export function parseQcow2Header(
  bytes: Buffer,
  fileBytes: number,
  file: string,
): Qcow2Header | NeedBytes {
  // More bytes, unless the file has no more: then the header ends past its end.
  const need = (n: number): NeedBytes => {
    if (n > fileBytes || n <= bytes.length)
      throw damaged(file, "its header ends past the end of the file");
    return { needBytes: n };
  };
  if (bytes.length < 104 && fileBytes > bytes.length) return need(Math.min(104, fileBytes));
  if (bytes.length < 72) throw damaged(file, "it is shorter than a qcow2 header");
  const version = bytes.readUInt32BE(4);
  const clusterBits = bytes.readUInt32BE(20);
  if (version < 2 || version > 3 || clusterBits < 9 || clusterBits > 21) {
    throw damaged(file, `its header says version ${version}, cluster bits ${clusterBits}`);
  }
  const clusterBytes = 2 ** clusterBits;
  const backingOffset = Number(bytes.readBigUInt64BE(8));
  const backingSize = bytes.readUInt32BE(16);
  const encrypted = bytes.readUInt32BE(32) !== 0;
  const incompatible = version >= 3 ? bytes.readBigUInt64BE(72) : 0n;
  const headerLength = version >= 3 ? bytes.readUInt32BE(100) : 72;
  if (backingOffset > clusterBytes || backingSize > 1023 || headerLength > clusterBytes) {
    throw damaged(file, "its backing file name or header extensions lie outside its first cluster");
  }
  // The extensions run from the header's end to the backing name (or the cluster's end).
  const extensionsEnd =
    backingOffset !== 0 ? backingOffset : Math.min(clusterBytes, MAX_QCOW2_CLUSTER);
  let backingFormat: string | undefined;
  let dataFileName: string | undefined;
  for (let at = headerLength; at < extensionsEnd;) {
    if (at + 8 > bytes.length) return need(Math.min(extensionsEnd, fileBytes));
    const type = bytes.readUInt32BE(at);
    const length = bytes.readUInt32BE(at + 4);
    if (type === QCOW2_EXT_END) break;
    if (length > extensionsEnd - at - 8) throw damaged(file, "a header extension is too large");
    if (at + 8 + length > bytes.length) return need(Math.min(extensionsEnd, fileBytes));
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (type === QCOW2_EXT_BACKING_FORMAT) {
      if (length >= 16) throw damaged(file, "its backing format extension is too long");
      backingFormat = cString(data);
    }
    if (type === QCOW2_EXT_DATA_FILE) dataFileName = cString(data);
    at += 8 + Math.ceil(length / 8) * 8;
  }
  let backingName: string | undefined;
  if (backingOffset !== 0) {
    if (backingOffset + backingSize > bytes.length) return need(backingOffset + backingSize);
    backingName = cString(bytes.subarray(backingOffset, backingOffset + backingSize));
  }
  const hasDataFile = (incompatible & QCOW2_INCOMPAT_DATA_FILE) !== 0n;
  return {
    version,
    clusterBytes,
    encrypted,
    // An empty name is no backing file (QEMU opens none).
    ...(backingName ? { backingName } : {}),
    ...(backingFormat ? { backingFormat } : {}),
    ...(hasDataFile || dataFileName !== undefined
      ? { dataFile: dataFileName ? { name: dataFileName } : {} }
      : {}),
  };
}

/** One extent line of a vmdk descriptor that QEMU opens. */
export interface VmdkExtentRef {
  /** FLAT, VMFS (raw data), SPARSE, VMFSSPARSE (a sparse extent file) or SESPARSE. */
  readonly type: string;
  /** The file as the descriptor names it. */
  readonly name: string;
}

/** What a vmdk file is made of and what it names. */
export interface VmdkFile {
  /** A hosted sparse file (KDMV), an ESX sparse file (COWD) or a text descriptor. */
  readonly layout: "sparse" | "cowd" | "descriptor";
  /**
   * A sparse header with no capacity but a descriptor: QEMU then opens the
   * extents that descriptor names, as for a descriptor file.
   */
  readonly descriptorInside: boolean;
  readonly createType?: string;
  /** `parentFileNameHint`: the parent disk, relative to this file's folder unless absolute. */
  readonly parentName?: string;
  /** A text descriptor's extents, in the order QEMU opens them. */
  readonly extents: readonly VmdkExtentRef[];
}

/**
 * Reads a vmdk (`bytes` from the file's start, PREFIX_BYTES or the whole
 * file; `fileBytes` its size) as QEMU's vmdk driver does: its kind, the
 * extents a descriptor names, the parent it names. Throws SourceImageError
 * for a descriptor QEMU would refuse or one too large to be a descriptor.
 */
export function parseVmdkFile(bytes: Buffer, fileBytes: number, file: string): VmdkFile {
  const magic = bytes.toString("latin1", 0, 4);
  if (magic === "KDMV" || magic === "COWD") {
    // QEMU looks for the parent in the 10 KiB after the first sector, whatever the header says.
    const parentName = parentHint(bytes, 512);
    const capacity = magic === "KDMV" && bytes.length >= 36 ? bytes.readBigUInt64LE(12) : 1n;
    const descriptorOffset =
      magic === "KDMV" && bytes.length >= 36 ? bytes.readBigUInt64LE(28) : 0n;
    return {
      layout: magic === "KDMV" ? "sparse" : "cowd",
      descriptorInside: capacity === 0n && descriptorOffset !== 0n,
      ...(parentName !== undefined ? { parentName } : {}),
      extents: [],
    };
  }
  if (fileBytes > MAX_DESCRIPTOR_BYTES) {
    throw new SourceImageError(
      `${file} is no vmdk: it has no sparse vmdk header, and at ${fileBytes} bytes it is too large for a descriptor ` +
        `(VMware's are a few hundred bytes of text). If it is the data file of a flat vmdk (…-flat.vmdk), point source at ` +
        `its descriptor; if it is a raw disk image, set sourceFormat: "raw".`,
    );
  }
  if (bytes.length < fileBytes)
    throw new Error(`parseVmdkFile: ${file} needs all of its ${fileBytes} bytes`);
  // QEMU reads the descriptor as a C string: it ends at the first NUL.
  const text = cString(bytes, "latin1");
  const createType = descriptorValue(text, "createType");
  const parentName = parentHint(bytes, 0);
  return {
    layout: "descriptor",
    descriptorInside: false,
    ...(createType !== undefined ? { createType } : {}),
    ...(parentName !== undefined ? { parentName } : {}),
    extents: descriptorExtents(text, file),
  };
}

/**
 * `parentFileNameHint="…"` as QEMU finds it: the first occurrence in the
 * 10 KiB from `offset` (up to a NUL), the value after the two characters
 * that follow the key, up to the next quote.
 */
function parentHint(bytes: Buffer, offset: number): string | undefined {
  const region = Buffer.alloc(PARENT_HINT_BYTES);
  bytes.copy(
    region,
    0,
    Math.min(offset, bytes.length),
    Math.min(offset + PARENT_HINT_BYTES, bytes.length),
  );
  const text = cString(region, "latin1");
  const key = "parentFileNameHint";
  const at = text.indexOf(key);
  if (at < 0) return undefined;
  const start = at + key.length + 2;
  const end = text.indexOf('"', start);
  if (end < 0) return undefined; // QEMU fails to open such a file.
  return utf8(text.slice(start, end));
}

/** `key="value"` as QEMU's vmdk_parse_description finds it (the first occurrence of the key). */
function descriptorValue(text: string, key: string): string | undefined {
  const at = text.indexOf(key);
  if (at < 0) return undefined;
  const start = at + key.length + 2;
  const end = text.indexOf('"', start);
  return end < 0 ? undefined : text.slice(start, end);
}

const EXTENT_TYPES = ["FLAT", "SPARSE", "VMFS", "VMFSSPARSE", "SESPARSE"];

/**
 * The extents QEMU opens from a descriptor. QEMU runs
 * `sscanf(line, "%10s %ld %10s \"%511[^\n\r\"]\" %ld")` from the start of
 * every line (its whitespace skipping crosses line ends); a line counts
 * when its access is RW, its size positive and its type known. A line
 * QEMU rejects as invalid is refused here too.
 */
export function descriptorExtents(text: string, file: string): VmdkExtentRef[] {
  const extents: VmdkExtentRef[] = [];
  for (let p = 0; p < text.length;) {
    const line = scanExtentLine(text, p);
    const nl = text.indexOf("\n", p);
    const next = nl < 0 ? text.length : nl + 1;
    if (line.matches >= 4 && line.access === "RW") {
      // A FLAT extent needs its offset; any other line must end after the name.
      const invalid =
        line.type === "FLAT" ? line.matches !== 5 || (line.offset ?? -1) < 0 : line.matches !== 4;
      if (invalid) {
        throw new SourceImageError(
          `${file} has an extent line QEMU refuses: ${JSON.stringify(text.slice(p, next).trimEnd())}. ` +
            `The descriptor is damaged: copy it again from the original.`,
        );
      }
      if ((line.sectors ?? 0) > 0 && EXTENT_TYPES.includes(line.type ?? "")) {
        extents.push({ type: line.type as string, name: utf8(line.name as string) });
      }
    }
    p = next;
  }
  return extents;
}

interface ScannedLine {
  readonly matches: number;
  readonly access?: string;
  readonly sectors?: number;
  readonly type?: string;
  readonly name?: string;
  readonly offset?: number;
}

/** C's sscanf with the format of QEMU's extent lines, from `start`. */
function scanExtentLine(text: string, start: number): ScannedLine {
  let i = start;
  const space = (c: string | undefined) => c !== undefined && " \t\n\v\f\r".includes(c);
  const skip = () => {
    while (space(text[i])) i++;
  };
  const word = (max: number): string | undefined => {
    skip();
    const from = i;
    while (i < text.length && !space(text[i]) && i - from < max) i++;
    return i > from ? text.slice(from, i) : undefined;
  };
  const integer = (): number | undefined => {
    skip();
    const m = /^[+-]?\d+/.exec(text.slice(i, i + 32));
    if (!m) return undefined;
    i += m[0].length;
    return Number(m[0]);
  };
  const access = word(10);
  if (access === undefined) return { matches: 0 };
  const sectors = integer();
  if (sectors === undefined) return { matches: 1, access };
  const type = word(10);
  if (type === undefined) return { matches: 2, access, sectors };
  skip();
  if (text[i] !== '"') return { matches: 3, access, sectors, type };
  i++;
  const from = i;
  while (i < text.length && !'\n\r"'.includes(text[i]) && i - from < 511) i++;
  if (i === from) return { matches: 3, access, sectors, type };
  const name = text.slice(from, i);
  if (text[i] !== '"') return { matches: 4, access, sectors, type, name };
  i++;
  const offset = integer();
  return offset === undefined
    ? { matches: 4, access, sectors, type, name }
    : { matches: 5, access, sectors, type, name, offset };
}

/** The bytes up to the first NUL, as text (file names as UTF-8, descriptors byte for byte). */
function cString(bytes: Buffer, encoding: "utf8" | "latin1" = "utf8"): string {
  const end = bytes.indexOf(0);
  return bytes.toString(encoding, 0, end < 0 ? bytes.length : end);
}

/** A name read byte for byte (latin1), as the UTF-8 text QEMU's file names are. */
function utf8(latin1: string): string {
  return Buffer.from(latin1, "latin1").toString("utf8");
}

function damaged(file: string, why: string): SourceImageError {
  return new SourceImageError(
    `${file} is not a valid qcow2 image: ${why}. The file is damaged or incomplete: copy it again from the original.`,
  );
}

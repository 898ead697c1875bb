import { DOMParser, Element } from "@xmldom/xmldom";
import { SourceImageError } from "./errors";

/** One file inside a tar archive: where its data starts and how long it is. */
export interface TarMember {
  readonly name: string;
  readonly offset: number;
  readonly sizeBytes: number;
  /** Set for an entry that is not a regular file ("symbolic link", …): it holds no data of its own. */
  readonly special?: string;
}

/** What one 512-byte tar header block says. */
export type TarHeader =
  | { readonly kind: "end" }
  | { readonly kind: "file"; readonly name: string; readonly sizeBytes: number }
  /** A pax extended header ('x') or GNU long name ('L'): its data renames or resizes the next member. */
  | { readonly kind: "pax" | "longname"; readonly sizeBytes: number }
  /** A link, device or fifo entry: a name that holds no data of the archive. */
  | {
      readonly kind: "special";
      readonly name: string;
      readonly what: string;
      readonly sizeBytes: number;
    }
  /** Directories, global pax headers: skipped. */
  | { readonly kind: "other"; readonly sizeBytes: number };

export const TAR_BLOCK = 512;

/** Parses one tar header block (ustar, GNU and pax flavours). */
export function parseTarHeader(block: Buffer, archive: string): TarHeader {
  if (block.length < TAR_BLOCK) throw notTar(archive, "it ends in the middle of a header");
  if (block.every((b) => b === 0)) return { kind: "end" };
  const stored = octal(block, 148, 8);
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i];
  if (stored !== sum) throw notTar(archive, "a header's checksum does not match");
  const sizeBytes = size(block);
  const type = String.fromCharCode(block[156] || 48);
  const name = cString(block, 0, 100);
  const prefix = block.toString("latin1", 257, 262) === "ustar" ? cString(block, 345, 155) : "";
  switch (type) {
    case "0":
    case "7":
      return { kind: "file", name: prefix ? `${prefix}/${name}` : name, sizeBytes };
    case "x":
      return { kind: "pax", sizeBytes };
    case "L":
      return { kind: "longname", sizeBytes };
    case "1":
    case "2":
    case "3":
    case "4":
    case "6":
      return {
        kind: "special",
        name: prefix ? `${prefix}/${name}` : name,
        what: SPECIAL_ENTRIES[type],
        sizeBytes,
      };
    default:
      return { kind: "other", sizeBytes };
  }
}

const SPECIAL_ENTRIES: Readonly<Record<string, string>> = {
  "1": "hard link",
  "2": "symbolic link",
  "3": "character device",
  "4": "block device",
  "6": "fifo",
};

/** The `path=` and `size=` records of a pax extended header. */
export function parsePaxRecords(data: Buffer): { path?: string; sizeBytes?: number } {
  const out: { path?: string; sizeBytes?: number } = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number(data.toString("latin1", at, space));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = data.toString("utf8", space + 1, at + length - 1);
    const eq = record.indexOf("=");
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === "path") out.path = value;
    if (key === "size") out.sizeBytes = Number(value);
    at += length;
  }
  return out;
}

/** Where the next header starts after a member of `sizeBytes` whose header is at `headerOffset`. */
export function nextHeaderOffset(headerOffset: number, sizeBytes: number): number {
  return headerOffset + TAR_BLOCK + Math.ceil(sizeBytes / TAR_BLOCK) * TAR_BLOCK;
}

/** A disk of the OVF descriptor's DiskSection, joined with its References entry. */
export interface OvfDisk {
  readonly diskId: string;
  /** The file in the archive (References/File/@href). */
  readonly href: string;
  readonly capacityBytes?: number;
  /** The OVF format URI, e.g. "…vmdk.html#streamOptimized". */
  readonly format?: string;
  /** "gzip" when the file is compressed inside the archive. */
  readonly compression?: string;
}

/** Reads the disks of an OVF envelope (OVF 1.x and 2.x), in DiskSection order. */
export function parseOvfDisks(xml: string, ovf: string): OvfDisk[] {
  const errors: string[] = [];
  let doc;
  try {
    doc = new DOMParser({
      onError: (level, message) => {
        if (level !== "warning") errors.push(message);
      },
    }).parseFromString(xml, "text/xml");
  } catch (e) {
    errors.push((e as Error).message);
  }
  if (errors.length > 0 || !doc?.documentElement || localName(doc.documentElement) !== "Envelope") {
    throw new SourceImageError(
      `${ovf} is not an OVF descriptor (${errors[0] ?? "no <Envelope> element"}). The OVA is damaged: export it again.`,
    );
  }
  const elements = Array.from(doc.getElementsByTagName("*"));
  const files = new Map<string, { href: string; compression?: string }>();
  for (const el of elements.filter((e) => localName(e) === "File")) {
    const id = attr(el, "id");
    const href = attr(el, "href");
    if (id && href) files.set(id, { href, compression: attr(el, "compression") });
  }
  return elements
    .filter((e) => localName(e) === "Disk")
    .map((el) => {
      const diskId = attr(el, "diskId") ?? "";
      const fileRef = attr(el, "fileRef");
      const file = fileRef === undefined ? undefined : files.get(fileRef);
      if (!file) {
        throw new SourceImageError(
          `${ovf} describes disk "${diskId}" with no file in its References (fileRef ${JSON.stringify(fileRef ?? null)}). ` +
            `A disk without content cannot be converted: export the appliance again.`,
        );
      }
      return {
        diskId,
        href: file.href,
        capacityBytes: capacity(attr(el, "capacity"), attr(el, "capacityAllocationUnits")),
        format: attr(el, "format"),
        compression: file.compression,
      };
    });
}

/** One line of an OVA manifest: `SHA256(disk1.vmdk)= <hex>`. */
export interface ManifestEntry {
  readonly algorithm: "SHA1" | "SHA256" | "SHA512";
  readonly file: string;
  readonly digest: string;
}

/** The program that computes each manifest algorithm. */
export const DIGEST_TOOLS = { SHA1: "sha1sum", SHA256: "sha256sum", SHA512: "sha512sum" } as const;

/** Parses an OVA manifest (.mf); refuses lines it does not understand. */
export function parseManifest(text: string, mf: string): ManifestEntry[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const m = /^\s*(SHA1|SHA256|SHA512)\s*\((.+)\)\s*=\s*([0-9A-Fa-f]+)\s*$/.exec(line);
      if (!m) {
        throw new SourceImageError(
          `${mf} has a line that is not a checksum (expected "SHA256(file)= hex"): ${JSON.stringify(line)}. ` +
            `The OVA is damaged: export it again.`,
        );
      }
      return {
        algorithm: m[1] as ManifestEntry["algorithm"],
        file: m[2],
        digest: m[3].toLowerCase(),
      };
    });
}

/** The hex digest in `sha256sum`'s output ("<hex>  -"). */
export function parseDigestOutput(stdout: string): string {
  return stdout.trim().split(/\s+/)[0].toLowerCase();
}

/**
 * The disk of an OVA to convert. A single disk is taken; with several, the
 * caller must name one (`ovaDisk`): converting the first silently would drop
 * the others, the very mistake this component exists to avoid.
 */
export function chooseOvaDisk(
  disks: readonly OvfDisk[],
  ovaDisk: string | undefined,
  ova: string,
): OvfDisk {
  if (disks.length === 0) {
    throw new SourceImageError(
      `${ova} holds no disk: its OVF descriptor has no Disk in its DiskSection. Export the appliance again with its disks.`,
    );
  }
  const list = disks.map((d) => `"${d.diskId}" (${d.href})`).join(", ");
  if (ovaDisk === undefined) {
    if (disks.length === 1) return disks[0];
    throw new SourceImageError(
      `${ova} holds ${disks.length} disks: ${list}. A ConvertedVolume makes one volume: ` +
        `declare one ConvertedVolume per disk, each with ovaDisk set to the disk's id or file name.`,
    );
  }
  const chosen = disks.find((d) => d.diskId === ovaDisk || d.href === ovaDisk);
  if (!chosen) {
    throw new SourceImageError(
      `${ova} has no disk ${JSON.stringify(ovaDisk)} (ovaDisk); its disks: ${list}.`,
    );
  }
  return chosen;
}

function localName(el: Element): string {
  return el.localName ?? el.nodeName.replace(/^.*:/, "");
}

/** An attribute by its local name, whatever namespace prefix (ovf:, none) it carries. */
function attr(el: Element, name: string): string | undefined {
  for (const a of Array.from(el.attributes)) {
    if ((a.localName ?? a.name.replace(/^.*:/, "")) === name) return a.value;
  }
  return undefined;
}

function capacity(value: string | undefined, units: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const m = /^byte\s*\*\s*2\^(\d+)$/.exec((units ?? "byte").trim());
  if ((units ?? "byte").trim() === "byte") return Number(value);
  return m ? Number(value) * 2 ** Number(m[1]) : undefined;
}

function cString(block: Buffer, at: number, length: number): string {
  const raw = block.subarray(at, at + length);
  const end = raw.indexOf(0);
  return raw.toString("utf8", 0, end < 0 ? length : end);
}

function octal(block: Buffer, at: number, length: number): number {
  const text = cString(block, at, length).trim();
  return text === "" ? 0 : parseInt(text, 8);
}

/** The size field: octal, or GNU base-256 for sizes of 8 GiB and more. */
function size(block: Buffer): number {
  if (block[124] & 0x80) {
    let n = 0;
    for (let i = 125; i < 136; i++) n = n * 256 + block[i];
    return n;
  }
  return octal(block, 124, 12);
}

function notTar(archive: string, why: string): SourceImageError {
  return new SourceImageError(
    `${archive} is not a valid OVA (a tar archive): ${why}. The file is damaged or incomplete: copy or export it again.`,
  );
}

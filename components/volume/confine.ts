/**
 * The rules that keep an image inside itself. The provider may run as root
 * and reads images that came from elsewhere, so every file the conversion
 * opens must be a regular file in the source's own folder, and its format
 * must be known before QEMU opens it, never guessed from the content (which
 * a guest can write): from `sourceFormat`, from the file's name, or as its
 * child records it, with the content agreeing. Pure: the caller finds the
 * files (see source-files.ts).
 */
import * as path from "path";
import { SourceImageError } from "./errors";
import { Qcow2Header, VmdkFile } from "./image-refs";

/** The formats a link of a chain can have. */
export type ImageFormat = "vmdk" | "qcow2" | "raw";
export const IMAGE_FORMATS: readonly ImageFormat[] = ["vmdk", "qcow2", "raw"];

/** Names that say the format. */
const NAMED_FORMATS: Readonly<Record<string, ImageFormat>> = {
  ".vmdk": "vmdk",
  ".qcow2": "qcow2",
  ".qcow": "qcow2",
  ".raw": "raw",
};

/** Names of disk images that do not say which format: raw when the content has no image header. */
const DISK_IMAGE_NAMES: readonly string[] = [".img", ".bin"];

/** The format a file's name says, if it says one. */
export function nameFormat(file: string): ImageFormat | undefined {
  return NAMED_FORMATS[path.posix.extname(file).toLowerCase()];
}

/**
 * The format of the source (or of an OVA's disk, `file` then being its name
 * in the archive): `sourceFormat` when given, else its name's, the content
 * (the signature of its first bytes, see signatureFormat) agreeing. A name
 * such as `.img` says "a disk image": raw when the content has no image
 * header; with one, only sourceFormat can say which, since a raw disk's
 * guest can write any header at its first sector.
 */
export function pinSourceFormat(
  file: string,
  sourceFormat: ImageFormat | undefined,
  signature: string | undefined,
): ImageFormat {
  if (sourceFormat !== undefined) {
    checkContent(file, sourceFormat, signature, { by: "argument" });
    return sourceFormat;
  }
  const ext = path.posix.extname(file).toLowerCase();
  const named = NAMED_FORMATS[ext];
  if (named !== undefined) {
    checkContent(file, named, signature, { by: "name" });
    return named;
  }
  if (signature === undefined) {
    if (DISK_IMAGE_NAMES.includes(ext)) return "raw";
    throw notAnImage(file);
  }
  if (signature === "vmdk" || signature === "qcow2") {
    throw new SourceImageError(
      `${file} starts with a ${signature} header, but its name does not say its format ` +
        `(${ext === "" ? "it has no extension" : `"${ext}" can be raw or qcow2`}), and the format is never guessed from the content: ` +
        `a raw disk's guest can write such a header into its first sector. ` +
        `Set sourceFormat: "${signature}" if it is a ${signature} image, or sourceFormat: "raw" if it is a raw disk.`,
    );
  }
  throw unsupported(file, signature);
}

/** How a link's format became known: the argument, its name, or its child's record of it. */
export type FormatOrigin =
  | { readonly by: "argument" }
  | { readonly by: "name" }
  | { readonly by: "record"; readonly child: string };

/**
 * Checks that a file's content agrees with the format it is opened as: a
 * vmdk or qcow2 has that format's header; a raw image named so has none (a
 * header there means the wrong file). Raw as sourceFormat says, or as its
 * child records it, is read as raw whatever it holds.
 */
export function checkContent(
  file: string,
  format: ImageFormat,
  signature: string | undefined,
  origin: FormatOrigin,
): void {
  if (signature === format) return;
  if (format === "raw" && (signature === undefined || origin.by !== "name")) return;
  const content =
    signature === undefined
      ? "no disk image (it has no image format's header)"
      : `a ${signature} image`;
  switch (origin.by) {
    case "argument":
      throw new SourceImageError(
        `${file} is ${content}, but sourceFormat says ${format}. Check that this is the disk you mean; ` +
          `set sourceFormat to what it holds${signature === undefined ? ' ("raw" for a raw disk)' : ""}.`,
      );
    case "record":
      throw new SourceImageError(
        `${file} is ${content}, but ${origin.child} records it as its ${format} backing file: the chain does not ` +
          `describe one disk (a file replaced, or the wrong file under that name). Use the files exactly as they were made.`,
      );
    case "name": {
      if (signature === undefined) throw notAnImage(file);
      const ext = path.posix.extname(file).toLowerCase().slice(1);
      throw new SourceImageError(
        `${file} is a ${signature} image, but its name says ${ext}. A file whose content contradicts its name is usually ` +
          `the wrong file: check that this is the disk you mean, and rename it to match its content (e.g. .${signature}).`,
      );
    }
  }
}

/**
 * The format of a link's parent. A vmdk's parent is a vmdk (QEMU opens it
 * so). A qcow2 records its backing file's format; when it does not, the
 * parent's name must say it (QEMU would guess it from the content).
 */
export function pinParentFormat(
  child: string,
  childFormat: ImageFormat,
  parent: string,
  recorded: string | undefined,
  signature: string | undefined,
): ImageFormat {
  const named = nameFormat(parent);
  const format = childFormat === "vmdk" ? "vmdk" : recorded;
  if (format === undefined) {
    if (named === undefined) {
      throw new SourceImageError(
        `${child} names its backing file ${parent} without recording its format, and the file's name does not say it ` +
          `(.qcow2, .vmdk or .raw): QEMU would guess the format from the content, which a guest can write. ` +
          `Record it in a copy of ${path.posix.basename(child)}: qemu-img rebase -u -F <qcow2|raw> -b ${path.posix.basename(parent)} <copy>.`,
      );
    }
    checkContent(parent, named, signature, { by: "name" });
    return named;
  }
  if (!IMAGE_FORMATS.includes(format as ImageFormat)) {
    throw new SourceImageError(
      `${child} records its backing file ${parent} as a ${format} image; ConvertedVolume takes vmdk, qcow2 and raw links. ` +
        `Convert the chain with qemu-img first.`,
    );
  }
  if (named !== undefined && named !== format) {
    throw new SourceImageError(
      childFormat === "vmdk"
        ? `${child} is a VMware snapshot of ${parent}, whose name says ${named}: a VMware snapshot's parent must be a vmdk.`
        : `${child} records its backing file ${parent} as ${format}, but that file's name says ${named}: ` +
            `the chain does not describe one disk. Use the files exactly as they were made.`,
    );
  }
  checkContent(parent, format as ImageFormat, signature, { by: "record", child });
  return format as ImageFormat;
}

/** What a file names: the kinds of reference, as messages say them. */
export type Reference = "extent" | "parent" | "backing file";

const REFERENCE_TEXT: Readonly<Record<Reference, string>> = {
  extent: "the extent",
  parent: "the parent disk",
  "backing file": "the backing file",
};

/**
 * The path QEMU opens for a file name recorded in `owner` (relative names
 * are in owner's folder). Refuses names QEMU would not read as a plain
 * path: a `json:` specification or a protocol (`nbd:`, `http:`, `file:`…).
 */
export function referencedPath(owner: string, name: string, what: Reference): string {
  // QEMU's path_has_protocol: a colon before any slash.
  const protocol = /^[^:/\\]*:/.exec(name);
  if (protocol) {
    throw new SourceImageError(
      `${owner} names ${REFERENCE_TEXT[what]} ${JSON.stringify(name)}, ` +
        `${protocol[0] === "json:" ? "a QEMU json: specification" : `a QEMU "${protocol[0]}" protocol name`}, not a file: ` +
        `ConvertedVolume opens only plain files in the source's own folder, so that an image cannot make it read other files ` +
        `or devices of the host. Use an image that names its files by file name alone.`,
    );
  }
  return name.startsWith("/") ? name : `${path.posix.dirname(owner)}/${name}`;
}

/** A file a link names, as found on the host. */
export interface FoundReference {
  /** The file that names it. */
  readonly owner: string;
  readonly what: Reference;
  /** The name as recorded. */
  readonly name: string;
  /** The path QEMU opens (referencedPath). */
  readonly named: string;
  /** Its real path (every symbolic link resolved); undefined when it does not exist. */
  readonly real?: string;
  /** `stat -c %F` of the real path: "regular file", "block special file", … */
  readonly type?: string;
}

/**
 * Refuses a referenced file that is missing, outside the source's folder
 * (`folder`, a real path) or not a regular file.
 */
export function checkReference(ref: FoundReference, folder: string, hostLabel: string): void {
  const what = REFERENCE_TEXT[ref.what];
  if (ref.real === undefined) {
    if (ref.what === "extent") {
      throw new SourceImageError(
        `${ref.owner} names ${what} ${ref.named}, which does not exist on ${hostLabel}: the disk is incomplete. ` +
          `Keep the descriptor and every extent file it names (…-flat.vmdk, …-s001.vmdk) together in one folder, as VMware left them.`,
      );
    }
    throw new SourceImageError(
      `${ref.owner} is a snapshot of ${ref.named}, which does not exist on ${hostLabel}: the chain is broken. ` +
        `Keep every file of the chain (the base .vmdk and each -0000NN.vmdk delta) together in one folder, as VMware left them.`,
    );
  }
  const linked = path.posix.normalize(ref.named) !== ref.real;
  const named = `${ref.owner} names ${what} ${JSON.stringify(ref.name)}`;
  if (path.posix.dirname(ref.real) !== folder) {
    throw new SourceImageError(
      `${named}${linked ? `, a symbolic link to ${ref.real}, which is` : `: ${ref.real} is`} outside the source's folder ${folder}. ` +
        `ConvertedVolume opens only files in the source's own folder, so that an image cannot make it read other files ` +
        `or devices of the host. Keep every file of the image in one folder, each naming the next by file name alone, as VMware leaves them.`,
    );
  }
  if (ref.type !== "regular file") {
    throw new SourceImageError(
      `${named}, which is ${linked ? "a symbolic link to " : ""}a ${ref.type} (${ref.real}), not a regular file: ` +
        `ConvertedVolume reads image files only, never devices or other special files.`,
    );
  }
}

/**
 * Refuses a source that is not a regular file in its own folder (`folder`,
 * the real path of the folder it is named in): a symbolic link to a file
 * elsewhere, a device.
 */
export function checkSourceFile(source: string, real: string, type: string, folder: string): void {
  if (path.posix.dirname(real) !== folder) {
    throw new SourceImageError(
      `${source} is a symbolic link to ${real}, outside its folder ${folder}: an image's files are read only from its own folder. ` +
        `Point source at the image itself (${real}).`,
    );
  }
  if (type !== "regular file") {
    throw new SourceImageError(
      `${source} is a ${type}, not an image file. Point source at the .vmdk, .ova, qcow2 or raw file itself.`,
    );
  }
}

/** A qcow2 whose data lives in another file is refused before QEMU opens it. */
export function refuseDataFile(file: string, name: string | undefined): never {
  throw new SourceImageError(
    `${file} keeps its data in an external data file${name === undefined ? "" : ` (${JSON.stringify(name)})`}, ` +
      `which ConvertedVolume does not open: an image must hold its own data. ` +
      `Make a self-contained copy (qemu-img convert -O qcow2, after checking which file it names) and use the copy.`,
  );
}

/**
 * Refuses an image that names another file where none may be named: a disk
 * inside an OVA (it must hold its own data), or the file a pass-through
 * copy made (its source named none when it was checked, so it was replaced
 * while it was copied).
 */
export function checkStandsAlone(
  file: string,
  parsed: { readonly vmdk?: VmdkFile; readonly qcow2?: Qcow2Header },
  where: "ova" | "copy",
): void {
  const { vmdk, qcow2 } = parsed;
  const names =
    vmdk?.layout === "descriptor" || vmdk?.descriptorInside
      ? "its data in other files (a vmdk descriptor)"
      : vmdk?.parentName !== undefined
        ? `a parent disk, ${JSON.stringify(vmdk.parentName)}`
        : qcow2?.backingName !== undefined
          ? `a backing file, ${JSON.stringify(qcow2.backingName)}`
          : qcow2?.dataFile !== undefined
            ? `an external data file${qcow2.dataFile.name === undefined ? "" : `, ${JSON.stringify(qcow2.dataFile.name)}`}`
            : undefined;
  if (names === undefined) return;
  throw new SourceImageError(
    where === "ova"
      ? `${file} names ${names}, outside the OVA: an OVA's disks must stand alone. Export the appliance again.`
      : `${file}, the copy just made, names ${names}, though its source named no other file when it was checked: ` +
          `the source was replaced while it was copied. The copy was discarded; run again.`,
  );
}

/**
 * Refuses a link that QEMU, opening it with its format pinned, reads
 * differently from how its bytes were read here: another backing file, an
 * external data file, other extents (`extents` undefined: not compared).
 * It cannot happen with the files as checked; it would mean that what
 * was checked is not what QEMU opens.
 */
export function checkQemuReport(
  file: string,
  report: Record<string, unknown>,
  expected: {
    readonly backingName?: string;
    readonly backingFormat?: string;
    readonly extents?: readonly string[];
  },
): void {
  const data =
    (report["format-specific"] as { data?: Record<string, unknown> } | undefined)?.data ?? {};
  const differences: string[] = [];
  const backing = report["backing-filename"] as string | undefined;
  if (backing !== expected.backingName)
    differences.push(`backing file ${JSON.stringify(backing ?? null)}`);
  const backingFormat = report["backing-filename-format"] as string | undefined;
  if (backingFormat !== expected.backingFormat) {
    differences.push(`backing format ${JSON.stringify(backingFormat ?? null)}`);
  }
  if (data["data-file"] !== undefined)
    differences.push(`data file ${JSON.stringify(data["data-file"])}`);
  if (report["format"] === "vmdk" && expected.extents !== undefined) {
    const extents = ((data["extents"] as { filename?: string }[] | undefined) ?? []).map(
      (e) => e.filename,
    );
    if (JSON.stringify(extents) !== JSON.stringify(expected.extents)) {
      differences.push(`extents ${JSON.stringify(extents)}`);
    }
  }
  if (differences.length > 0) {
    throw new SourceImageError(
      `${file} is read by QEMU otherwise than it was checked (QEMU finds: ${differences.join(", ")}): ` +
        `refused, since what it names could not be checked.`,
    );
  }
}

function notAnImage(file: string): SourceImageError {
  return new SourceImageError(
    `${file} is not a disk image: it starts with no image format's header (QEMU would only read it as raw bytes). ` +
      `Point source at the .vmdk (the descriptor or the top snapshot), the .ova, or a qcow2 image; ` +
      `if it really is a raw disk image, give it a name ending in .raw or .img, or set sourceFormat: "raw".`,
  );
}

function unsupported(file: string, format: string): SourceImageError {
  return new SourceImageError(
    `${file} is a ${format} image; ConvertedVolume takes vmdk (VMware), OVA, qcow2 and raw images. ` +
      `Convert it with qemu-img first.`,
  );
}

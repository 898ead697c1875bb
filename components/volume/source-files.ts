/**
 * Finds every file the conversion will open, and checks it, before QEMU
 * opens any of them: the source, each parent it names, each extent a
 * descriptor names, each as a regular file in the source's own folder, its
 * format pinned (see confine.ts) and its references read from its own
 * bytes (see image-refs.ts). QEMU is then given the real paths and the
 * formats (see sourceName), so it never resolves a name or guesses a format.
 */
import * as path from "path";
import { CommandError } from "../core/errors";
import { HostAccess } from "../host/access";
import {
  checkReference,
  checkSourceFile,
  checkStandsAlone,
  FoundReference,
  ImageFormat,
  pinParentFormat,
  pinSourceFormat,
  Reference,
  referencedPath,
  refuseDataFile,
} from "./confine";
import { SourceImageError } from "./errors";
import { headerArgv, parseOdHex } from "./fingerprint";
import {
  parseQcow2Header,
  parseVmdkFile,
  PREFIX_BYTES,
  Qcow2Header,
  signatureFormat,
  VmdkFile,
} from "./image-refs";

/** The source file itself, checked: a readable regular file in its own folder. */
export interface FoundSource {
  /** The real path of the folder `source` is named in. */
  readonly folder: string;
  /** The source's real path (the same as source unless it is a link inside its folder). */
  readonly real: string;
  readonly sizeBytes: number;
}

/** A link of the chain, found and checked. */
export interface FoundLink {
  /** The path as the chain names it: the source, or a parent's name in its child's folder. */
  readonly file: string;
  /** Its real path: what QEMU opens. */
  readonly real: string;
  readonly format: ImageFormat;
  /** The format its first bytes announce (signatureFormat), when they announce one. */
  readonly signature?: string;
  readonly vmdk?: VmdkFile;
  readonly qcow2?: Qcow2Header;
  /** A descriptor's extent files, in order. */
  readonly extents: readonly FoundExtent[];
  /** The parent's name as this link records it. */
  readonly parentName?: string;
}

/** An extent file a vmdk descriptor names. */
export interface FoundExtent {
  /** Its path as the chain output names it (the name in the descriptor's folder). */
  readonly file: string;
  readonly real: string;
  /** The path QEMU opens: the name as the descriptor has it, joined to the descriptor's real folder. */
  readonly opened: string;
}

/** Chains longer than this are refused (VMware allows 32 snapshots). */
const MAX_LINKS = 64;

/** Checks the source file itself (see checkSourceFile): its real path, folder and size. */
export async function findSource(host: HostAccess, source: string): Promise<FoundSource> {
  const folder = await realPath(host, path.posix.dirname(source));
  const real = folder === undefined ? undefined : await realPath(host, source);
  if (folder === undefined || real === undefined) {
    throw new SourceImageError(
      `${source} does not exist on ${host.label}. Check the path: it is a path on the libvirt host, not on the machine that runs pulumi.`,
    );
  }
  const facts = await fileFacts(host, real);
  checkSourceFile(source, real, facts.type, folder);
  await requireReadable(host, source, real);
  return { folder, real, sizeBytes: facts.sizeBytes };
}

/**
 * The chain from `source` (checked by findSource) down to its base: each
 * link's format pinned, what it names read from its bytes and checked.
 * Throws SourceImageError naming the link and the reference.
 */
export async function findChain(
  host: HostAccess,
  source: string,
  found: FoundSource,
  sourceFormat: ImageFormat | undefined,
): Promise<FoundLink[]> {
  const links: FoundLink[] = [];
  let file = source;
  let real = found.real;
  let sizeBytes = found.sizeBytes;
  while (links.length < MAX_LINKS) {
    if (links.some((l) => l.real === real)) {
      throw new SourceImageError(
        `${links[links.length - 1].file} names ${file}, which is already a link of its own chain: the chain loops.`,
      );
    }
    const prefix = await readPrefix(host, real, Math.min(sizeBytes, PREFIX_BYTES));
    const signature = signatureFormat(prefix);
    const child = links[links.length - 1];
    const format =
      child === undefined
        ? pinSourceFormat(source, sourceFormat, signature)
        : pinParentFormat(child.file, child.format, file, child.qcow2?.backingFormat, signature);
    const link = await readLink(host, { file, real, format, prefix, sizeBytes }, found.folder);
    links.push(signature === undefined ? link : { ...link, signature });
    if (link.parentName === undefined) return links;
    const what: Reference = format === "vmdk" ? "parent" : "backing file";
    const parent = await findReference(host, file, link.parentName, what, found.folder);
    file = parent.file;
    real = parent.real;
    sizeBytes = parent.sizeBytes;
  }
  throw new SourceImageError(
    `${source} is the top of a chain of more than ${MAX_LINKS} links. Consolidate its snapshots first.`,
  );
}

/** What a link names: a vmdk's extents and parent, a qcow2's backing file (a data file is refused). */
async function readLink(
  host: HostAccess,
  l: { file: string; real: string; format: ImageFormat; prefix: Buffer; sizeBytes: number },
  folder: string,
): Promise<FoundLink> {
  switch (l.format) {
    case "vmdk": {
      const vmdk = parseVmdkFile(l.prefix, l.sizeBytes, l.file);
      refuseDescriptorInside(l.file, vmdk);
      const extents: FoundExtent[] = [];
      for (const e of vmdk.extents) {
        const extent = await findReference(host, l.file, e.name, "extent", folder);
        if (e.type === "SPARSE" || e.type === "VMFSSPARSE") {
          const head = await readPrefix(host, extent.real, Math.min(extent.sizeBytes, 512));
          if (head.toString("latin1", 0, 4) === "KDMV") {
            refuseDescriptorInside(extent.file, parseVmdkFile(head, head.length, extent.file));
          }
        }
        const opened = e.name.startsWith("/") ? e.name : `${path.posix.dirname(l.real)}/${e.name}`;
        extents.push({ file: extent.file, real: extent.real, opened });
      }
      return { ...pick(l), vmdk, extents, parentName: vmdk.parentName };
    }
    case "qcow2": {
      const qcow2 = await readQcow2Header(host, l.real, l.prefix, l.sizeBytes, l.file);
      if (qcow2.dataFile) refuseDataFile(l.file, qcow2.dataFile.name);
      return { ...pick(l), qcow2, extents: [], parentName: qcow2.backingName };
    }
    case "raw":
      return { ...pick(l), extents: [] };
  }
}

function pick(l: { file: string; real: string; format: ImageFormat }) {
  return { file: l.file, real: l.real, format: l.format };
}

function refuseDescriptorInside(file: string, vmdk: VmdkFile): void {
  if (vmdk.descriptorInside) {
    throw new SourceImageError(
      `${file} is a sparse vmdk whose header holds no disk (capacity 0) but a descriptor, which names other files: ` +
        `VMware does not write such files, and ConvertedVolume does not open them.`,
    );
  }
}

/** The qcow2 header, reading more of the file when its extensions or backing name lie further. */
export async function readQcow2Header(
  host: HostAccess,
  real: string,
  prefix: Buffer,
  sizeBytes: number,
  file: string,
): Promise<Qcow2Header> {
  let bytes = prefix;
  for (;;) {
    const parsed = parseQcow2Header(bytes, sizeBytes, file);
    if (!("needBytes" in parsed)) return parsed;
    bytes = await readPrefix(host, real, parsed.needBytes);
  }
}

/**
 * A file a link names, found and checked (checkReference): its path as the
 * chain names it, its real path and size.
 */
async function findReference(
  host: HostAccess,
  owner: string,
  name: string,
  what: Reference,
  folder: string,
): Promise<{ file: string; real: string; sizeBytes: number }> {
  const named = referencedPath(owner, name, what);
  const real = await realPath(host, named);
  const facts = real === undefined ? undefined : await fileFacts(host, real);
  const ref: FoundReference = { owner, what, name, named, real, type: facts?.type };
  checkReference(ref, folder, host.label);
  await requireReadable(host, named, real as string);
  return {
    file: path.posix.normalize(named),
    real: real as string,
    sizeBytes: (facts as { sizeBytes: number }).sizeBytes,
  };
}

/**
 * Checks that a disk inside an OVA (its first bytes `prefix`, `sizeBytes`
 * long, read from the archive by `read`) names no other file, and pins its
 * format from its name in the archive (or sourceFormat).
 */
export async function checkOvaDisk(
  key: string,
  memberName: string,
  sizeBytes: number,
  sourceFormat: ImageFormat | undefined,
  read: (length: number) => Promise<Buffer>,
): Promise<{ format: ImageFormat; vmdk?: VmdkFile }> {
  let bytes = await read(Math.min(sizeBytes, PREFIX_BYTES));
  const format = pinSourceFormat(memberName, sourceFormat, signatureFormat(bytes));
  if (format === "vmdk") {
    const vmdk = parseVmdkFile(bytes, sizeBytes, key);
    checkStandsAlone(key, { vmdk }, "ova");
    return { format, vmdk };
  }
  if (format === "qcow2") {
    for (;;) {
      const parsed = parseQcow2Header(bytes, sizeBytes, key);
      if (!("needBytes" in parsed)) {
        checkStandsAlone(key, { qcow2: parsed }, "ova");
        break;
      }
      bytes = await read(parsed.needBytes);
    }
  }
  return { format };
}

/**
 * Checks the file a pass-through copy made: a qcow2 that names no other
 * file (the source was checked, but it might have been swapped while it
 * was copied). Raw images name nothing.
 */
export async function checkMadeCopy(
  host: HostAccess,
  file: string,
  format: ImageFormat,
): Promise<void> {
  if (format !== "qcow2") return;
  const facts = await fileFacts(host, file);
  const prefix = await readPrefix(host, file, Math.min(facts.sizeBytes, PREFIX_BYTES));
  const qcow2 = await readQcow2Header(host, file, prefix, facts.sizeBytes, file);
  checkStandsAlone(file, { qcow2 }, "copy");
}

/** `realpath -e`: the file's path with every symbolic link resolved; undefined when it does not exist. */
async function realPath(host: HostAccess, file: string): Promise<string | undefined> {
  const argv = ["realpath", "-e", "-z", "--", file];
  const r = await host.run(argv, { allowFailure: true });
  if (r.exitCode === 0) return r.stdout.replace(/\0$/, "");
  if (/No such file|Not a directory/.test(r.stderr)) return undefined;
  if (/Permission denied/.test(r.stderr)) {
    throw new SourceImageError(
      `${file} cannot be read on ${host.label} (permission denied on a folder of its path). ` +
        `Give the user that runs qemu-img access to it.`,
    );
  }
  if (/Too many levels of symbolic links/.test(r.stderr)) {
    throw new SourceImageError(`${file} is a loop of symbolic links on ${host.label}.`);
  }
  throw new CommandError(argv, r.exitCode, r.stderr, host.label);
}

/** The type (`stat -c %F`, a regular file of size 0 included) and size of a real path. */
async function fileFacts(
  host: HostAccess,
  real: string,
): Promise<{ type: string; sizeBytes: number }> {
  const r = await host.run(["stat", "--printf", "%F\\0%s\\0", "--", real]);
  const [type, size] = r.stdout.split("\0");
  return { type: type === "regular empty file" ? "regular file" : type, sizeBytes: Number(size) };
}

async function requireReadable(host: HostAccess, named: string, real: string): Promise<void> {
  const r = await host.run(["test", "-r", real], { allowFailure: true });
  if (r.exitCode !== 0) {
    throw new SourceImageError(
      `${named} cannot be read on ${host.label} (permission denied). Give the user that runs qemu-img read access to it.`,
    );
  }
}

async function readPrefix(host: HostAccess, file: string, length: number): Promise<Buffer> {
  if (length === 0) return Buffer.alloc(0);
  return parseOdHex((await host.run(headerArgv(file, 0, length))).stdout);
}

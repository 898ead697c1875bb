import * as path from "path";
import { CommandError } from "../core/errors";
import { HostAccess } from "../host/access";
import { VolumeOptions } from "./args";
import {
  chainFiles,
  describeChain,
  ImageInfo,
  parseImageInfo,
  parseVmdkSparseHeader,
  selectLinks,
  validateChain,
  VmdkSparseHeader,
} from "./chain";
import { checkQemuReport } from "./confine";
import { checkArgv, infoArgv, SourceLink, sourceName } from "./convert-argv";
import { SourceImageError } from "./errors";
import {
  allocationMapDigest,
  FileFacts,
  FingerprintPart,
  HEADER_BYTES,
  headerArgv,
  mapArgv,
  parseOdHex,
  parseStat,
  shortDigest,
  sourceFingerprint,
  sourceIdentity,
  statArgv,
} from "./fingerprint";
import {
  chooseOvaDisk,
  DIGEST_TOOLS,
  nextHeaderOffset,
  parseDigestOutput,
  parseManifest,
  parseOvfDisks,
  parsePaxRecords,
  parseTarHeader,
  TAR_BLOCK,
  TarMember,
} from "./ova";
import { InspectedSource } from "./plan";
import { checkOvaDisk, findChain, findSource, FoundLink, FoundSource } from "./source-files";

export interface InspectOptions {
  /**
   * Check an OVA's manifest checksums (reads the whole archive). Done before
   * a conversion, not for a preview's fingerprint.
   */
  readonly verifyManifest: boolean;
}

/**
 * Inspects the source on the host, reading only metadata: `stat`, the first
 * bytes of each file, and then, once every file it names is found and
 * checked (see source-files.ts), `qemu-img info` and `qemu-img check` of
 * each link with its format pinned (plus, for an OVA and when asked, the
 * manifest's checksums). Throws SourceImageError naming the file and the
 * fix before anything is written.
 */
export async function inspectSource(
  host: HostAccess,
  options: Pick<VolumeOptions, "source" | "mode" | "ovaDisk" | "sourceFormat">,
  inspect: InspectOptions,
): Promise<InspectedSource> {
  const found = await findSource(host, options.source);
  const facts = await statFile(host, options.source);
  if (path.posix.extname(options.source).toLowerCase() === ".ova") {
    return inspectOva(host, options, facts, found, inspect);
  }
  const chain = await findChain(host, options.source, found, options.sourceFormat);
  const { links, open } = await readLinks(host, chain);
  const files = chainFiles(links);
  const allFacts = new Map<string, FileFacts>();
  for (const f of await statFiles(host, files)) allFacts.set(f.file, f);
  for (const f of files) await requireReadable(host, f);
  const headerBytes = new Map<string, Buffer>();
  const headers = new Map<string, VmdkSparseHeader | undefined>();
  for (const f of files) {
    const bytes = await readBytes(host, f, 0, HEADER_BYTES);
    headerBytes.set(f, bytes);
    headers.set(f, parseVmdkSparseHeader(bytes));
  }
  validateChain(links, headers);
  for (const link of links) await checkImage(host, open.get(link.file) as SourceLink, link.file);
  const selected = selectLinks(links, options.mode);
  const selectedOpen = selected.map((l) => open.get(l.file) as SourceLink);
  const linkOf = new Map(links.map((l) => [l.file, l]));
  const parts: FingerprintPart[] = [];
  for (const f of chainFiles(selected)) {
    const link = linkOf.get(f);
    parts.push({
      key: f,
      facts: allFacts.get(f) as FileFacts,
      header: headerBytes.get(f) as Buffer,
      link,
      allocationMap: link && (await allocationMap(host, link)),
    });
  }
  return {
    links,
    selected,
    input: sourceName(selectedOpen),
    inputFormat: selected[0].format,
    open: selectedOpen,
    chain: describeChain(selected, (f) => allFacts.get(f)?.allocatedBytes ?? 0),
    fingerprint: sourceFingerprint(parts),
    identity: sourceIdentity(parts),
  };
}

/**
 * A qcow2 or raw link's allocation map: with no CID to say that it was
 * written, which ranges hold data, and where, is the metadata that changes
 * when it is. A vmdk has its CID.
 */
async function allocationMap(host: HostAccess, link: ImageInfo): Promise<string | undefined> {
  if (link.format !== "qcow2" && link.format !== "raw") return undefined;
  const r = await host.run(mapArgv(link.file, link.format), { allowFailure: true });
  if (r.exitCode !== 0) throw explainOpenFailure(link.file, r.stderr, host.label);
  return allocationMapDigest(r.stdout);
}

/**
 * `qemu-img info` of each link found by findChain, alone and with its format
 * and files pinned, checked against what was read from its bytes; the links
 * as the chain output names them, and what QEMU is given for each.
 */
async function readLinks(
  host: HostAccess,
  found: readonly FoundLink[],
): Promise<{ links: ImageInfo[]; open: Map<string, SourceLink> }> {
  const links: ImageInfo[] = [];
  const open = new Map<string, SourceLink>();
  for (const [i, f] of found.entries()) {
    const pinned: SourceLink = {
      file: f.real,
      format: f.format,
      ...(f.vmdk
        ? { vmdk: { createType: f.vmdk.createType ?? "", extentFiles: f.extents.length } }
        : {}),
    };
    const r = await host.run(infoArgv(pinned), { allowFailure: true });
    if (r.exitCode !== 0) {
      throw explainOpenFailure(f.file, r.stderr, host.label, sourceName([pinned]));
    }
    checkQemuReport(f.file, JSON.parse(r.stdout), {
      backingName: f.parentName,
      backingFormat: recordedParentFormat(f),
      extents: f.vmdk?.layout === "descriptor" ? f.extents.map((e) => e.opened) : [f.real],
    });
    const [info] = parseImageInfo(r.stdout, path.posix.dirname(f.file));
    const parent = found[i + 1];
    links.push({
      ...info,
      file: f.file,
      format: f.format,
      backingFile: parent?.file,
      vmdk: info.vmdk && {
        ...info.vmdk,
        extents: f.vmdk?.layout === "descriptor" ? f.extents.map((e) => e.file) : [f.file],
      },
      ...(f.signature !== undefined && f.signature !== f.format
        ? { headerFormat: f.signature }
        : {}),
    });
    open.set(f.file, {
      ...pinned,
      ...(info.vmdk
        ? { vmdk: { createType: info.vmdk.createType, extentFiles: f.extents.length } }
        : {}),
    });
  }
  return { links, open };
}

/** The parent's format as QEMU reports the link records it: a vmdk's parent is a vmdk. */
function recordedParentFormat(link: FoundLink): string | undefined {
  if (link.format !== "vmdk") return link.qcow2?.backingFormat;
  return link.parentName === undefined ? undefined : "vmdk";
}

/**
 * `qemu-img check` (read-only, metadata only: the grain or L2 tables) finds
 * what opening does not, such as a vmdk truncated inside its data.
 */
async function checkImage(host: HostAccess, link: SourceLink, shown: string): Promise<void> {
  if (link.format !== "vmdk" && link.format !== "qcow2") return;
  const r = await host.run(checkArgv(link), { allowFailure: true });
  // 3: leaked clusters only (harmless, the data is intact).
  if (r.exitCode === 0 || r.exitCode === 3) return;
  const said = `${r.stdout}\n${r.stderr}`;
  if (/lock/.test(said)) throw explainOpenFailure(shown, r.stderr, host.label, sourceName([link]));
  const error = /^ERROR:? (.+)$/m.exec(said)?.[1] ?? said.trim().replace(/^qemu-img: /gm, "");
  throw new SourceImageError(
    `${shown} is damaged: qemu-img check finds "${error.trim()}". ` +
      `The file is truncated or damaged (an interrupted copy or download?): copy it again from the original.`,
  );
}

/** A failure of qemu-img to open `file` (given to it as `name`, its pinned json: name), explained. */
function explainOpenFailure(file: string, stderr: string, hostLabel: string, name?: string): Error {
  const said = (name === undefined ? stderr : stderr.split(name).join(file))
    .trim()
    .replace(/^qemu-img: /gm, "");
  if (/Failed to get (shared )?"?write"? lock|Is another process using the image/.test(stderr)) {
    return new SourceImageError(
      `${file} is in use: another process (a running VM?) holds it open for writing (${said}). ` +
        `Shut that VM down before converting: a copy of a disk that is being written is torn.`,
    );
  }
  if (/Permission denied/.test(stderr)) {
    return new SourceImageError(
      `${file} cannot be read on ${hostLabel} (${said}). Give the user that runs qemu-img read access to it.`,
    );
  }
  return new SourceImageError(
    `${file} cannot be opened as a disk image: ${said}. ` +
      `The file is damaged or incomplete (an interrupted copy or download?): copy it again from the original.`,
  );
}

async function statFile(host: HostAccess, file: string): Promise<FileFacts> {
  const r = await host.run(statArgv([file]), { allowFailure: true });
  if (r.exitCode !== 0) {
    if (/No such file|Not a directory/.test(r.stderr)) {
      throw new SourceImageError(
        `${file} does not exist on ${host.label}. Check the path: it is a path on the libvirt host, not on the machine that runs pulumi.`,
      );
    }
    if (/Permission denied/.test(r.stderr)) {
      throw new SourceImageError(
        `${file} cannot be read on ${host.label} (permission denied on a folder of its path). ` +
          `Give the user that runs qemu-img access to it.`,
      );
    }
    throw new CommandError(statArgv([file]), r.exitCode, r.stderr, host.label);
  }
  return parseStat(r.stdout, [file])[0];
}

async function statFiles(host: HostAccess, files: readonly string[]): Promise<FileFacts[]> {
  const r = await host.run(statArgv(files));
  return parseStat(r.stdout, files);
}

async function requireReadable(host: HostAccess, file: string): Promise<void> {
  const r = await host.run(["test", "-r", file], { allowFailure: true });
  if (r.exitCode !== 0) {
    throw new SourceImageError(
      `${file} cannot be read on ${host.label} (permission denied). Give the user that runs qemu-img read access to it.`,
    );
  }
}

/** Reads a byte range of a file on the host (through `od`: binary-safe over SSH too). */
export async function readBytes(
  host: HostAccess,
  file: string,
  offset: number,
  length: number,
): Promise<Buffer> {
  const r = await host.run(headerArgv(file, offset, length));
  return parseOdHex(r.stdout);
}

/**
 * The members of a tar archive, read header by header (only the headers
 * are read): its files, and its links and devices (marked `special`).
 */
export async function listTar(
  host: HostAccess,
  archive: string,
  sizeBytes: number,
): Promise<TarMember[]> {
  const members: TarMember[] = [];
  let offset = 0;
  let pendingName: string | undefined;
  let pendingSize: number | undefined;
  for (let count = 0; offset + TAR_BLOCK <= sizeBytes && count < 100_000; count++) {
    const header = parseTarHeader(await readBytes(host, archive, offset, TAR_BLOCK), archive);
    if (header.kind === "end") return members;
    const dataOffset = offset + TAR_BLOCK;
    if (header.kind === "pax" || header.kind === "longname") {
      const data = await readBytes(host, archive, dataOffset, Math.min(header.sizeBytes, 65536));
      if (header.kind === "pax") {
        const records = parsePaxRecords(data);
        pendingName = records.path ?? pendingName;
        pendingSize = records.sizeBytes ?? pendingSize;
      } else {
        pendingName = data.toString("utf8").replace(/\0.*$/s, "");
      }
      offset = nextHeaderOffset(offset, header.sizeBytes);
      continue;
    }
    const memberSize = pendingSize ?? header.sizeBytes;
    if (header.kind === "file" || header.kind === "special") {
      members.push({
        name: (pendingName ?? header.name).replace(/^\.\//, ""),
        offset: dataOffset,
        sizeBytes: memberSize,
        ...(header.kind === "special" ? { special: header.what } : {}),
      });
    }
    pendingName = undefined;
    pendingSize = undefined;
    offset = nextHeaderOffset(offset, memberSize);
    if (offset > sizeBytes) {
      throw new SourceImageError(
        `${archive} is truncated: its last member ends beyond the end of the file. Copy or export it again.`,
      );
    }
  }
  return members;
}

async function inspectOva(
  host: HostAccess,
  options: Pick<VolumeOptions, "source" | "mode" | "ovaDisk" | "sourceFormat">,
  ovaFacts: FileFacts,
  found: FoundSource,
  inspect: InspectOptions,
): Promise<InspectedSource> {
  const ova = options.source;
  const entries = await listTar(host, ova, ovaFacts.sizeBytes);
  // Links and devices hold no data of the archive: never read as one of its files.
  const members = entries.filter((m) => m.special === undefined);
  const ovf = members.find((m) => m.name.toLowerCase().endsWith(".ovf"));
  if (!ovf) {
    throw new SourceImageError(
      `${ova} holds no OVF descriptor (.ovf): it is not an OVA, or it is damaged. Export the appliance again.`,
    );
  }
  if (ovf.sizeBytes > 16 * 1024 * 1024) {
    throw new SourceImageError(
      `${ova}: its descriptor ${ovf.name} is ${ovf.sizeBytes} bytes, too large for an OVF descriptor.`,
    );
  }
  const ovfText = (await readBytes(host, ova, ovf.offset, ovf.sizeBytes)).toString("utf8");
  const disks = parseOvfDisks(ovfText, `${ova}#${ovf.name}`);
  const disk = chooseOvaDisk(disks, options.ovaDisk, ova);
  const special = entries.find((m) => m.name === disk.href && m.special !== undefined);
  if (special) {
    throw new SourceImageError(
      `${ova} describes disk "${disk.diskId}" in the file ${disk.href}, which the archive holds as a ${special.special}, ` +
        `not as a file: an OVA's disks must be files inside it. Export the appliance again.`,
    );
  }
  const member = members.find((m) => m.name === disk.href);
  if (!member) {
    throw new SourceImageError(
      `${ova} describes disk "${disk.diskId}" in the file ${disk.href}, which is not in the archive. ` +
        `The OVA is incomplete: export it again.`,
    );
  }
  if (disk.compression !== undefined && disk.compression !== "identity") {
    throw new SourceImageError(
      `${ova} stores ${disk.href} ${disk.compression}-compressed; ConvertedVolume reads disks in place. ` +
        `Unpack the OVA (tar -xf), decompress the disk and point source at the .vmdk.`,
    );
  }
  if (inspect.verifyManifest) await verifyManifest(host, ova, ovf, members);
  const key = `${ova}#${member.name}`;
  const { format, vmdk } = await checkOvaDisk(
    key,
    member.name,
    member.sizeBytes,
    options.sourceFormat,
    (length) => readBytes(host, ova, member.offset, length),
  );
  const pinned: SourceLink = {
    file: found.real,
    format,
    range: { offset: member.offset, sizeBytes: member.sizeBytes },
    ...(vmdk ? { vmdk: { createType: vmdk.createType ?? "", extentFiles: 0 } } : {}),
  };
  const r = await host.run(infoArgv(pinned), { allowFailure: true });
  if (r.exitCode !== 0) throw explainOpenFailure(key, r.stderr, host.label, sourceName([pinned]));
  checkQemuReport(key, JSON.parse(r.stdout), {});
  const links = parseImageInfo(r.stdout).map((l) => ({
    ...l,
    file: key,
    format,
    vmdk: l.vmdk ? { ...l.vmdk, extents: [] } : undefined,
  }));
  const open: SourceLink = {
    ...pinned,
    ...(links[0].vmdk ? { vmdk: { createType: links[0].vmdk.createType, extentFiles: 0 } } : {}),
  };
  const header = await readBytes(
    host,
    ova,
    member.offset,
    Math.min(HEADER_BYTES, member.sizeBytes),
  );
  validateChain(links, new Map([[key, parseVmdkSparseHeader(header)]]));
  await checkImage(host, open, key);
  const ovaHeader = await readBytes(host, ova, 0, HEADER_BYTES);
  // The manifest holds the exporter's own digest of every file: content, for the reading of a few lines.
  const mf = findManifest(ovf, members);
  const mfText = mf && (await readBytes(host, ova, mf.offset, Math.min(mf.sizeBytes, 1024 * 1024)));
  const digests = {
    ovf: shortDigest(ovfText),
    ...(mfText ? { mf: shortDigest(mfText) } : {}),
  };
  const parts: FingerprintPart[] = [
    { key: ova, facts: ovaFacts, header: ovaHeader, digests },
    { key, facts: { ...ovaFacts, sizeBytes: member.sizeBytes }, header, link: links[0] },
  ];
  return {
    links,
    selected: links,
    input: sourceName([open]),
    inputFormat: format,
    open: [open],
    chain: describeChain(links, () => member.sizeBytes),
    fingerprint: sourceFingerprint(parts),
    identity: sourceIdentity(parts),
    ovaMember: member.name,
  };
}

/** The OVA's manifest: the one named after its descriptor, else any `.mf`. */
function findManifest(ovf: TarMember, members: readonly TarMember[]): TarMember | undefined {
  const stem = ovf.name.replace(/\.ovf$/i, "");
  return (
    members.find((m) => m.name === `${stem}.mf`) ??
    members.find((m) => m.name.toLowerCase().endsWith(".mf"))
  );
}

/** Checks every checksum of the OVA's manifest (an OVA without a manifest has none to check). */
async function verifyManifest(
  host: HostAccess,
  ova: string,
  ovf: TarMember,
  members: readonly TarMember[],
): Promise<void> {
  const mf = findManifest(ovf, members);
  if (!mf) return;
  const text = (
    await readBytes(host, ova, mf.offset, Math.min(mf.sizeBytes, 1024 * 1024))
  ).toString("utf8");
  for (const entry of parseManifest(text, `${ova}#${mf.name}`)) {
    if (!members.some((m) => m.name === entry.file)) {
      throw new SourceImageError(
        `${ova}: its manifest ${mf.name} lists ${entry.file}, which is not in the archive. The OVA is incomplete: export it again.`,
      );
    }
    const tool = DIGEST_TOOLS[entry.algorithm];
    // tar feeds the member to the digest program on its stdin; the program name is fixed.
    const r = await host.run(
      [
        "tar",
        "-xf",
        ova,
        "--occurrence=1",
        "--no-wildcards",
        `--to-command=${tool}`,
        "--",
        entry.file,
      ],
      {
        timeoutMs: 24 * 3600 * 1000,
      },
    );
    const actual = parseDigestOutput(r.stdout);
    if (actual !== entry.digest) {
      throw new SourceImageError(
        `${ova}: ${entry.file} does not match its ${entry.algorithm} checksum in ${mf.name} ` +
          `(manifest ${entry.digest}, file ${actual}): the OVA is damaged or was altered. Download or export it again.`,
      );
    }
  }
}

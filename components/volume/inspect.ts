import * as path from "path";
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
import { infoArgv, SourceLink, sourceName } from "./convert-argv";
import {
  allocationMapDigest,
  FileFacts,
  FingerprintPart,
  HEADER_BYTES,
  mapArgv,
  sourceFingerprint,
  sourceIdentity,
} from "./fingerprint";
import { inspectOva } from "./inspect-ova";
import { InspectedSource } from "./plan";
import { findChain, findSource, FoundLink } from "./source-files";
import {
  checkImage,
  explainOpenFailure,
  readBytes,
  requireReadable,
  statFile,
  statFiles,
} from "./source-ops";

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
    return inspectOva(host, options, facts, found, inspect.verifyManifest);
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

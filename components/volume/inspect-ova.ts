import { HostAccess } from "../host/access";
import { VolumeOptions } from "./args";
import { describeChain, parseImageInfo, parseVmdkSparseHeader, validateChain } from "./chain";
import { checkQemuReport } from "./confine";
import { infoArgv, SourceLink, sourceName } from "./convert-argv";
import { SourceImageError } from "./errors";
import {
  FileFacts,
  FingerprintPart,
  HEADER_BYTES,
  shortDigest,
  sourceFingerprint,
  sourceIdentity,
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
import { checkOvaDisk, FoundSource } from "./source-files";
import { checkImage, explainOpenFailure, readBytes } from "./source-ops";

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

/** An OVA: its descriptor, the disk it names (a file inside the archive, read in place), its manifest. */
export async function inspectOva(
  host: HostAccess,
  options: Pick<VolumeOptions, "source" | "mode" | "ovaDisk" | "sourceFormat">,
  ovaFacts: FileFacts,
  found: FoundSource,
  checkManifest: boolean,
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
  if (checkManifest) await verifyManifest(host, ova, ovf, members);
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

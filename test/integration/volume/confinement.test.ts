/**
 * An image cannot reach outside itself: crafted vmdk descriptors, qcow2
 * headers, symbolic links, device nodes and OVAs that name files or devices
 * of the host are refused before anything is written, and the host's
 * secret (a root-only file with a marker) never reaches the pool.
 */
import { spawnSync } from "child_process";
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "fs";
import * as path from "path";
import { provider } from "../../../components/volume/provider";
import {
  checkAndCreate,
  checkFailures,
  HOST,
  identical,
  makePool,
  qemuImg,
  rmrf,
  sh,
  sha256,
  volumes,
  workDir,
} from "./helpers";

jest.setTimeout(120_000);

const MARKER = "NESTLAB-HOST-SECRET-7d41c0";
const MiB = 1024 ** 2;

const dir = workDir("confine");
chmodSync(dir, 0o755);
const pool = makePool(dir, "confine");
const outside = path.join(dir, "outside");
mkdirSync(outside);
/** A file only root may read, holding the marker at its start and in its middle: 1 MiB, a FLAT extent's size. */
const secret = path.join(outside, "secret.bin");
const secretBytes = Buffer.alloc(MiB);
secretBytes.write(MARKER, 0);
secretBytes.write(MARKER, MiB / 2);
writeFileSync(secret, secretBytes, { mode: 0o600 });
const secretHash = sha256(secret);
/** A vmdk outside the folder whose data is the secret. */
const outsideVmdk = path.join(outside, "base.vmdk");
qemuImg("convert", "-f", "raw", "-O", "vmdk", secret, outsideVmdk);
/** A loop device over a copy of the secret. */
const loopFile = path.join(outside, "loop.img");
writeFileSync(loopFile, secretBytes, { mode: 0o600 });
const loop = sh(["losetup", "--find", "--show", loopFile]).trim();

let folders = 0;
/** A fresh source folder for one case. */
function folder(): string {
  const f = path.join(dir, `src${++folders}`);
  mkdirSync(f);
  return f;
}

afterEach(() => {
  // A case that failed by converting must not leave its volume to the next.
  for (const f of readdirSync(pool.path)) rmrf(path.join(pool.path, f));
  volumes(pool.name);
});

afterAll(() => {
  spawnSync("losetup", ["-d", loop]);
  pool.remove();
  rmrf(dir);
});

/** A VMware text descriptor of `createType` with these extent lines (and a parent). */
function descriptor(createType: string, extents: string[], parent?: string): string {
  return [
    "# Disk DescriptorFile",
    "version=1",
    "CID=6a7e3c11",
    `parentCID=${parent === undefined ? "ffffffff" : "00000000"}`,
    `createType="${createType}"`,
    ...(parent === undefined ? [] : [`parentFileNameHint="${parent}"`]),
    "",
    "# Extent description",
    ...extents,
    "",
    "# The Disk Data Base",
    "#DDB",
    "",
    'ddb.virtualHWVersion = "4"',
    'ddb.geometry.cylinders = "2"',
    'ddb.geometry.heads = "16"',
    'ddb.geometry.sectors = "63"',
    'ddb.adapterType = "ide"',
    "",
  ].join("\n");
}

/** A block device node in `folder` for the loop device (what a crafted folder or USB stick can hold). */
function deviceNode(file: string, kind: "b" | "c", of: string): void {
  const rdev = statSync(of).rdev;
  sh(["mknod", file, kind, String(Math.floor(rdev / 256)), String(rdev % 256)]);
}

/** The marker in any file of the pool. */
function markerInPool(): string[] {
  return readdirSync(pool.path).filter((f) =>
    readFileSync(path.join(pool.path, f)).includes(Buffer.from(MARKER)),
  );
}

/**
 * check() refuses with exactly `message`, create() too; afterwards the
 * pool's folder holds nothing (no volume, no partial file), libvirt lists
 * nothing, the marker is nowhere, and the secret is unchanged.
 */
async function expectRefused(inputs: Record<string, unknown>, message: string): Promise<void> {
  const all = { pool: pool.name, volumeName: "crafted.qcow2", ...inputs };
  const created = await provider.create({ host: HOST, resourceName: "t", ...all }).then(
    () => "made a volume",
    (e: Error) => e.message,
  );
  // One comparison, so that a failure shows both what create did and whether the secret got in.
  expect({ create: created, marker: markerInPool() }).toEqual({ create: message, marker: [] });
  expect(await checkFailures(all)).toEqual([message]);
  expect(readdirSync(pool.path)).toEqual([]);
  expect(volumes(pool.name)).toEqual([]);
  expect(sha256(secret)).toBe(secretHash);
}

const WHY =
  "ConvertedVolume opens only files in the source's own folder, so that an image cannot make it read other files " +
  "or devices of the host. Keep every file of the image in one folder, each naming the next by file name alone, as VMware leaves them.";

function outsideMessage(
  owner: string,
  what: string,
  name: string,
  real: string,
  through = false,
): string {
  return (
    `source: ${owner} names ${what} ${JSON.stringify(name)}` +
    `${through ? `, a symbolic link to ${real}, which is` : `: ${real} is`} outside the source's folder ${path.dirname(owner)}. ${WHY}`
  );
}

function specialMessage(owner: string, what: string, name: string, type: string): string {
  return (
    `source: ${owner} names ${what} ${JSON.stringify(name)}, which is a ${type} (${path.join(path.dirname(owner), name)}), ` +
    `not a regular file: ConvertedVolume reads image files only, never devices or other special files.`
  );
}

describe("a vmdk descriptor cannot name files outside its folder", () => {
  test("monolithicFlat with an absolute extent: a root-only file", async () => {
    const f = folder();
    const desc = path.join(f, "flat.vmdk");
    writeFileSync(desc, descriptor("monolithicFlat", [`RW 2048 FLAT "${secret}" 0`]));
    await expectRefused({ source: desc }, outsideMessage(desc, "the extent", secret, secret));
  });

  test("twoGbMaxExtentFlat whose second extent is /dev/zero", async () => {
    const f = folder();
    const desc = path.join(f, "split.vmdk");
    writeFileSync(path.join(f, "split-f001.vmdk"), Buffer.alloc(MiB));
    writeFileSync(
      desc,
      descriptor("twoGbMaxExtentFlat", [
        'RW 2048 FLAT "split-f001.vmdk" 0',
        'RW 2048 FLAT "/dev/zero" 0',
      ]),
    );
    await expectRefused(
      { source: desc },
      outsideMessage(desc, "the extent", "/dev/zero", "/dev/zero"),
    );
  });

  test("vmfs whose extent is a block device (a loop device over the secret)", async () => {
    const f = folder();
    const desc = path.join(f, "esx.vmdk");
    writeFileSync(desc, descriptor("vmfs", [`RW 2048 VMFS "${loop}"`]));
    await expectRefused({ source: desc }, outsideMessage(desc, "the extent", loop, loop));
  });

  test("an extent that is a device node inside the folder", async () => {
    const f = folder();
    const desc = path.join(f, "node.vmdk");
    deviceNode(path.join(f, "node-flat.vmdk"), "b", loop);
    writeFileSync(desc, descriptor("monolithicFlat", ['RW 2048 FLAT "node-flat.vmdk" 0']));
    await expectRefused(
      { source: desc },
      specialMessage(desc, "the extent", "node-flat.vmdk", "block special file"),
    );
  });

  test('a relative extent that climbs out with "../"', async () => {
    const f = folder();
    const desc = path.join(f, "climb.vmdk");
    const name = "../outside/secret.bin";
    writeFileSync(desc, descriptor("monolithicFlat", [`RW 2048 FLAT "${name}" 0`]));
    await expectRefused({ source: desc }, outsideMessage(desc, "the extent", name, secret));
  });

  test("an extent that is a symbolic link in the folder to a file outside it", async () => {
    const f = folder();
    const desc = path.join(f, "linked.vmdk");
    symlinkSync(secret, path.join(f, "linked-flat.vmdk"));
    writeFileSync(desc, descriptor("monolithicFlat", ['RW 2048 FLAT "linked-flat.vmdk" 0']));
    await expectRefused(
      { source: desc },
      outsideMessage(desc, "the extent", "linked-flat.vmdk", secret, true),
    );
  });

  test("a sparse vmdk of capacity 0 whose embedded descriptor names the secret", async () => {
    const f = folder();
    const file = path.join(f, "hollow.vmdk");
    qemuImg("create", "-q", "-f", "vmdk", file, "1M");
    const bytes = readFileSync(file);
    bytes.writeBigUInt64LE(0n, 12); // capacity
    const at = Number(bytes.readBigUInt64LE(28)) * 512; // the embedded descriptor
    bytes.fill(0, at, at + Number(bytes.readBigUInt64LE(36)) * 512);
    bytes.write(descriptor("monolithicFlat", [`RW 2048 FLAT "${secret}" 0`]), at, "latin1");
    writeFileSync(file, bytes);
    await expectRefused(
      { source: file },
      `source: ${file} is a sparse vmdk whose header holds no disk (capacity 0) but a descriptor, which names other files: ` +
        `VMware does not write such files, and ConvertedVolume does not open them.`,
    );
  });

  test("a snapshot whose parentFileNameHint is a vmdk outside the folder", async () => {
    const f = folder();
    const top = path.join(f, "delta-000001.vmdk");
    qemuImg("create", "-q", "-f", "vmdk", "-b", outsideVmdk, "-F", "vmdk", top);
    await expectRefused(
      { source: top },
      outsideMessage(top, "the parent disk", outsideVmdk, outsideVmdk),
    );
  });

  test("a source that is a symbolic link to an image outside its folder", async () => {
    const f = folder();
    const link = path.join(f, "disk.vmdk");
    symlinkSync(outsideVmdk, link);
    await expectRefused(
      { source: link },
      `source: ${link} is a symbolic link to ${outsideVmdk}, outside its folder ${f}: an image's files are read only from ` +
        `its own folder. Point source at the image itself (${outsideVmdk}).`,
    );
  });
});

describe("a qcow2 cannot name files outside its folder, nor leave its backing format to a guess", () => {
  test("a json: backing file name", async () => {
    const f = folder();
    const top = path.join(f, "json.qcow2");
    const name = `json:{"driver":"raw","file":{"driver":"file","filename":"${secret}"}}`;
    qemuImg("create", "-q", "-f", "qcow2", "-b", name, "-F", "raw", top, "1M");
    await expectRefused(
      { source: top },
      `source: ${top} names the backing file ${JSON.stringify(name)}, a QEMU json: specification, not a file: ` +
        `ConvertedVolume opens only plain files in the source's own folder, so that an image cannot make it read other files ` +
        `or devices of the host. Use an image that names its files by file name alone.`,
    );
  });

  test("an external data file (data-file), passed through or converted", async () => {
    const f = folder();
    const top = path.join(f, "data.qcow2");
    writeFileSync(path.join(f, "data.raw"), Buffer.alloc(MiB));
    qemuImg("create", "-q", "-f", "qcow2", "-o", "data_file=data.raw,data_file_raw=on", top, "1M");
    qemuImg("amend", "-f", "qcow2", "-o", `data_file=${secret}`, top);
    const message =
      `source: ${top} keeps its data in an external data file (${JSON.stringify(secret)}), which ConvertedVolume does not open: ` +
      `an image must hold its own data. Make a self-contained copy (qemu-img convert -O qcow2, after checking which file it names) and use the copy.`;
    await expectRefused({ source: top }, message);
    await expectRefused({ source: top, convert: true }, message);
  });

  test("a backing file outside the folder, by absolute path", async () => {
    const f = folder();
    const top = path.join(f, "abs.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", top, "1M");
    await expectRefused({ source: top }, outsideMessage(top, "the backing file", secret, secret));
  });

  test("a backing file that is a character device node inside the folder", async () => {
    const f = folder();
    const top = path.join(f, "dev.qcow2");
    deviceNode(path.join(f, "zero.raw"), "c", "/dev/zero");
    qemuImg("create", "-q", "-f", "qcow2", "-b", "zero.raw", "-F", "raw", "-u", top, "1M");
    await expectRefused(
      { source: top },
      specialMessage(top, "the backing file", "zero.raw", "character special file"),
    );
  });

  test("a backing file whose format is not recorded is not probed", async () => {
    const f = folder();
    // The parent: a raw disk whose guest wrote a qcow2 header naming the secret.
    const base = path.join(f, "base.img");
    qemuImg("create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", base, "1M");
    const top = path.join(f, "top.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-b", "base.img", "-F", "raw", top, "1M");
    // Drop the backing format extension (as an old qemu-img left images): QEMU would probe base.img.
    const bytes = readFileSync(top);
    const ext = bytes.indexOf(Buffer.from([0xe2, 0x79, 0x2a, 0xca]));
    expect(ext).toBeGreaterThan(0);
    bytes.writeUInt32BE(0x6e6c7478, ext); // an unknown extension: QEMU skips it
    writeFileSync(top, bytes);
    expect(JSON.parse(qemuImg("info", "--output=json", "-f", "qcow2", top))).not.toHaveProperty(
      "backing-filename-format",
    );
    await expectRefused(
      { source: top },
      `source: ${top} names its backing file ${base} without recording its format, and the file's name does not say it ` +
        `(.qcow2, .vmdk or .raw): QEMU would guess the format from the content, which a guest can write. ` +
        `Record it in a copy of top.qcow2: qemu-img rebase -u -F <qcow2|raw> -b base.img <copy>.`,
    );
  });
});

describe("a raw disk is never re-read as another format", () => {
  test("an .img whose guest wrote a qcow2 header is refused until sourceFormat says which; as raw it is its own bytes", async () => {
    const f = folder();
    const disk = path.join(f, "guest.img");
    qemuImg("create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", disk, "1M");
    await expectRefused(
      { source: disk },
      `source: ${disk} starts with a qcow2 header, but its name does not say its format (".img" can be raw or qcow2), ` +
        `and the format is never guessed from the content: a raw disk's guest can write such a header into its first sector. ` +
        `Set sourceFormat: "qcow2" if it is a qcow2 image, or sourceFormat: "raw" if it is a raw disk.`,
    );
    // As a raw disk it is its own bytes, never the secret its header names; converted to qcow2,
    // since libvirt would take a raw volume with a qcow2 header for a qcow2.
    const made = await checkAndCreate({ source: disk, pool: pool.name, sourceFormat: "raw" });
    expect(made.outs).toMatchObject({ format: "qcow2", volumeName: "t.qcow2" });
    expect(identical(disk, "raw", made.id, "qcow2")).toBe(true);
    expect(JSON.parse(qemuImg("info", "--output=json", made.id))).not.toHaveProperty(
      "backing-filename",
    );
    // Said to be qcow2, its backing file is still checked: outside the folder.
    expect(await checkFailures({ source: disk, pool: pool.name, sourceFormat: "qcow2" })).toEqual([
      outsideMessage(disk, "the backing file", secret, secret),
    ]);
    await provider.delete(made.id, made.outs);
    expect(markerInPool()).toEqual([]);
  });

  test("a .raw whose content is a qcow2 is refused (this was already so)", async () => {
    const f = folder();
    const disk = path.join(f, "disk.raw");
    qemuImg("create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", disk, "1M");
    await expectRefused(
      { source: disk },
      `source: ${disk} is a qcow2 image, but its name says raw. A file whose content contradicts its name is usually ` +
        `the wrong file: check that this is the disk you mean, and rename it to match its content (e.g. .qcow2).`,
    );
  });
});

describe("an OVA's disk cannot reach outside the OVA", () => {
  function ovaWith(f: string, disk: string, prepare: (memberPath: string) => void): string {
    const stage = path.join(f, "stage");
    mkdirSync(stage);
    writeFileSync(
      path.join(stage, "lab.ovf"),
      `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References><File ovf:id="file1" ovf:href="${disk}"/></References>
  <DiskSection><Info>Virtual disk information</Info><Disk ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1"/></DiskSection>
</Envelope>
`,
    );
    prepare(path.join(stage, disk));
    const ova = path.join(f, "lab.ova");
    sh(["tar", "-C", stage, "-cf", ova, "lab.ovf", disk]);
    return ova;
  }

  test("a disk member that is a symbolic link to the secret (refused already: it was never unpacked)", async () => {
    const f = folder();
    const ova = ovaWith(f, "lab-disk1.vmdk", (m) => symlinkSync(secret, m));
    expect(sh(["tar", "-tvf", ova])).toContain(`lab-disk1.vmdk -> ${secret}`);
    await expectRefused(
      { source: ova },
      `source: ${ova} describes disk "vmdisk1" in the file lab-disk1.vmdk, which the archive holds as a symbolic link, ` +
        `not as a file: an OVA's disks must be files inside it. Export the appliance again.`,
    );
  });

  test("a disk that names a parent disk outside the OVA", async () => {
    const f = folder();
    const ova = ovaWith(f, "lab-disk1.vmdk", (m) =>
      qemuImg("create", "-q", "-f", "vmdk", "-b", outsideVmdk, "-F", "vmdk", m),
    );
    await expectRefused(
      { source: ova },
      `source: ${ova}#lab-disk1.vmdk names a parent disk, ${JSON.stringify(outsideVmdk)}, outside the OVA: ` +
        `an OVA's disks must stand alone. Export the appliance again.`,
    );
  });
});

describe("what stays in the folder is still converted", () => {
  test("a flat vmdk, a qcow2 chain and a link inside the folder", async () => {
    const f = folder();
    const desc = path.join(f, "flat.vmdk");
    qemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", desc, "2M");
    sh(["qemu-io", "-f", "vmdk", "-c", "write -P 0x3c 512k 64k", desc]);
    const flat = await checkAndCreate({ source: desc, pool: pool.name, volumeName: "flat.qcow2" });
    expect(identical(desc, "vmdk", flat.id, "qcow2")).toBe(true);
    const base = path.join(f, "base.qcow2");
    const top = path.join(f, "top.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", base, "2M");
    sh(["qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 64k", base]);
    qemuImg("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", top);
    sh(["qemu-io", "-f", "qcow2", "-c", "write -P 0x22 1M 64k", top]);
    const chain = await checkAndCreate({ source: top, pool: pool.name, volumeName: "chain.qcow2" });
    expect(identical(top, "qcow2", chain.id, "qcow2")).toBe(true);
    expect(identical(base, "qcow2", chain.id, "qcow2")).toBe(false);
    symlinkSync("top.qcow2", path.join(f, "current.qcow2"));
    expect(await checkFailures({ source: path.join(f, "current.qcow2"), pool: pool.name })).toEqual(
      [],
    );
    for (const v of [flat, chain]) await provider.delete(v.id, v.outs);
  });
});

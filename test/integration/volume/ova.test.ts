import { writeFileSync } from "fs";
import * as path from "path";
import { provider } from "../../../components/volume/provider";
import {
  checkAndCreate,
  checkFailures,
  identical,
  makePool,
  qemuImg,
  rmrf,
  sh,
  sha256,
  sourceState,
  volumes,
  workDir,
  writeData,
} from "./helpers";

jest.setTimeout(120_000);

const dir = workDir("ova");
const pool = makePool(dir, "ova");

afterAll(() => {
  pool.remove();
  rmrf(dir);
});

function ovf(disks: string[]): string {
  const files = disks.map((d, i) => `<File ovf:id="file${i + 1}" ovf:href="${d}"/>`).join("");
  const diskEls = disks
    .map(
      (_, i) =>
        `<Disk ovf:capacity="64" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk${i + 1}" ovf:fileRef="file${i + 1}"/>`,
    )
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References>${files}</References>
  <DiskSection><Info>Virtual disk information</Info>${diskEls}</DiskSection>
</Envelope>
`;
}

/** An OVA as VMware exports it: the .ovf first, then the .mf, then streamOptimized disks. */
function makeOva(
  name: string,
  disks: string[],
  options: { corruptDigestOf?: string } = {},
): { ova: string; folder: string } {
  const folder = path.join(dir, name);
  sh(["mkdir", "-p", folder]);
  disks.forEach((d, i) => {
    const f = path.join(folder, d);
    qemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=streamOptimized", f, "64M");
    writeData(f, "vmdk", 0x10 + i, [i, 20 + i]);
  });
  writeFileSync(path.join(folder, `${name}.ovf`), ovf(disks));
  const lines = [`${name}.ovf`, ...disks].map((f) => {
    const digest = f === options.corruptDigestOf ? "0".repeat(64) : sha256(path.join(folder, f));
    return `SHA256(${f})= ${digest}\n`;
  });
  writeFileSync(path.join(folder, `${name}.mf`), lines.join(""));
  const ova = path.join(dir, `${name}.ova`);
  sh(["tar", "-C", folder, "-cf", ova, `${name}.ovf`, `${name}.mf`, ...disks]);
  return { ova, folder };
}

describe("ConvertedVolume from an OVA", () => {
  test("converts the disk of a single-disk OVA in place, after checking the manifest, leaving the OVA untouched", async () => {
    const { ova, folder } = makeOva("single", ["single-disk1.vmdk"]);
    const before = sourceState([ova]);
    const made = await checkAndCreate({ source: ova, pool: pool.name, volumeName: "single.qcow2" });
    expect(identical(path.join(folder, "single-disk1.vmdk"), "vmdk", made.id, "qcow2")).toBe(true);
    expect(made.outs.chain).toEqual([
      expect.objectContaining({
        file: `${ova}#single-disk1.vmdk`,
        format: "vmdk",
        createType: "streamOptimized",
      }),
    ]);
    expect(Object.keys(made.outs.sourceFingerprint as object)).toEqual([
      ova,
      `${ova}#single-disk1.vmdk`,
    ]);
    expect(volumes(pool.name)).toEqual(["single.qcow2"]);
    expect(sourceState([ova])).toEqual(before);
    await provider.delete(made.id, made.outs);
  });

  test("refuses to choose silently from a multi-disk OVA, and converts the disk named by ovaDisk", async () => {
    const { ova, folder } = makeOva("multi", ["multi-disk1.vmdk", "multi-disk2.vmdk"]);
    expect(await checkFailures({ source: ova, pool: pool.name })).toEqual([
      `source: ${ova} holds 2 disks: "vmdisk1" (multi-disk1.vmdk), "vmdisk2" (multi-disk2.vmdk). A ConvertedVolume makes one volume: ` +
        "declare one ConvertedVolume per disk, each with ovaDisk set to the disk's id or file name.",
    ]);
    const second = await checkAndCreate({
      source: ova,
      pool: pool.name,
      volumeName: "multi-2.qcow2",
      ovaDisk: "vmdisk2",
    });
    expect(identical(path.join(folder, "multi-disk2.vmdk"), "vmdk", second.id, "qcow2")).toBe(true);
    expect(identical(path.join(folder, "multi-disk1.vmdk"), "vmdk", second.id, "qcow2")).toBe(
      false,
    );
    await provider.delete(second.id, second.outs);
  });

  test("refuses an OVA whose disk does not match the manifest's checksum, writing nothing", async () => {
    const { ova } = makeOva("badsum", ["badsum-disk1.vmdk"], {
      corruptDigestOf: "badsum-disk1.vmdk",
    });
    const actual = sha256(path.join(dir, "badsum", "badsum-disk1.vmdk"));
    await expect(
      checkAndCreate({ source: ova, pool: pool.name, volumeName: "badsum.qcow2" }),
    ).rejects.toThrow(
      `source: ${ova}: badsum-disk1.vmdk does not match its SHA256 checksum in badsum.mf (manifest ${"0".repeat(64)}, file ${actual}): ` +
        "the OVA is damaged or was altered. Download or export it again.",
    );
    expect(volumes(pool.name)).toEqual([]);
    expect(sh(["ls", "-A", pool.path])).toBe("");
  });

  test("refuses an OVA without a disk", async () => {
    const folder = path.join(dir, "nodisk");
    sh(["mkdir", "-p", folder]);
    writeFileSync(path.join(folder, "nodisk.ovf"), ovf([]));
    const ova = path.join(dir, "nodisk.ova");
    sh(["tar", "-C", folder, "-cf", ova, "nodisk.ovf"]);
    expect(await checkFailures({ source: ova, pool: pool.name })).toEqual([
      `source: ${ova} holds no disk: its OVF descriptor has no Disk in its DiskSection. Export the appliance again with its disks.`,
    ]);
    expect(volumes(pool.name)).toEqual([]);
  });

  test("refuses a tar without an OVF descriptor", async () => {
    const folder = path.join(dir, "noovf");
    sh(["mkdir", "-p", folder]);
    writeFileSync(path.join(folder, "readme.txt"), "hello");
    const ova = path.join(dir, "noovf.ova");
    sh(["tar", "-C", folder, "-cf", ova, "readme.txt"]);
    expect(await checkFailures({ source: ova, pool: pool.name })).toEqual([
      `source: ${ova} holds no OVF descriptor (.ovf): it is not an OVA, or it is damaged. Export the appliance again.`,
    ]);
  });
});

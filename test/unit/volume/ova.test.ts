import {
  chooseOvaDisk,
  nextHeaderOffset,
  OvfDisk,
  parseDigestOutput,
  parseManifest,
  parseOvfDisks,
  parsePaxRecords,
  parseTarHeader,
} from "../../../components/volume/ova";

/** A ustar header block as GNU tar writes it. */
function header(name: string, size: number, type = "0"): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, "utf8");
  b.write("0000644\0", 100, "latin1");
  b.write(size.toString(8).padStart(11, "0") + "\0", 124, "latin1");
  b.write(type, 156, "latin1");
  b.write("ustar\0", 257, "latin1");
  b.write("00", 263, "latin1");
  b.fill(32, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
  return b;
}

const OVF = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References>
    <File ovf:id="file1" ovf:href="lab-disk1.vmdk" ovf:size="138752"/>
    <File ovf:id="file2" ovf:href="lab-disk2.vmdk"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="20" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="file1"
          ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
    <Disk ovf:capacity="1073741824" ovf:diskId="vmdisk2" ovf:fileRef="file2"/>
  </DiskSection>
</Envelope>`;

describe("parseTarHeader", () => {
  it("reads a member's name and size, and the end of the archive", () => {
    expect(parseTarHeader(header("lab.ovf", 430), "/x.ova")).toEqual({
      kind: "file",
      name: "lab.ovf",
      sizeBytes: 430,
    });
    expect(parseTarHeader(Buffer.alloc(512), "/x.ova")).toEqual({ kind: "end" });
  });

  it("recognises pax and GNU long-name headers", () => {
    expect(parseTarHeader(header("././@PaxHeader", 30, "x"), "/x.ova")).toEqual({
      kind: "pax",
      sizeBytes: 30,
    });
    expect(parseTarHeader(header("././@LongLink", 120, "L"), "/x.ova")).toEqual({
      kind: "longname",
      sizeBytes: 120,
    });
  });

  it("refuses a block whose checksum does not match", () => {
    const b = header("lab.ovf", 430);
    b[0] = 0x41;
    expect(() => parseTarHeader(b, "/x.ova")).toThrow(
      "source: /x.ova is not a valid OVA (a tar archive): a header's checksum does not match. The file is damaged or incomplete: copy or export it again.",
    );
  });

  it("steps over member data in 512-byte blocks", () => {
    expect(nextHeaderOffset(0, 430)).toBe(1024);
    expect(nextHeaderOffset(1024, 512)).toBe(2048);
    expect(nextHeaderOffset(2048, 0)).toBe(2560);
  });

  it("reads pax path and size records", () => {
    const rec = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`;
      let n = body.length + 2;
      if (String(n).length + body.length !== n) n = String(n + 1).length + body.length;
      return `${n}${body}`;
    };
    expect(
      parsePaxRecords(
        Buffer.from(rec("path", "a very long disk name.vmdk") + rec("size", "9000000000")),
      ),
    ).toEqual({
      path: "a very long disk name.vmdk",
      sizeBytes: 9000000000,
    });
  });
});

describe("parseOvfDisks", () => {
  it("joins DiskSection disks with their References files, in order, with capacities in bytes", () => {
    expect(parseOvfDisks(OVF, "/x.ova#lab.ovf")).toEqual([
      {
        diskId: "vmdisk1",
        href: "lab-disk1.vmdk",
        capacityBytes: 20 * 2 ** 30,
        format: "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized",
        compression: undefined,
      },
      {
        diskId: "vmdisk2",
        href: "lab-disk2.vmdk",
        capacityBytes: 1073741824,
        format: undefined,
        compression: undefined,
      },
    ]);
  });

  it("refuses text that is no OVF envelope", () => {
    expect(() => parseOvfDisks("<html/>", "/x.ova#lab.ovf")).toThrow(
      "source: /x.ova#lab.ovf is not an OVF descriptor (no <Envelope> element). The OVA is damaged: export it again.",
    );
  });

  it("refuses a disk whose file is not in the References", () => {
    expect(() =>
      parseOvfDisks(OVF.replace('ovf:fileRef="file2"', 'ovf:fileRef="file9"'), "/x.ova#lab.ovf"),
    ).toThrow(
      'source: /x.ova#lab.ovf describes disk "vmdisk2" with no file in its References (fileRef "file9"). A disk without content cannot be converted: export the appliance again.',
    );
  });
});

describe("chooseOvaDisk", () => {
  const disks: OvfDisk[] = [
    { diskId: "vmdisk1", href: "lab-disk1.vmdk" },
    { diskId: "vmdisk2", href: "lab-disk2.vmdk" },
  ];

  it("takes the only disk of a single-disk OVA", () => {
    expect(chooseOvaDisk(disks.slice(0, 1), undefined, "/x.ova")).toEqual(disks[0]);
  });

  it("refuses to pick silently from a multi-disk OVA, listing the disks", () => {
    expect(() => chooseOvaDisk(disks, undefined, "/x.ova")).toThrow(
      'source: /x.ova holds 2 disks: "vmdisk1" (lab-disk1.vmdk), "vmdisk2" (lab-disk2.vmdk). A ConvertedVolume makes one volume: ' +
        "declare one ConvertedVolume per disk, each with ovaDisk set to the disk's id or file name.",
    );
  });

  it("finds the disk by OVF id or by file name", () => {
    expect(chooseOvaDisk(disks, "vmdisk2", "/x.ova")).toEqual(disks[1]);
    expect(chooseOvaDisk(disks, "lab-disk1.vmdk", "/x.ova")).toEqual(disks[0]);
  });

  it("refuses an unknown ovaDisk and an OVA without disks", () => {
    expect(() => chooseOvaDisk(disks, "vmdisk3", "/x.ova")).toThrow(
      'source: /x.ova has no disk "vmdisk3" (ovaDisk); its disks: "vmdisk1" (lab-disk1.vmdk), "vmdisk2" (lab-disk2.vmdk).',
    );
    expect(() => chooseOvaDisk([], undefined, "/x.ova")).toThrow(
      "source: /x.ova holds no disk: its OVF descriptor has no Disk in its DiskSection. Export the appliance again with its disks.",
    );
  });
});

describe("parseManifest", () => {
  it("reads SHA1, SHA256 and SHA512 lines", () => {
    expect(
      parseManifest("SHA256(lab.ovf)= ABCDEF01\nSHA1 (lab-disk1.vmdk) = 0123\n\n", "/x.ova#lab.mf"),
    ).toEqual([
      { algorithm: "SHA256", file: "lab.ovf", digest: "abcdef01" },
      { algorithm: "SHA1", file: "lab-disk1.vmdk", digest: "0123" },
    ]);
  });

  it("refuses a line that is no checksum", () => {
    expect(() => parseManifest("MD5(lab.ovf)= 00", "/x.ova#lab.mf")).toThrow(
      'source: /x.ova#lab.mf has a line that is not a checksum (expected "SHA256(file)= hex"): "MD5(lab.ovf)= 00". The OVA is damaged: export it again.',
    );
  });

  it("reads the digest sha256sum prints for stdin", () => {
    expect(parseDigestOutput("388963909961775136CBD9A65E7D7D10  -\n")).toBe(
      "388963909961775136cbd9a65e7d7d10",
    );
  });
});

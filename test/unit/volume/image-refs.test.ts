import {
  descriptorExtents,
  MAX_DESCRIPTOR_BYTES,
  parseQcow2Header,
  parseVmdkFile,
  signatureFormat,
} from "../../../components/volume/image-refs";

/** A qcow2 header as qemu-img writes one (version 3 unless said), with its extensions and backing name. */
function qcow2(
  o: {
    version?: number;
    clusterBits?: number;
    backing?: string;
    backingFormat?: string;
    dataFile?: string;
    dataFileBit?: boolean;
    encrypted?: boolean;
    backingOffset?: number;
  } = {},
): Buffer {
  const version = o.version ?? 3;
  const b = Buffer.alloc(Math.max(2 ** (o.clusterBits ?? 16), (o.backingOffset ?? 0) + 1024));
  b.write("QFI\xfb", 0, "latin1");
  b.writeUInt32BE(version, 4);
  b.writeUInt32BE(o.clusterBits ?? 16, 20);
  b.writeBigUInt64BE(1n << 30n, 24);
  b.writeUInt32BE(o.encrypted ? 2 : 0, 32);
  let at = 72;
  if (version === 3) {
    b.writeBigUInt64BE(o.dataFileBit ? 4n : 0n, 72);
    b.writeUInt32BE(4, 96);
    b.writeUInt32BE(112, 100);
    at = 112;
  }
  const ext = (type: number, data: string) => {
    b.writeUInt32BE(type, at);
    b.writeUInt32BE(Buffer.byteLength(data), at + 4);
    b.write(data, at + 8);
    at += 8 + Math.ceil(Buffer.byteLength(data) / 8) * 8;
  };
  if (o.backingFormat !== undefined) ext(0xe2792aca, o.backingFormat);
  if (o.dataFile !== undefined) ext(0x44415441, o.dataFile);
  ext(0x6803f857, "x".repeat(48)); // a feature name table: skipped
  at += 8; // the end marker
  if (o.backing !== undefined) {
    const offset = o.backingOffset ?? at;
    b.writeBigUInt64BE(BigInt(offset), 8);
    b.writeUInt32BE(Buffer.byteLength(o.backing), 16);
    b.write(o.backing, offset);
  }
  return b;
}

/** A KDMV sparse header: capacity, embedded descriptor at sector 1, that descriptor's text. */
function kdmv(o: { capacity?: bigint; descriptor?: string } = {}): Buffer {
  const b = Buffer.alloc(64 * 1024);
  b.write("KDMV", 0, "latin1");
  b.writeUInt32LE(1, 4);
  b.writeBigUInt64LE(o.capacity ?? 2048n, 12);
  b.writeBigUInt64LE(128n, 20);
  b.writeBigUInt64LE(1n, 28);
  b.writeBigUInt64LE(20n, 36);
  if (o.descriptor !== undefined) b.write(o.descriptor, 512, "latin1");
  return b;
}

const DESCRIPTOR = (extents: string, extra = "") =>
  `# Disk DescriptorFile\nversion=1\nCID=6a7e3c11\nparentCID=ffffffff\ncreateType="monolithicFlat"\n${extra}\n# Extent description\n${extents}\n\n# The Disk Data Base\n#DDB\n`;

describe("signatureFormat", () => {
  it("names the formats QEMU's probes recognise, and nothing in plain data", () => {
    expect(signatureFormat(qcow2())).toBe("qcow2");
    expect(signatureFormat(qcow2({ version: 2 }))).toBe("qcow2");
    const v1 = qcow2();
    v1.writeUInt32BE(1, 4);
    expect(signatureFormat(v1)).toBe("qcow");
    expect(signatureFormat(kdmv())).toBe("vmdk");
    expect(signatureFormat(Buffer.from("COWD\x01\x00\x00\x00", "latin1"))).toBe("vmdk");
    expect(signatureFormat(Buffer.from(DESCRIPTOR('RW 8 FLAT "a" 0')))).toBe("vmdk");
    expect(signatureFormat(Buffer.from("QED\0"))).toBe("qed");
    expect(signatureFormat(Buffer.from("LUKS\xba\xbe\0\x01", "latin1"))).toBe("luks");
    expect(signatureFormat(Buffer.from("vhdxfile"))).toBe("vhdx");
    expect(signatureFormat(Buffer.from("conectix"))).toBe("vpc");
    const vdi = Buffer.alloc(512);
    vdi.writeUInt32LE(0xbeda107f, 64);
    expect(signatureFormat(vdi)).toBe("vdi");
    expect(signatureFormat(Buffer.alloc(4096))).toBeUndefined();
    expect(signatureFormat(Buffer.from("Not a disk: the RHCE lab notes.\n"))).toBeUndefined();
    expect(signatureFormat(Buffer.alloc(0))).toBeUndefined();
  });

  it("takes text as a vmdk descriptor as QEMU does: comments and lines of spaces, then version=", () => {
    expect(signatureFormat(Buffer.from("# a\n   \n  \r\nversion=2\r\n"))).toBe("vmdk");
    // QEMU skips no empty line, and no text before the version.
    expect(signatureFormat(Buffer.from("# a\n\nversion=1\n"))).toBeUndefined();
    expect(signatureFormat(Buffer.from("CID=1\nversion=1\n"))).toBeUndefined();
    expect(signatureFormat(Buffer.from("version=4\n"))).toBeUndefined();
  });
});

describe("parseQcow2Header", () => {
  it("reads the backing file, its format and the external data file", () => {
    expect(
      parseQcow2Header(
        qcow2({ backing: "base.qcow2", backingFormat: "qcow2" }),
        65536,
        "/s/a.qcow2",
      ),
    ).toEqual({
      version: 3,
      clusterBytes: 65536,
      encrypted: false,
      backingName: "base.qcow2",
      backingFormat: "qcow2",
    });
    expect(
      parseQcow2Header(qcow2({ dataFile: "/root/secret", dataFileBit: true }), 65536, "/s/a.qcow2"),
    ).toMatchObject({ dataFile: { name: "/root/secret" } });
    // The feature bit alone (the name then comes from an option): still an external data file.
    expect(parseQcow2Header(qcow2({ dataFileBit: true }), 65536, "/s/a.qcow2")).toMatchObject({
      dataFile: {},
    });
    expect(parseQcow2Header(qcow2(), 65536, "/s/a.qcow2")).toEqual({
      version: 3,
      clusterBytes: 65536,
      encrypted: false,
    });
  });

  it("reads version 2 headers, json: names as they are, and the name up to a NUL", () => {
    expect(parseQcow2Header(qcow2({ version: 2, backing: "/etc/shadow" }), 65536, "/a")).toEqual({
      version: 2,
      clusterBytes: 65536,
      encrypted: false,
      backingName: "/etc/shadow",
    });
    const json = 'json:{"driver":"raw","file":{"filename":"/etc/shadow"}}';
    expect(
      parseQcow2Header(qcow2({ backing: json, backingFormat: "raw" }), 65536, "/a"),
    ).toMatchObject({ backingName: json, backingFormat: "raw" });
    expect(parseQcow2Header(qcow2({ backing: "base.img\0.qcow2" }), 65536, "/a")).toMatchObject({
      backingName: "base.img",
    });
    expect(parseQcow2Header(qcow2({ backing: "" }), 65536, "/a")).not.toHaveProperty("backingName");
    expect(parseQcow2Header(qcow2({ encrypted: true }), 65536, "/a")).toMatchObject({
      encrypted: true,
    });
  });

  it("asks for more bytes when the backing name or the extensions lie further, within the first cluster", () => {
    const far = qcow2({ clusterBits: 20, backing: "base.qcow2", backingOffset: 200_000 });
    expect(parseQcow2Header(far.subarray(0, 65536), far.length, "/a")).toEqual({
      needBytes: 200_010,
    });
    expect(parseQcow2Header(far.subarray(0, 200_010), far.length, "/a")).toMatchObject({
      backingName: "base.qcow2",
    });
    expect(parseQcow2Header(far.subarray(0, 50), far.length, "/a")).toEqual({ needBytes: 104 });
    const noEnd = qcow2();
    noEnd.fill(0xaa, 112); // extensions of type 0xaaaaaaaa... of a huge length
    expect(() => parseQcow2Header(noEnd, 65536, "/a")).toThrow(
      "source: /a is not a valid qcow2 image: a header extension is too large. The file is damaged or incomplete: copy it again from the original.",
    );
  });

  it("refuses headers QEMU refuses, and a header that ends past the end of the file", () => {
    const bad = qcow2({ backing: "x", backingOffset: 70000 });
    expect(() => parseQcow2Header(bad, 65536 * 2, "/a")).toThrow(
      "source: /a is not a valid qcow2 image: its backing file name or header extensions lie outside its first cluster. " +
        "The file is damaged or incomplete: copy it again from the original.",
    );
    const short = qcow2({ backing: "base.qcow2", backingOffset: 4000 });
    expect(() => parseQcow2Header(short.subarray(0, 4005), 4005, "/a")).toThrow(
      "source: /a is not a valid qcow2 image: its header ends past the end of the file. The file is damaged or incomplete: copy it again from the original.",
    );
    const v9 = qcow2();
    v9.writeUInt32BE(9, 4);
    expect(() => parseQcow2Header(v9, 65536, "/a")).toThrow(
      "its header says version 9, cluster bits 16",
    );
  });
});

describe("parseVmdkFile", () => {
  it("reads a sparse file's parent from the 10 KiB after its first sector, as QEMU does", () => {
    const delta = kdmv({
      descriptor: `# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=2\ncreateType="monolithicSparse"\nparentFileNameHint="RHEL7_Server.vmdk"\n`,
    });
    expect(parseVmdkFile(delta, delta.length, "/s/d.vmdk")).toEqual({
      layout: "sparse",
      descriptorInside: false,
      parentName: "RHEL7_Server.vmdk",
      extents: [],
    });
    // Past those 10 KiB, or after a NUL, QEMU does not look.
    const far = kdmv();
    far.write('parentFileNameHint="x.vmdk"', 512 + 10240, "latin1");
    expect(parseVmdkFile(far, far.length, "/s/d.vmdk").parentName).toBeUndefined();
    const cut = kdmv({ descriptor: 'createType="x"\0parentFileNameHint="x.vmdk"' });
    expect(parseVmdkFile(cut, cut.length, "/s/d.vmdk").parentName).toBeUndefined();
  });

  it("sees a sparse header of capacity 0 with a descriptor (QEMU then opens that descriptor's extents)", () => {
    const hollow = kdmv({ capacity: 0n, descriptor: DESCRIPTOR('RW 2048 FLAT "/root/secret" 0') });
    expect(parseVmdkFile(hollow, hollow.length, "/s/h.vmdk")).toMatchObject({
      layout: "sparse",
      descriptorInside: true,
    });
    const cowd = Buffer.alloc(4096);
    cowd.write("COWD", 0, "latin1");
    expect(parseVmdkFile(cowd, cowd.length, "/s/c.vmdk")).toEqual({
      layout: "cowd",
      descriptorInside: false,
      extents: [],
    });
  });

  it("reads a descriptor's create type, parent and extents", () => {
    const text = DESCRIPTOR(
      'RW 4194304 SPARSE "disk-s001.vmdk"\nRW 2048 VMFS "disk-flat.vmdk"\nRW 8 FLAT "/abs/x-flat.vmdk" 0',
      'parentFileNameHint="/srv/base.vmdk"',
    );
    const bytes = Buffer.from(text);
    expect(parseVmdkFile(bytes, bytes.length, "/s/d.vmdk")).toEqual({
      layout: "descriptor",
      descriptorInside: false,
      createType: "monolithicFlat",
      parentName: "/srv/base.vmdk",
      extents: [
        { type: "SPARSE", name: "disk-s001.vmdk" },
        { type: "VMFS", name: "disk-flat.vmdk" },
        { type: "FLAT", name: "/abs/x-flat.vmdk" },
      ],
    });
  });

  it("refuses a file too large to be a descriptor (a flat extent's data named .vmdk)", () => {
    expect(() =>
      parseVmdkFile(Buffer.alloc(16), MAX_DESCRIPTOR_BYTES + 1, "/s/d-flat.vmdk"),
    ).toThrow(
      `source: /s/d-flat.vmdk is no vmdk: it has no sparse vmdk header, and at ${MAX_DESCRIPTOR_BYTES + 1} bytes it is too large for a descriptor`,
    );
  });
});

describe("descriptorExtents", () => {
  it("reads the lines QEMU opens, its sscanf's whitespace skipping across line ends included", () => {
    // From the empty line, sscanf skips the newline and reads the next line: QEMU opens that extent twice.
    expect(descriptorExtents('\nRW 2048 FLAT "a-flat.vmdk" 0\n', "/d")).toEqual([
      { type: "FLAT", name: "a-flat.vmdk" },
      { type: "FLAT", name: "a-flat.vmdk" },
    ]);
    expect(descriptorExtents('RW\n2048\nFLAT\n"/dev/sda"\n0', "/d")).toEqual([
      { type: "FLAT", name: "/dev/sda" },
    ]);
  });

  it("skips what QEMU skips: other access, unknown types, no sectors, a type of more than 10 characters", () => {
    expect(
      descriptorExtents(
        [
          'RDONLY 2048 FLAT "/dev/zero" 0',
          'NOACCESS 2048 FLAT "/dev/zero" 0',
          'RW 2048 ZERO "/dev/zero"',
          'RW 0 FLAT "/dev/zero" 0',
          'RW 2048 VMFSSPARSEXX "/dev/zero"',
          'rw 2048 FLAT "/dev/zero" 0',
          '# RW 2048 FLAT "/dev/zero" 0',
          'RW 2048 VMFSSPARSE "delta.vmdk"',
        ].join("\n"),
        "/d",
      ),
    ).toEqual([{ type: "VMFSSPARSE", name: "delta.vmdk" }]);
  });

  it("refuses a line QEMU refuses as invalid", () => {
    expect(() => descriptorExtents('RW 2048 FLAT "x-flat.vmdk"\n', "/s/d.vmdk")).toThrow(
      'source: /s/d.vmdk has an extent line QEMU refuses: "RW 2048 FLAT \\"x-flat.vmdk\\"". The descriptor is damaged: copy it again from the original.',
    );
    expect(() => descriptorExtents('RW 2048 SPARSE "x.vmdk" 7', "/s/d.vmdk")).toThrow(
      "has an extent line QEMU refuses",
    );
  });

  it("reads names as UTF-8, and at most 511 bytes of them, as QEMU does", () => {
    expect(
      descriptorExtents(Buffer.from('RW 8 FLAT "ä-flat.vmdk" 0').toString("latin1"), "/d"),
    ).toEqual([{ type: "FLAT", name: "ä-flat.vmdk" }]);
    const long = "a".repeat(600);
    expect(descriptorExtents(`RW 8 SPARSE "${long}"`, "/d")).toEqual([
      { type: "SPARSE", name: "a".repeat(511) },
    ]);
  });
});

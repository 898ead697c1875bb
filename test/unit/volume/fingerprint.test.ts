import {
  fingerprintChanges,
  headerArgv,
  parseOdHex,
  parseStat,
  sourceFingerprint,
  statArgv,
} from "../../../components/volume/fingerprint";
import { ImageInfo } from "../../../components/volume/chain";

const link: ImageInfo = {
  file: "/srv/RHEL7_Server-000002.vmdk",
  format: "vmdk",
  virtualSizeBytes: 214748364800,
  dirty: false,
  corrupt: false,
  encrypted: false,
  vmdk: { cid: 2122094490, parentCid: 1940791077, createType: "monolithicSparse", extents: [] },
};
const facts = {
  sizeBytes: 37748736,
  mtime: "1795611011.280609728",
  inode: "9995923",
  device: "65024",
};

describe("stat and od", () => {
  it("asks stat for one NUL-terminated record per file, without a shell", () => {
    expect(statArgv(["/a b", "/c"])).toEqual([
      "stat",
      "-L",
      "--printf",
      "%s %b %B %.9Y %i %d %F\\0",
      "--",
      "/a b",
      "/c",
    ]);
  });

  it("reads stat's records in argument order", () => {
    expect(
      parseStat(
        "1245184 2080 512 1795611011.248609727 9995922 65024 regular file\0" +
          "4096 8 512 1795611000.000000000 12 65024 directory\0",
        ["/a", "/b"],
      ),
    ).toEqual([
      {
        file: "/a",
        sizeBytes: 1245184,
        allocatedBytes: 1064960,
        mtime: "1795611011.248609727",
        inode: "9995922",
        device: "65024",
        type: "regular file",
      },
      {
        file: "/b",
        sizeBytes: 4096,
        allocatedBytes: 4096,
        mtime: "1795611000.000000000",
        inode: "12",
        device: "65024",
        type: "directory",
      },
    ]);
  });

  it("reads od's hex dump back into bytes", () => {
    expect(headerArgv("/a", 512, 16)).toEqual([
      "od",
      "-A",
      "n",
      "-v",
      "-t",
      "x1",
      "-j",
      "512",
      "-N",
      "16",
      "--",
      "/a",
    ]);
    expect(parseOdHex(" 4b 44 4d 56 01 00\n 00 00\n")).toEqual(
      Buffer.from([0x4b, 0x44, 0x4d, 0x56, 1, 0, 0, 0]),
    );
  });
});

describe("sourceFingerprint", () => {
  it("writes one line per file with size, mtime, inode, device, the first bytes' hash and the link's CIDs", () => {
    expect(
      sourceFingerprint([{ key: link.file, facts, header: Buffer.from("KDMV"), link }]),
    ).toEqual({
      "/srv/RHEL7_Server-000002.vmdk":
        "size=37748736 mtime=1795611011.280609728 inode=9995923 dev=65024 head=0a3192b98521517e format=vmdk cid=2122094490 parentCid=1940791077",
    });
  });

  it.each([
    ["size", { ...facts, sizeBytes: 37814272 }, Buffer.from("KDMV"), link],
    ["mtime", { ...facts, mtime: "1795611099.000000001" }, Buffer.from("KDMV"), link],
    ["inode (the file was replaced)", { ...facts, inode: "1" }, Buffer.from("KDMV"), link],
    ["header bytes", facts, Buffer.from("KDMW"), link],
    ["CID", facts, Buffer.from("KDMV"), { ...link, vmdk: { ...link.vmdk!, cid: 1 } }],
  ])("changes when the %s changes", (_what, f, header, l) => {
    const before = sourceFingerprint([
      { key: link.file, facts, header: Buffer.from("KDMV"), link },
    ]);
    const after = sourceFingerprint([{ key: link.file, facts: f, header, link: l }]);
    expect(fingerprintChanges(before, after)).toEqual(["/srv/RHEL7_Server-000002.vmdk"]);
  });

  it("names files added to or gone from the chain", () => {
    expect(fingerprintChanges({ "/a": "x", "/b": "y" }, { "/b": "y", "/c": "z" })).toEqual([
      "/a",
      "/c",
    ]);
    expect(fingerprintChanges({ "/a": "x" }, { "/a": "x" })).toEqual([]);
  });
});

import {
  allocationMapDigest,
  contentChanges,
  fingerprintChanges,
  headerArgv,
  mapArgv,
  parseOdHex,
  parseStat,
  sourceFingerprint,
  sourceIdentity,
  statArgv,
  unseenRewrites,
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
  it("writes one content line per file: size, the first bytes' hash, the format and the link's CIDs", () => {
    expect(
      sourceFingerprint([{ key: link.file, facts, header: Buffer.from("KDMV"), link }]),
    ).toEqual({
      "/srv/RHEL7_Server-000002.vmdk":
        "size=37748736 head=0a3192b98521517e format=vmdk cid=2122094490 parentCid=1940791077",
    });
  });

  it("adds a qcow2 or raw link's allocation map, and an OVA's descriptor and manifest digests", () => {
    const qcow2: ImageInfo = { ...link, file: "/srv/disk.qcow2", format: "qcow2", vmdk: undefined };
    expect(
      sourceFingerprint([
        {
          key: qcow2.file,
          facts,
          header: Buffer.from("QFI"),
          link: qcow2,
          allocationMap: "00112233aabbccdd",
        },
        { key: "/srv/a.ova", facts, header: Buffer.from("x"), digests: { ovf: "01", mf: "02" } },
      ]),
    ).toEqual({
      "/srv/disk.qcow2": "size=37748736 head=1654dd68ceba4283 format=qcow2 map=00112233aabbccdd",
      "/srv/a.ova": "size=37748736 head=2d711642b726b044 ovf=01 mf=02",
    });
  });

  it.each([
    ["size", { ...facts, sizeBytes: 37814272 }, Buffer.from("KDMV"), link],
    ["header bytes", facts, Buffer.from("KDMW"), link],
    ["CID", facts, Buffer.from("KDMV"), { ...link, vmdk: { ...link.vmdk!, cid: 1 } }],
    ["parent CID", facts, Buffer.from("KDMV"), { ...link, vmdk: { ...link.vmdk!, parentCid: 1 } }],
  ])("changes when the %s changes", (_what, f, header, l) => {
    const before = sourceFingerprint([
      { key: link.file, facts, header: Buffer.from("KDMV"), link },
    ]);
    const after = sourceFingerprint([{ key: link.file, facts: f, header, link: l }]);
    expect(fingerprintChanges(before, after)).toEqual(["/srv/RHEL7_Server-000002.vmdk"]);
  });

  it.each([
    ["mtime (a touch)", { ...facts, mtime: "1795611099.000000001" }],
    ["inode (a copy put in its place)", { ...facts, inode: "1" }],
    ["device (moved to another file system)", { ...facts, device: "2049" }],
  ])("stays the same when only the %s changes, which the identity lines record", (_what, f) => {
    const part = { key: link.file, facts, header: Buffer.from("KDMV"), link };
    expect(sourceFingerprint([{ ...part, facts: f }])).toEqual(sourceFingerprint([part]));
    expect(
      fingerprintChanges(sourceIdentity([part]), sourceIdentity([{ ...part, facts: f }])),
    ).toEqual(["/srv/RHEL7_Server-000002.vmdk"]);
  });

  it("records where each file is and when it was written, apart from its content", () => {
    expect(sourceIdentity([{ key: link.file, facts, header: Buffer.from("KDMV"), link }])).toEqual({
      "/srv/RHEL7_Server-000002.vmdk": "mtime=1795611011.280609728 inode=9995923 dev=65024",
    });
  });

  it("names files added to or gone from the chain", () => {
    expect(fingerprintChanges({ "/a": "x", "/b": "y" }, { "/b": "y", "/c": "z" })).toEqual([
      "/a",
      "/c",
    ]);
    expect(fingerprintChanges({ "/a": "x" }, { "/a": "x" })).toEqual([]);
  });
});

describe("contentChanges", () => {
  const now = {
    "/srv/top.vmdk": "size=1 head=ab format=vmdk cid=7 parentCid=2",
    "/srv/disk.qcow2": "size=5 head=cd format=qcow2 map=99",
  };

  it("compares content lines whole", () => {
    expect(contentChanges(now, now)).toEqual([]);
    expect(
      contentChanges(now, { ...now, "/srv/disk.qcow2": "size=5 head=cd format=qcow2 map=98" }),
    ).toEqual(["/srv/disk.qcow2"]);
    expect(contentChanges(now, { "/srv/top.vmdk": now["/srv/top.vmdk"] })).toEqual([
      "/srv/disk.qcow2",
    ]);
  });

  it("reads a line of the older form (with mtime, inode, device) by the content fields both lines have", () => {
    const made = {
      "/srv/top.vmdk":
        "size=1 mtime=1.000000000 inode=2 dev=3 head=ab format=vmdk cid=7 parentCid=2",
      "/srv/disk.qcow2": "size=5 mtime=1.000000000 inode=4 dev=3 head=cd format=qcow2",
    };
    expect(contentChanges(made, now)).toEqual([]);
    expect(
      contentChanges(made, {
        ...now,
        "/srv/top.vmdk": "size=1 head=ab format=vmdk cid=8 parentCid=2",
      }),
    ).toEqual(["/srv/top.vmdk"]);
    expect(
      contentChanges(made, { ...now, "/srv/disk.qcow2": "size=6 head=cd format=qcow2 map=99" }),
    ).toEqual(["/srv/disk.qcow2"]);
  });
});

describe("unseenRewrites", () => {
  const fingerprint = {
    "/srv/disk.qcow2": "size=5 head=cd format=qcow2 map=99",
    "/srv/top.vmdk": "size=1 head=ab format=vmdk cid=7 parentCid=2",
  };
  const identity = {
    "/srv/disk.qcow2": "mtime=1.000000000 inode=4 dev=3",
    "/srv/top.vmdk": "mtime=1.000000000 inode=5 dev=3",
  };
  const written = {
    "/srv/disk.qcow2": "mtime=2.000000000 inode=4 dev=3",
    "/srv/top.vmdk": "mtime=2.000000000 inode=5 dev=3",
  };

  it("names a qcow2 or raw file written since the last look whose content key stayed the same", () => {
    expect(
      unseenRewrites(
        { sourceFingerprint: fingerprint, sourceIdentity: identity },
        { fingerprint, identity: written },
      ),
    ).toEqual(["/srv/disk.qcow2"]);
  });

  it("names nothing when nothing was written, the key changed, or there was no last look", () => {
    expect(
      unseenRewrites(
        { sourceFingerprint: fingerprint, sourceIdentity: identity },
        { fingerprint, identity },
      ),
    ).toEqual([]);
    expect(
      unseenRewrites(
        { sourceFingerprint: fingerprint, sourceIdentity: identity },
        {
          fingerprint: { ...fingerprint, "/srv/disk.qcow2": "size=6 head=cd format=qcow2 map=98" },
          identity: written,
        },
      ),
    ).toEqual([]);
    expect(unseenRewrites({}, { fingerprint, identity: written })).toEqual([]);
  });
});

describe("the allocation map", () => {
  it("asks qemu-img for the map of the file alone (a qcow2's backing file is not opened)", () => {
    expect(mapArgv('/srv/a "b".qcow2', "qcow2")).toEqual([
      "qemu-img",
      "map",
      "--output=json",
      'json:{"driver":"qcow2","backing":null,"file":{"driver":"file","filename":"/srv/a \\"b\\".qcow2"}}',
    ]);
    expect(mapArgv("/srv/disk.img", "raw")).toEqual([
      "qemu-img",
      "map",
      "--output=json",
      'json:{"driver":"raw","file":{"driver":"file","filename":"/srv/disk.img"}}',
    ]);
  });

  const map = `[{ "start": 0, "length": 65536, "depth": 0, "present": true, "zero": false, "data": true, "offset": 327680},
{ "start": 65536, "length": 8323072, "depth": 0, "present": false, "zero": true, "data": false}]`;

  it("digests the ranges, ignoring fields and spacing another qemu-img may print differently", () => {
    const other = `[{"start":0,"length":65536,"depth":0,"present":true,"zero":false,"data":true,"compressed":false,"offset":327680},
{"start":65536,"length":8323072,"depth":0,"present":false,"zero":true,"data":false,"compressed":false}]`;
    expect(allocationMapDigest(map)).toMatch(/^[0-9a-f]{16}$/);
    expect(allocationMapDigest(other)).toBe(allocationMapDigest(map));
  });

  it.each([
    ["a range's data moved in the file", map.replace("327680", "393216")],
    [
      "a range became zero",
      map.replace('"zero": false, "data": true', '"zero": true, "data": false'),
    ],
    ["a range grew", map.replace('"length": 65536', '"length": 131072')],
  ])("changes when %s", (_what, changed) => {
    expect(allocationMapDigest(changed)).not.toBe(allocationMapDigest(map));
  });
});

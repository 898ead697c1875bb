import {
  describeChain,
  ImageInfo,
  parseImageInfo,
  parseVmdkSparseHeader,
  selectLinks,
  validateChain,
} from "../../../components/volume/chain";

/** `qemu-img info --output=json --backing-chain` of the seed's layout, as QEMU 7.2 prints it. */
const SEED_CHAIN = JSON.stringify([
  {
    "backing-filename-format": "vmdk",
    "virtual-size": 214748364800,
    filename: "/srv/RHEL7_Server-000002.vmdk",
    "cluster-size": 65536,
    format: "vmdk",
    "actual-size": 37748736,
    "format-specific": {
      type: "vmdk",
      data: {
        cid: 2122094490,
        "parent-cid": 1940791077,
        "create-type": "monolithicSparse",
        extents: [
          {
            "virtual-size": 214748364800,
            filename: "/srv/RHEL7_Server-000002.vmdk",
            "cluster-size": 65536,
            format: "",
          },
        ],
      },
    },
    "full-backing-filename": "/srv/RHEL7_Server.vmdk",
    "backing-filename": "RHEL7_Server.vmdk",
    "dirty-flag": false,
  },
  {
    "virtual-size": 214748364800,
    filename: "/srv/RHEL7_Server.vmdk",
    format: "vmdk",
    "actual-size": 10415529984,
    "format-specific": {
      type: "vmdk",
      data: {
        cid: 1940791077,
        "parent-cid": 4294967295,
        "create-type": "monolithicSparse",
        extents: [
          {
            "virtual-size": 214748364800,
            filename: "/srv/RHEL7_Server.vmdk",
            "cluster-size": 65536,
            format: "",
          },
        ],
      },
    },
    "dirty-flag": false,
  },
]);

const seed = (): ImageInfo[] => parseImageInfo(SEED_CHAIN);

describe("parseImageInfo", () => {
  it("reads each link's format, CIDs, create type, extents and resolved parent", () => {
    expect(seed()).toEqual([
      {
        file: "/srv/RHEL7_Server-000002.vmdk",
        format: "vmdk",
        virtualSizeBytes: 214748364800,
        backingFile: "/srv/RHEL7_Server.vmdk",
        dirty: false,
        corrupt: false,
        encrypted: false,
        vmdk: {
          cid: 2122094490,
          parentCid: 1940791077,
          createType: "monolithicSparse",
          extents: ["/srv/RHEL7_Server-000002.vmdk"],
        },
      },
      {
        file: "/srv/RHEL7_Server.vmdk",
        format: "vmdk",
        virtualSizeBytes: 214748364800,
        backingFile: undefined,
        dirty: false,
        corrupt: false,
        encrypted: false,
        vmdk: {
          cid: 1940791077,
          parentCid: 4294967295,
          createType: "monolithicSparse",
          extents: ["/srv/RHEL7_Server.vmdk"],
        },
      },
    ]);
  });

  it("resolves relative extent and file names against the folder it is given", () => {
    const [split] = parseImageInfo(
      JSON.stringify({
        filename: "disk.vmdk",
        format: "vmdk",
        "virtual-size": 5368709120,
        "format-specific": {
          type: "vmdk",
          data: {
            cid: 1,
            "parent-cid": 4294967295,
            "create-type": "twoGbMaxExtentSparse",
            extents: [{ filename: "disk-s001.vmdk" }, { filename: "disk-s002.vmdk" }],
          },
        },
      }),
      "/images",
    );
    expect(split.file).toBe("/images/disk.vmdk");
    expect(split.vmdk?.extents).toEqual(["/images/disk-s001.vmdk", "/images/disk-s002.vmdk"]);
  });

  it("marks luks and encrypted qcow2 images as encrypted", () => {
    expect(
      parseImageInfo(
        JSON.stringify({
          filename: "/a.qcow2",
          format: "qcow2",
          "virtual-size": 1,
          encrypted: true,
        }),
      )[0].encrypted,
    ).toBe(true);
    expect(
      parseImageInfo(JSON.stringify({ filename: "/a.img", format: "luks", "virtual-size": 1 }))[0]
        .encrypted,
    ).toBe(true);
  });
});

describe("validateChain", () => {
  it("accepts the seed's base plus -000002 delta", () => {
    expect(() => validateChain(seed())).not.toThrow();
  });

  it("refuses a delta whose parent CID is not its parent's CID, naming both files and CIDs", () => {
    const [top, base] = seed();
    const changedBase = { ...base, vmdk: { ...base.vmdk!, cid: 123 } };
    expect(() => validateChain([top, changedBase])).toThrow(
      "source: chain link /srv/RHEL7_Server-000002.vmdk expects its parent /srv/RHEL7_Server.vmdk to have CID 1940791077 (0x73ae1f25), " +
        "but the parent has CID 123 (0x0000007b): the parent was written to after the snapshot was taken, so the chain no longer describes one disk. " +
        'Use the files exactly as VMware left them (restore the parent from the same copy as the snapshot), or convert the base alone with mode: "base".',
    );
  });

  it("refuses a link with VMware's uncleanShutdown flag set, naming the extent", () => {
    const headers = new Map([
      ["/srv/RHEL7_Server.vmdk", { magic: "KDMV" as const, version: 1, uncleanShutdown: true }],
    ]);
    expect(() => validateChain(seed(), headers)).toThrow(
      "source: chain link /srv/RHEL7_Server.vmdk was not closed cleanly: the VMware uncleanShutdown flag is set in /srv/RHEL7_Server.vmdk. " +
        "The VM is running or crashed: power it off in VMware (and let VMware repair the disk), then convert.",
    );
  });

  it("refuses an seSparse link with the way out", () => {
    const [top, base] = seed();
    expect(() =>
      validateChain([{ ...top, vmdk: { ...top.vmdk!, createType: "seSparse" } }, base]),
    ).toThrow(
      "source: chain link /srv/RHEL7_Server-000002.vmdk is an seSparse snapshot (ESXi 6.5 and later): QEMU reads it only partly and cannot replay its journal. " +
        "Consolidate the snapshots in ESXi (or clone the disk with `vmkfstools -i … -d thin`) and convert the result.",
    );
  });

  it("refuses an encrypted link", () => {
    const [, base] = seed();
    expect(() =>
      validateChain([
        { ...base, file: "/srv/x.qcow2", format: "qcow2", vmdk: undefined, encrypted: true },
      ]),
    ).toThrow(
      "source: /srv/x.qcow2 is encrypted. ConvertedVolume does not take encrypted images: decrypt it first (qemu-img convert with --object secret,… and --image-opts, into an unencrypted image).",
    );
  });

  it("refuses a dirty qcow2 link", () => {
    expect(() =>
      validateChain([
        {
          file: "/srv/x.qcow2",
          format: "qcow2",
          virtualSizeBytes: 1,
          dirty: true,
          corrupt: false,
          encrypted: false,
        },
      ]),
    ).toThrow(
      "source: /srv/x.qcow2 is marked dirty (it was not closed cleanly). Check and repair a copy of it with `qemu-img check -r all`, then use the copy.",
    );
  });

  it("refuses a base that names a parent CID but has no parent file", () => {
    const [top] = seed();
    expect(() => validateChain([{ ...top, backingFile: undefined }])).toThrow(
      "source: /srv/RHEL7_Server-000002.vmdk names a parent disk (parent CID 1940791077 (0x73ae1f25)) but no parent file. Copy its parent (the vmdk it was snapshotted from) beside it.",
    );
  });
});

describe("parseVmdkSparseHeader", () => {
  it("reads the uncleanShutdown byte at offset 72 of a KDMV header", () => {
    const b = Buffer.alloc(512);
    b.write("KDMV", 0, "latin1");
    b.writeUInt32LE(1, 4);
    expect(parseVmdkSparseHeader(b)).toEqual({ magic: "KDMV", version: 1, uncleanShutdown: false });
    b[72] = 1;
    expect(parseVmdkSparseHeader(b)).toEqual({ magic: "KDMV", version: 1, uncleanShutdown: true });
  });

  it("says nothing about text descriptors", () => {
    expect(
      parseVmdkSparseHeader(Buffer.from("# Disk DescriptorFile\n".padEnd(600, " "))),
    ).toBeUndefined();
  });
});

describe("selectLinks and describeChain", () => {
  it("flatten takes the whole chain, base the bottom link alone", () => {
    expect(selectLinks(seed(), "flatten").map((l) => l.file)).toEqual([
      "/srv/RHEL7_Server-000002.vmdk",
      "/srv/RHEL7_Server.vmdk",
    ]);
    expect(selectLinks(seed(), "base").map((l) => l.file)).toEqual(["/srv/RHEL7_Server.vmdk"]);
  });

  it("reports each link with its CIDs and allocated bytes", () => {
    const sizes: Record<string, number> = {
      "/srv/RHEL7_Server-000002.vmdk": 37748736,
      "/srv/RHEL7_Server.vmdk": 10415529984,
    };
    expect(describeChain(seed(), (f) => sizes[f])).toEqual([
      {
        file: "/srv/RHEL7_Server-000002.vmdk",
        format: "vmdk",
        createType: "monolithicSparse",
        cid: 2122094490,
        parentCid: 1940791077,
        virtualSizeBytes: 214748364800,
        allocatedBytes: 37748736,
      },
      {
        file: "/srv/RHEL7_Server.vmdk",
        format: "vmdk",
        createType: "monolithicSparse",
        cid: 1940791077,
        parentCid: 4294967295,
        virtualSizeBytes: 214748364800,
        allocatedBytes: 10415529984,
      },
    ]);
  });
});

import {
  checkContent,
  checkQemuReport,
  checkReference,
  checkSourceFile,
  checkStandsAlone,
  nameFormat,
  pinParentFormat,
  pinSourceFormat,
  referencedPath,
  refuseDataFile,
} from "../../../components/volume/confine";

const OUTSIDE_WHY =
  "ConvertedVolume opens only files in the source's own folder, so that an image cannot make it read other files " +
  "or devices of the host. Keep every file of the image in one folder, each naming the next by file name alone, as VMware leaves them.";

describe("pinSourceFormat", () => {
  it("takes the format the name says, when the content agrees", () => {
    expect(pinSourceFormat("/s/a.vmdk", undefined, "vmdk")).toBe("vmdk");
    expect(pinSourceFormat("/s/a.QCOW2", undefined, "qcow2")).toBe("qcow2");
    expect(pinSourceFormat("/s/a.qcow", undefined, "qcow2")).toBe("qcow2");
    expect(pinSourceFormat("/s/a.raw", undefined, undefined)).toBe("raw");
    expect(nameFormat("/s/a.img")).toBeUndefined();
  });

  it("refuses content that contradicts the name", () => {
    expect(() => pinSourceFormat("/s/disk.vmdk", undefined, "qcow2")).toThrow(
      "source: /s/disk.vmdk is a qcow2 image, but its name says vmdk. A file whose content contradicts its name is usually " +
        "the wrong file: check that this is the disk you mean, and rename it to match its content (e.g. .qcow2).",
    );
    // A raw disk whose guest wrote a qcow2 header, named .raw: not taken for a raw image by its name alone.
    expect(() => pinSourceFormat("/s/disk.raw", undefined, "qcow2")).toThrow(
      "source: /s/disk.raw is a qcow2 image, but its name says raw.",
    );
    expect(() => pinSourceFormat("/s/notes.vmdk", undefined, undefined)).toThrow(
      "source: /s/notes.vmdk is not a disk image: it starts with no image format's header (QEMU would only read it as raw bytes). " +
        "Point source at the .vmdk (the descriptor or the top snapshot), the .ova, or a qcow2 image; " +
        'if it really is a raw disk image, give it a name ending in .raw or .img, or set sourceFormat: "raw".',
    );
  });

  it("takes an .img without an image header as raw, and never guesses the format of one with a header", () => {
    expect(pinSourceFormat("/s/disk.img", undefined, undefined)).toBe("raw");
    expect(pinSourceFormat("/s/disk.bin", undefined, undefined)).toBe("raw");
    expect(() => pinSourceFormat("/s/guest.img", undefined, "qcow2")).toThrow(
      `source: /s/guest.img starts with a qcow2 header, but its name does not say its format (".img" can be raw or qcow2), ` +
        `and the format is never guessed from the content: a raw disk's guest can write such a header into its first sector. ` +
        `Set sourceFormat: "qcow2" if it is a qcow2 image, or sourceFormat: "raw" if it is a raw disk.`,
    );
    expect(() => pinSourceFormat("/s/7f3a9c", undefined, "vmdk")).toThrow(
      `source: /s/7f3a9c starts with a vmdk header, but its name does not say its format (it has no extension), `,
    );
    expect(() => pinSourceFormat("/s/notes.txt", undefined, undefined)).toThrow(
      "source: /s/notes.txt is not a disk image",
    );
  });

  it("takes sourceFormat when given: raw whatever the content, vmdk and qcow2 only with their header", () => {
    expect(pinSourceFormat("/s/guest.img", "raw", "qcow2")).toBe("raw");
    expect(pinSourceFormat("/s/disk.vmdk", "raw", "vmdk")).toBe("raw");
    expect(pinSourceFormat("/s/7f3a9c", "qcow2", "qcow2")).toBe("qcow2");
    expect(() => pinSourceFormat("/s/7f3a9c", "qcow2", undefined)).toThrow(
      "source: /s/7f3a9c is no disk image (it has no image format's header), but sourceFormat says qcow2. " +
        'Check that this is the disk you mean; set sourceFormat to what it holds ("raw" for a raw disk).',
    );
    expect(() => pinSourceFormat("/s/a.img", "vmdk", "qcow2")).toThrow(
      "source: /s/a.img is a qcow2 image, but sourceFormat says vmdk.",
    );
  });

  it("refuses formats ConvertedVolume does not take", () => {
    expect(() => pinSourceFormat("/s/disk.vdi", undefined, "vdi")).toThrow(
      "source: /s/disk.vdi is a vdi image; ConvertedVolume takes vmdk (VMware), OVA, qcow2 and raw images. Convert it with qemu-img first.",
    );
    expect(() => pinSourceFormat("/s/disk.img", undefined, "luks")).toThrow(
      "source: /s/disk.img is a luks image; ConvertedVolume takes",
    );
  });
});

describe("pinParentFormat", () => {
  it("opens a vmdk's parent as a vmdk, with a vmdk's content", () => {
    expect(pinParentFormat("/s/d-000001.vmdk", "vmdk", "/s/d.vmdk", undefined, "vmdk")).toBe(
      "vmdk",
    );
    expect(() =>
      pinParentFormat("/s/d-000001.vmdk", "vmdk", "/s/d.vmdk", undefined, "qcow2"),
    ).toThrow(
      "source: /s/d.vmdk is a qcow2 image, but /s/d-000001.vmdk records it as its vmdk backing file: the chain does not " +
        "describe one disk (a file replaced, or the wrong file under that name). Use the files exactly as they were made.",
    );
    expect(() =>
      pinParentFormat("/s/d-000001.vmdk", "vmdk", "/s/d.qcow2", undefined, "qcow2"),
    ).toThrow(
      "source: /s/d-000001.vmdk is a VMware snapshot of /s/d.qcow2, whose name says qcow2: a VMware snapshot's parent must be a vmdk.",
    );
  });

  it("opens a qcow2's backing file in the format it records; raw whatever the content", () => {
    expect(pinParentFormat("/s/top.qcow2", "qcow2", "/s/base.qcow2", "qcow2", "qcow2")).toBe(
      "qcow2",
    );
    expect(pinParentFormat("/s/top.qcow2", "qcow2", "/s/base.img", "raw", "qcow2")).toBe("raw");
    expect(pinParentFormat("/s/top.qcow2", "qcow2", "/s/7f3a9c", "vmdk", "vmdk")).toBe("vmdk");
    expect(() => pinParentFormat("/s/top.qcow2", "qcow2", "/s/base.qcow2", "raw", "qcow2")).toThrow(
      "source: /s/top.qcow2 records its backing file /s/base.qcow2 as raw, but that file's name says qcow2: " +
        "the chain does not describe one disk. Use the files exactly as they were made.",
    );
    expect(() => pinParentFormat("/s/top.qcow2", "qcow2", "/s/base", "vdi", "vdi")).toThrow(
      "source: /s/top.qcow2 records its backing file /s/base as a vdi image; ConvertedVolume takes vmdk, qcow2 and raw links. " +
        "Convert the chain with qemu-img first.",
    );
  });

  it("takes an unrecorded backing format from the file's name, never from its content", () => {
    expect(pinParentFormat("/s/top.qcow2", "qcow2", "/s/base.qcow2", undefined, "qcow2")).toBe(
      "qcow2",
    );
    expect(pinParentFormat("/s/top.qcow2", "qcow2", "/s/base.raw", undefined, undefined)).toBe(
      "raw",
    );
    expect(() =>
      pinParentFormat("/s/top.qcow2", "qcow2", "/s/base.raw", undefined, "qcow2"),
    ).toThrow("source: /s/base.raw is a qcow2 image, but its name says raw.");
    expect(() =>
      pinParentFormat("/s/top.qcow2", "qcow2", "/s/base.img", undefined, "qcow2"),
    ).toThrow(
      "source: /s/top.qcow2 names its backing file /s/base.img without recording its format, and the file's name does not say it " +
        "(.qcow2, .vmdk or .raw): QEMU would guess the format from the content, which a guest can write. " +
        "Record it in a copy of top.qcow2: qemu-img rebase -u -F <qcow2|raw> -b base.img <copy>.",
    );
  });
});

describe("checkContent", () => {
  it("reads a raw image as raw whatever it holds, unless only its name said raw", () => {
    expect(() => checkContent("/s/a.img", "raw", "qcow2", { by: "argument" })).not.toThrow();
    expect(() =>
      checkContent("/s/a", "raw", "vmdk", { by: "record", child: "/s/t.qcow2" }),
    ).not.toThrow();
    expect(() => checkContent("/s/a.raw", "raw", undefined, { by: "name" })).not.toThrow();
    expect(() => checkContent("/s/a.raw", "raw", "vmdk", { by: "name" })).toThrow(
      "source: /s/a.raw is a vmdk image, but its name says raw.",
    );
  });
});

describe("referencedPath", () => {
  it("resolves a name in its owner's folder, or takes it as an absolute path", () => {
    expect(referencedPath("/s/d.vmdk", "d-flat.vmdk", "extent")).toBe("/s/d-flat.vmdk");
    expect(referencedPath("/s/d.vmdk", "../x/y.vmdk", "extent")).toBe("/s/../x/y.vmdk");
    expect(referencedPath("/s/d.vmdk", "/dev/sda", "extent")).toBe("/dev/sda");
    expect(referencedPath("/s/t.qcow2", "./b:c.qcow2", "backing file")).toBe("/s/./b:c.qcow2");
  });

  it("refuses json: specifications and protocol names, which QEMU reads as no file name", () => {
    const json = 'json:{"driver":"raw","file":{"driver":"file","filename":"/etc/shadow"}}';
    expect(() => referencedPath("/s/t.qcow2", json, "backing file")).toThrow(
      `source: /s/t.qcow2 names the backing file ${JSON.stringify(json)}, a QEMU json: specification, not a file: ` +
        "ConvertedVolume opens only plain files in the source's own folder, so that an image cannot make it read other files " +
        "or devices of the host. Use an image that names its files by file name alone.",
    );
    for (const name of [
      "nbd://10.0.0.1/export",
      "file:/etc/shadow",
      "http://x/y.vmdk",
      "host_device:/dev/sda",
    ]) {
      expect(() => referencedPath("/s/t.qcow2", name, "backing file")).toThrow(
        `source: /s/t.qcow2 names the backing file ${JSON.stringify(name)}, a QEMU "${name.split(":")[0]}:" protocol name, not a file`,
      );
    }
    expect(() => referencedPath("/s/d.vmdk", "b:c.vmdk", "parent")).toThrow(
      'source: /s/d.vmdk names the parent disk "b:c.vmdk", a QEMU "b:" protocol name',
    );
  });
});

describe("checkReference", () => {
  const base = {
    owner: "/s/d.vmdk",
    what: "extent" as const,
    name: "d-flat.vmdk",
    named: "/s/d-flat.vmdk",
  };

  it("accepts a regular file in the source's folder", () => {
    expect(() =>
      checkReference(
        { ...base, real: "/s/d-flat.vmdk", type: "regular file" },
        "/s",
        "this machine",
      ),
    ).not.toThrow();
    // A link to another file of the folder is that file.
    expect(() =>
      checkReference(
        { ...base, real: "/s/other-flat.vmdk", type: "regular file" },
        "/s",
        "this machine",
      ),
    ).not.toThrow();
  });

  it("refuses a file outside the folder, saying when a symbolic link leads there", () => {
    expect(() =>
      checkReference(
        {
          ...base,
          name: "/root/secret",
          named: "/root/secret",
          real: "/root/secret",
          type: "regular file",
        },
        "/s",
        "this machine",
      ),
    ).toThrow(
      `source: /s/d.vmdk names the extent "/root/secret": /root/secret is outside the source's folder /s. ${OUTSIDE_WHY}`,
    );
    expect(() =>
      checkReference({ ...base, real: "/root/secret", type: "regular file" }, "/s", "this machine"),
    ).toThrow(
      `source: /s/d.vmdk names the extent "d-flat.vmdk", a symbolic link to /root/secret, which is outside the source's folder /s.`,
    );
    // A subfolder is outside too: the chain's files lie side by side.
    expect(() =>
      checkReference(
        {
          ...base,
          name: "sub/x.vmdk",
          named: "/s/sub/x.vmdk",
          real: "/s/sub/x.vmdk",
          type: "regular file",
        },
        "/s",
        "this machine",
      ),
    ).toThrow('names the extent "sub/x.vmdk": /s/sub/x.vmdk is outside the source\'s folder /s.');
  });

  it("refuses a device or other special file inside the folder", () => {
    expect(() =>
      checkReference(
        { ...base, real: "/s/d-flat.vmdk", type: "block special file" },
        "/s",
        "this machine",
      ),
    ).toThrow(
      'source: /s/d.vmdk names the extent "d-flat.vmdk", which is a block special file (/s/d-flat.vmdk), not a regular file: ' +
        "ConvertedVolume reads image files only, never devices or other special files.",
    );
  });

  it("names a missing extent or parent", () => {
    expect(() => checkReference({ ...base }, "/s", "this machine")).toThrow(
      "source: /s/d.vmdk names the extent /s/d-flat.vmdk, which does not exist on this machine: the disk is incomplete. " +
        "Keep the descriptor and every extent file it names (…-flat.vmdk, …-s001.vmdk) together in one folder, as VMware left them.",
    );
    expect(() =>
      checkReference(
        { owner: "/s/d-000002.vmdk", what: "parent", name: "d.vmdk", named: "/s/d.vmdk" },
        "/s",
        "this machine",
      ),
    ).toThrow(
      "source: /s/d-000002.vmdk is a snapshot of /s/d.vmdk, which does not exist on this machine: the chain is broken.",
    );
  });
});

describe("checkSourceFile", () => {
  it("refuses a source that leads out of its folder, or that is no regular file", () => {
    expect(() => checkSourceFile("/s/d.vmdk", "/s/d.vmdk", "regular file", "/s")).not.toThrow();
    expect(() =>
      checkSourceFile("/s/current.vmdk", "/s/d.vmdk", "regular file", "/s"),
    ).not.toThrow();
    expect(() => checkSourceFile("/s/d.vmdk", "/mnt/x/d.vmdk", "regular file", "/s")).toThrow(
      "source: /s/d.vmdk is a symbolic link to /mnt/x/d.vmdk, outside its folder /s: an image's files are read only from its own folder. " +
        "Point source at the image itself (/mnt/x/d.vmdk).",
    );
    expect(() => checkSourceFile("/s/d.vmdk", "/s/d.vmdk", "fifo", "/s")).toThrow(
      "source: /s/d.vmdk is a fifo, not an image file. Point source at the .vmdk, .ova, qcow2 or raw file itself.",
    );
  });
});

describe("refuseDataFile and checkStandsAlone", () => {
  it("refuses an external data file, named or not", () => {
    expect(() => refuseDataFile("/s/a.qcow2", "/root/secret")).toThrow(
      'source: /s/a.qcow2 keeps its data in an external data file ("/root/secret"), which ConvertedVolume does not open: ' +
        "an image must hold its own data. Make a self-contained copy (qemu-img convert -O qcow2, after checking which file it names) and use the copy.",
    );
    expect(() => refuseDataFile("/s/a.qcow2", undefined)).toThrow(
      "source: /s/a.qcow2 keeps its data in an external data file, which",
    );
  });

  it("refuses an OVA disk that names any other file, and a copy that names one", () => {
    const sparse = { layout: "sparse" as const, descriptorInside: false, extents: [] };
    expect(() => checkStandsAlone("/x.ova#d.vmdk", { vmdk: sparse }, "ova")).not.toThrow();
    expect(() =>
      checkStandsAlone("/x.ova#d.vmdk", { vmdk: { ...sparse, parentName: "/srv/b.vmdk" } }, "ova"),
    ).toThrow(
      'source: /x.ova#d.vmdk names a parent disk, "/srv/b.vmdk", outside the OVA: an OVA\'s disks must stand alone. Export the appliance again.',
    );
    expect(() =>
      checkStandsAlone(
        "/x.ova#d.vmdk",
        {
          vmdk: {
            layout: "descriptor",
            descriptorInside: false,
            extents: [{ type: "FLAT", name: "d-flat.vmdk" }],
          },
        },
        "ova",
      ),
    ).toThrow(
      "source: /x.ova#d.vmdk names its data in other files (a vmdk descriptor), outside the OVA",
    );
    const q = { version: 3, clusterBytes: 65536, encrypted: false };
    expect(() => checkStandsAlone("/p/.v.partial", { qcow2: q }, "copy")).not.toThrow();
    expect(() =>
      checkStandsAlone("/p/.v.partial", { qcow2: { ...q, backingName: "/etc/shadow" } }, "copy"),
    ).toThrow(
      'source: /p/.v.partial, the copy just made, names a backing file, "/etc/shadow", though its source named no other file ' +
        "when it was checked: the source was replaced while it was copied. The copy was discarded; run again.",
    );
    expect(() =>
      checkStandsAlone("/x.ova#d.qcow2", { qcow2: { ...q, dataFile: {} } }, "ova"),
    ).toThrow("source: /x.ova#d.qcow2 names an external data file, outside the OVA");
  });
});

describe("checkQemuReport", () => {
  it("accepts what QEMU reads as checked, and refuses anything else", () => {
    const report = {
      format: "vmdk",
      "backing-filename": "d.vmdk",
      "backing-filename-format": "vmdk",
      "format-specific": { type: "vmdk", data: { extents: [{ filename: "/s/d-000001.vmdk" }] } },
    };
    const expected = {
      backingName: "d.vmdk",
      backingFormat: "vmdk",
      extents: ["/s/d-000001.vmdk"],
    };
    expect(() => checkQemuReport("/s/d-000001.vmdk", report, expected)).not.toThrow();
    expect(() =>
      checkQemuReport("/s/d-000001.vmdk", report, { ...expected, extents: ["/s/x"] }),
    ).toThrow(
      'source: /s/d-000001.vmdk is read by QEMU otherwise than it was checked (QEMU finds: extents ["/s/d-000001.vmdk"]): ' +
        "refused, since what it names could not be checked.",
    );
    expect(() =>
      checkQemuReport(
        "/s/a.qcow2",
        {
          format: "qcow2",
          "format-specific": { type: "qcow2", data: { "data-file": "/root/secret" } },
        },
        {},
      ),
    ).toThrow('(QEMU finds: data file "/root/secret")');
    expect(() =>
      checkQemuReport("/s/a.qcow2", { format: "qcow2", "backing-filename": "/etc/shadow" }, {}),
    ).toThrow('(QEMU finds: backing file "/etc/shadow")');
  });
});

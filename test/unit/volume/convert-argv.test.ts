import {
  checkArgv,
  convertArgv,
  createTargetArgv,
  DEFAULT_TUNING,
  infoArgv,
  measureArgv,
  ioUringRefused,
  optionValue,
  parseMeasure,
  readsInsideFile,
  SourceLink,
  sourceName,
} from "../../../components/volume/convert-argv";

const sparse = (file: string): SourceLink => ({
  file,
  format: "vmdk",
  vmdk: { createType: "monolithicSparse" },
});
const json = (name: string): unknown => {
  expect(name.startsWith("json:")).toBe(true);
  return JSON.parse(name.slice("json:".length));
};

describe("convertArgv", () => {
  it("builds the provider's conversion: pinned formats, progress, the default tuning, no -U", () => {
    expect(DEFAULT_TUNING).toEqual({
      coroutines: 16,
      outOfOrderWrites: true,
      aio: "io_uring",
    });
    expect(
      convertArgv({
        links: [sparse("/srv/RHEL7_Server-000002.vmdk"), sparse("/srv/RHEL7_Server.vmdk")],
        output: "/pool/.c.qcow2.nestlab-partial-1",
        progress: true,
      }),
    ).toEqual([
      "qemu-img",
      "convert",
      "-p",
      "-f",
      "vmdk",
      "-m",
      "16",
      "-W",
      "-n",
      "--target-is-zero",
      'json:{"driver":"vmdk","file":{"driver":"file","filename":"/srv/RHEL7_Server-000002.vmdk","aio":"io_uring"},' +
        '"backing":{"driver":"vmdk","file":{"driver":"file","filename":"/srv/RHEL7_Server.vmdk","aio":"io_uring"},"backing":null}}',
      "--target-image-opts",
      "driver=qcow2,file.driver=file,file.filename=/pool/.c.qcow2.nestlab-partial-1,file.aio=io_uring",
    ]);
  });

  it("compresses, and leaves -W out of compressed conversions (qemu-img refuses both)", () => {
    expect(
      convertArgv({
        links: [sparse("/a.vmdk")],
        output: "/o",
        compression: true,
        tuning: { outOfOrderWrites: true },
      }),
    ).toEqual([
      "qemu-img",
      "convert",
      "-f",
      "vmdk",
      "-c",
      "-n",
      "--target-is-zero",
      'json:{"driver":"vmdk","file":{"driver":"file","filename":"/a.vmdk"},"backing":null}',
      "--target-image-opts",
      "driver=qcow2,file.driver=file,file.filename=/o",
    ]);
  });

  it("builds every knob the benchmark tries", () => {
    expect(
      convertArgv({
        links: [sparse("/a")],
        output: "/o",
        tuning: {
          coroutines: 4,
          outOfOrderWrites: true,
          targetCache: "none",
          sourceCache: "none",
          aio: "threads",
        },
      }),
    ).toEqual([
      "qemu-img",
      "convert",
      "-f",
      "vmdk",
      "-m",
      "4",
      "-W",
      "-t",
      "none",
      "-T",
      "none",
      "-n",
      "--target-is-zero",
      'json:{"driver":"vmdk","file":{"driver":"file","filename":"/a","aio":"threads"},"backing":null}',
      "--target-image-opts",
      "driver=qcow2,file.driver=file,file.filename=/o,file.aio=threads",
    ]);
  });

  it("refuses a coroutine count qemu-img would refuse", () => {
    expect(() =>
      convertArgv({
        links: [{ file: "/a", format: "raw" }],
        output: "/o",
        tuning: { coroutines: 17 },
      }),
    ).toThrow("coroutines must be 1 to 16, not 17");
  });

  it("keeps a hostile file name a single argument, and doubles commas inside the target's options", () => {
    const evil = `/srv/it's a "disk" $(touch /tmp/pwned).vmdk`;
    const argv = convertArgv({ links: [sparse(evil)], output: "/pool/a,b=c.qcow2" });
    const source = argv[argv.length - 3];
    expect(json(source)).toEqual({
      driver: "vmdk",
      file: { driver: "file", filename: evil, aio: "io_uring" },
      backing: null,
    });
    expect(argv[argv.length - 1]).toBe(
      "driver=qcow2,file.driver=file,file.filename=/pool/a,,b=c.qcow2,file.aio=io_uring",
    );
    expect(optionValue(",a,,b,")).toBe(",,a,,,,b,,");
  });
});

describe("sourceName", () => {
  it("pins every link's format and file, the base without a backing file", () => {
    const links: SourceLink[] = [
      { file: "/srv/top.qcow2", format: "qcow2" },
      { file: "/srv/mid.vmdk", format: "vmdk", vmdk: { createType: "streamOptimized" } },
      { file: "/srv/base.raw", format: "raw" },
    ];
    expect(json(sourceName(links))).toEqual({
      driver: "qcow2",
      file: { driver: "file", filename: "/srv/top.qcow2" },
      backing: {
        driver: "vmdk",
        file: { driver: "file", filename: "/srv/mid.vmdk" },
        backing: { driver: "raw", file: { driver: "file", filename: "/srv/base.raw" } },
      },
    });
    expect(json(sourceName([links[0]]))).toEqual({
      driver: "qcow2",
      file: { driver: "file", filename: "/srv/top.qcow2" },
      backing: null,
    });
  });

  it("pins each extent file of a descriptor to the file driver (regular files only)", () => {
    const split: SourceLink = {
      file: "/srv/s.vmdk",
      format: "vmdk",
      vmdk: { createType: "twoGbMaxExtentFlat", extentFiles: 3 },
    };
    expect(json(sourceName([split], "io_uring"))).toEqual({
      driver: "vmdk",
      file: { driver: "file", filename: "/srv/s.vmdk" },
      extents: { "0": { driver: "file" }, "1": { driver: "file" }, "2": { driver: "file" } },
      backing: null,
    });
  });

  it("sets aio on the file of every monolithicSparse link, in chain order", () => {
    expect(
      json(
        sourceName(
          [sparse("/srv/c.vmdk"), sparse("/srv/b.vmdk"), sparse("/srv/a.vmdk")],
          "io_uring",
        ),
      ),
    ).toEqual({
      driver: "vmdk",
      file: { driver: "file", filename: "/srv/c.vmdk", aio: "io_uring" },
      backing: {
        driver: "vmdk",
        file: { driver: "file", filename: "/srv/b.vmdk", aio: "io_uring" },
        backing: {
          driver: "vmdk",
          file: { driver: "file", filename: "/srv/a.vmdk", aio: "io_uring" },
          backing: null,
        },
      },
    });
  });

  it("leaves the links QEMU may read past their end on its threads (split, streamOptimized, raw, qcow2)", () => {
    const split: SourceLink = {
      file: "/srv/s.vmdk",
      format: "vmdk",
      vmdk: { createType: "twoGbMaxExtentSparse", extentFiles: 1 },
    };
    expect(json(sourceName([split, sparse("/srv/b.vmdk")], "io_uring"))).toEqual({
      driver: "vmdk",
      file: { driver: "file", filename: "/srv/s.vmdk" },
      extents: { "0": { driver: "file" } },
      backing: {
        driver: "vmdk",
        file: { driver: "file", filename: "/srv/b.vmdk", aio: "io_uring" },
        backing: null,
      },
    });
    for (const link of [
      split,
      { file: "/srv/o.vmdk", format: "vmdk", vmdk: { createType: "streamOptimized" } },
      { file: "/srv/r.img", format: "raw" },
      { file: "/srv/q.qcow2", format: "qcow2" },
    ]) {
      expect(sourceName([link], "io_uring")).toBe(sourceName([link]));
    }
    expect(readsInsideFile(sparse("/a"))).toBe(true);
    expect(readsInsideFile(split)).toBe(false);
  });

  it("reads a disk inside an OVA as a byte range of it, never through io_uring", () => {
    const disk: SourceLink = {
      file: "/srv/a b.ova",
      format: "vmdk",
      vmdk: { createType: "monolithicSparse" },
      range: { offset: 2560, sizeBytes: 138752 },
    };
    expect(sourceName([disk], "io_uring")).toBe(
      'json:{"driver":"vmdk","file":{"driver":"raw","offset":2560,"size":138752,' +
        '"file":{"driver":"file","filename":"/srv/a b.ova"}},"backing":null}',
    );
  });

  it("keeps a hostile file name intact inside the JSON", () => {
    const evil = `/srv/it's a "disk", $(touch /tmp/pwned)\\.vmdk`;
    const tree = json(sourceName([sparse(evil)], "io_uring")) as { file: { filename: string } };
    expect(tree.file.filename).toBe(evil);
  });

  it("refuses an empty chain", () => {
    expect(() => sourceName([])).toThrow("sourceName: no links");
  });
});

describe("ioUringRefused", () => {
  it("recognises QEMU's refusals of io_uring, and nothing else", () => {
    expect(
      ioUringRefused(
        "qemu-img: Could not open 'driver=qcow2,file.driver=file,file.filename=/p/x,file.aio=io_uring': " +
          "Unable to use io_uring: failed to init linux io_uring ring",
      ),
    ).toBe(true);
    expect(
      ioUringRefused(
        "qemu-img: Could not open 'x': aio=io_uring was specified, but is not supported in this build.",
      ),
    ).toBe(true);
    expect(ioUringRefused("qemu-img: error while writing at byte 0: No space left on device")).toBe(
      false,
    );
    expect(
      ioUringRefused(
        "qemu-img: Could not open 'driver=qcow2,file.driver=file,file.filename=/p/x,file.aio=io_uring': " +
          "Could not open '/p/x': Permission denied",
      ),
    ).toBe(false);
    expect(ioUringRefused("")).toBe(false);
  });
});

describe("the other qemu-img argv", () => {
  it("creates and measures with the same qcow2 options", () => {
    expect(createTargetArgv({ output: "/o", clusterSizeKiB: 64 }, 4294967296)).toEqual([
      "qemu-img",
      "create",
      "-q",
      "-f",
      "qcow2",
      "-o",
      "cluster_size=65536",
      "/o",
      "4294967296",
    ]);
    expect(measureArgv({ links: [sparse("/a.vmdk")], preallocation: "full" })).toEqual([
      "qemu-img",
      "measure",
      "--output=json",
      "-O",
      "qcow2",
      "-o",
      "preallocation=full",
      "-f",
      "vmdk",
      'json:{"driver":"vmdk","file":{"driver":"file","filename":"/a.vmdk"},"backing":null}',
    ]);
  });

  it("reads qemu-img measure's JSON", () => {
    expect(
      parseMeasure(
        '{\n    "bitmaps": 0,\n    "required": 1234567,\n    "fully-allocated": 4295884800\n}\n',
      ),
    ).toEqual({
      requiredBytes: 1234567,
      fullyAllocatedBytes: 4295884800,
    });
  });

  it("inspects and checks one link alone: format pinned, no backing file opened", () => {
    const top: SourceLink = { file: "/srv/top.qcow2", format: "qcow2" };
    const name =
      'json:{"driver":"qcow2","file":{"driver":"file","filename":"/srv/top.qcow2"},"backing":null}';
    expect(infoArgv(top)).toEqual(["qemu-img", "info", "--output=json", "-f", "qcow2", name]);
    expect(checkArgv(top)).toEqual(["qemu-img", "check", "-q", "-f", "qcow2", name]);
  });
});

import {
  convertArgv,
  createTargetArgv,
  DEFAULT_TUNING,
  fileRangeName,
  measureArgv,
  ioUringRefused,
  optionValue,
  parseMeasure,
  readsInsideFile,
  sourceName,
} from "../../../components/volume/convert-argv";

describe("convertArgv", () => {
  it("builds the provider's conversion: detected format, progress, the default tuning, no -U", () => {
    expect(DEFAULT_TUNING).toEqual({
      coroutines: 16,
      outOfOrderWrites: true,
      aio: "io_uring",
    });
    expect(
      convertArgv({
        inputFormat: "vmdk",
        input: "/srv/RHEL7_Server-000002.vmdk",
        links: [
          { file: "/srv/RHEL7_Server-000002.vmdk", vmdk: { createType: "monolithicSparse" } },
          { file: "/srv/RHEL7_Server.vmdk", vmdk: { createType: "monolithicSparse" } },
        ],
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
      'json:{"file":{"driver":"file","filename":"/srv/RHEL7_Server-000002.vmdk","aio":"io_uring"},"backing":{"file":{"aio":"io_uring"}}}',
      "--target-image-opts",
      "driver=qcow2,file.driver=file,file.filename=/pool/.c.qcow2.nestlab-partial-1,file.aio=io_uring",
    ]);
  });

  it("compresses, and leaves -W out of compressed conversions (qemu-img refuses both)", () => {
    expect(
      convertArgv({
        inputFormat: "vmdk",
        input: "/a.vmdk",
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
      "/a.vmdk",
      "--target-image-opts",
      "driver=qcow2,file.driver=file,file.filename=/o",
    ]);
  });

  it("builds every knob the benchmark tries", () => {
    expect(
      convertArgv({
        inputFormat: "vmdk",
        input: "/a",
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
      "/a",
      "--target-image-opts",
      "driver=qcow2,file.driver=file,file.filename=/o,file.aio=threads",
    ]);
  });

  it("refuses a coroutine count qemu-img would refuse", () => {
    expect(() =>
      convertArgv({ inputFormat: "raw", input: "/a", output: "/o", tuning: { coroutines: 17 } }),
    ).toThrow("coroutines must be 1 to 16, not 17");
  });

  it("keeps a hostile file name a single argument, and doubles commas inside the target's options", () => {
    const evil = `/srv/it's a "disk" $(touch /tmp/pwned).vmdk`;
    const argv = convertArgv({ inputFormat: "vmdk", input: evil, output: "/pool/a,b=c.qcow2" });
    expect(argv.filter((a) => a === evil)).toHaveLength(1);
    expect(argv[argv.length - 1]).toBe(
      "driver=qcow2,file.driver=file,file.filename=/pool/a,,b=c.qcow2,file.aio=io_uring",
    );
    expect(optionValue(",a,,b,")).toBe(",,a,,,,b,,");
  });
});

describe("sourceName", () => {
  const sparse = (file: string) => ({ file, vmdk: { createType: "monolithicSparse" } });

  it("sets aio on the file of every monolithicSparse link, in chain order", () => {
    const name = sourceName(
      "/srv/c.vmdk",
      [sparse("/srv/c.vmdk"), sparse("/srv/b.vmdk"), sparse("/srv/a.vmdk")],
      "io_uring",
    );
    expect(JSON.parse(name.slice("json:".length))).toEqual({
      file: { driver: "file", filename: "/srv/c.vmdk", aio: "io_uring" },
      backing: { file: { aio: "io_uring" }, backing: { file: { aio: "io_uring" } } },
    });
  });

  it("leaves the links QEMU may read past their end on its threads (split, streamOptimized, raw, qcow2)", () => {
    const split = { file: "/srv/s.vmdk", vmdk: { createType: "twoGbMaxExtentSparse" } };
    expect(
      JSON.parse(sourceName("/srv/t.vmdk", [sparse("/srv/t.vmdk"), split], "threads").slice(5)),
    ).toEqual({
      file: { driver: "file", filename: "/srv/t.vmdk", aio: "threads" },
    });
    expect(
      JSON.parse(sourceName("/srv/t.vmdk", [split, sparse("/srv/b.vmdk")], "io_uring").slice(5)),
    ).toEqual({
      file: { driver: "file", filename: "/srv/t.vmdk" },
      backing: { file: { aio: "io_uring" } },
    });
    for (const link of [
      split,
      { file: "/srv/o.vmdk", vmdk: { createType: "streamOptimized" } },
      { file: "/srv/r.img" },
      { file: "/srv/q.qcow2" },
    ]) {
      expect(sourceName(link.file, [link], "io_uring")).toBe(link.file);
    }
    expect(readsInsideFile(sparse("/a"))).toBe(true);
    expect(readsInsideFile(split)).toBe(false);
  });

  it("keeps a json: name (a disk inside an OVA) as it is", () => {
    const ova = fileRangeName("/srv/lab.ova", 2560, 138752);
    expect(sourceName(ova, [sparse("/srv/lab.ova#disk1.vmdk")], "io_uring")).toBe(ova);
  });

  it("keeps a hostile file name intact inside the JSON", () => {
    const evil = `/srv/it's a "disk", $(touch /tmp/pwned)\\.vmdk`;
    const name = sourceName(evil, [sparse(evil)], "io_uring");
    expect((JSON.parse(name.slice(5)) as { file: { filename: string } }).file.filename).toBe(evil);
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
    expect(measureArgv({ inputFormat: "vmdk", input: "/a.vmdk", preallocation: "full" })).toEqual([
      "qemu-img",
      "measure",
      "--output=json",
      "-O",
      "qcow2",
      "-o",
      "preallocation=full",
      "-f",
      "vmdk",
      "/a.vmdk",
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

  it("names a byte range of an OVA as a json: file, with or without a format", () => {
    expect(fileRangeName("/srv/a b.ova", 2560, 138752)).toBe(
      'json:{"file":{"driver":"raw","offset":2560,"size":138752,"file":{"driver":"file","filename":"/srv/a b.ova"}}}',
    );
    expect(fileRangeName("/x.ova", 512, 1024, "vmdk")).toBe(
      'json:{"driver":"vmdk","file":{"driver":"raw","offset":512,"size":1024,"file":{"driver":"file","filename":"/x.ova"}}}',
    );
  });
});

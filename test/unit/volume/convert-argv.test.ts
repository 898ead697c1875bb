import {
  convertArgv,
  createTargetArgv,
  DEFAULT_TUNING,
  fileRangeName,
  measureArgv,
  parseMeasure,
  resizeArgv,
} from "../../../components/volume/convert-argv";

describe("convertArgv", () => {
  it("builds the provider's conversion: detected format, progress, the default tuning, no -U", () => {
    expect(DEFAULT_TUNING).toEqual({ coroutines: 16, outOfOrderWrites: true });
    expect(
      convertArgv({
        inputFormat: "vmdk",
        input: "/srv/RHEL7_Server-000002.vmdk",
        output: "/pool/.c.qcow2.nestlab-partial-1",
        progress: true,
      }),
    ).toEqual([
      "qemu-img",
      "convert",
      "-p",
      "-f",
      "vmdk",
      "-O",
      "qcow2",
      "-m",
      "16",
      "-W",
      "/srv/RHEL7_Server-000002.vmdk",
      "/pool/.c.qcow2.nestlab-partial-1",
    ]);
  });

  it("passes qcow2 options and compression", () => {
    expect(
      convertArgv({
        inputFormat: "vmdk",
        input: "/a.vmdk",
        output: "/o",
        compression: true,
        clusterSizeKiB: 2048,
        compat: "0.10",
        tuning: {},
      }),
    ).toEqual([
      "qemu-img",
      "convert",
      "-f",
      "vmdk",
      "-O",
      "qcow2",
      "-o",
      "cluster_size=2097152,compat=0.10",
      "-c",
      "/a.vmdk",
      "/o",
    ]);
  });

  it("builds every knob the benchmark tries, and leaves -W out of compressed conversions", () => {
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
          targetIsZero: true,
        },
      }),
    ).toEqual([
      "qemu-img",
      "convert",
      "-f",
      "vmdk",
      "-O",
      "qcow2",
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
      "/o",
    ]);
    expect(
      convertArgv({
        inputFormat: "vmdk",
        input: "/a",
        output: "/o",
        compression: true,
        tuning: { outOfOrderWrites: true },
      }),
    ).not.toContain("-W");
  });

  it("refuses a coroutine count qemu-img would refuse", () => {
    expect(() =>
      convertArgv({ inputFormat: "raw", input: "/a", output: "/o", tuning: { coroutines: 17 } }),
    ).toThrow("coroutines must be 1 to 16, not 17");
  });

  it("keeps a hostile file name a single argument", () => {
    const evil = `/srv/it's a "disk" $(touch /tmp/pwned).vmdk`;
    const argv = convertArgv({ inputFormat: "vmdk", input: evil, output: "/o" });
    expect(argv.filter((a) => a === evil)).toHaveLength(1);
  });
});

describe("the other qemu-img argv", () => {
  it("creates, measures and resizes with the same qcow2 options", () => {
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
    expect(resizeArgv("/o", 10737418240, "falloc")).toEqual([
      "qemu-img",
      "resize",
      "-q",
      "-f",
      "qcow2",
      "--preallocation=falloc",
      "/o",
      "10737418240",
    ]);
    expect(resizeArgv("/o", 10737418240)).toEqual([
      "qemu-img",
      "resize",
      "-q",
      "-f",
      "qcow2",
      "/o",
      "10737418240",
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

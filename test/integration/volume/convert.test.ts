import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "fs";
import * as path from "path";
import { provider } from "../../../components/volume/provider";
import {
  checkAndCreate,
  HOST,
  identical,
  makePool,
  qemuImg,
  rmrf,
  seedChain,
  sh,
  sourceState,
  virshOut,
  volumes,
  workDir,
  withStderrLines,
  writeData,
} from "./helpers";

jest.setTimeout(120_000);

const dir = workDir("convert");
const pool = makePool(dir, "convert");
const src = path.join(dir, "src");
sh(["mkdir", "-p", src]);

afterAll(() => {
  pool.remove();
  rmrf(dir);
});

describe("ConvertedVolume provider on real qemu-img and libvirtd", () => {
  test("converts the seed's base + -000002 delta from its top into a registered qcow2 identical to the chain, leaving the source untouched", async () => {
    const { base, top } = seedChain(src);
    const before = sourceState([base, top]);
    const { result: made, lines: progress } = await withStderrLines("ConvertedVolume t:", () =>
      checkAndCreate({ source: top, pool: pool.name, volumeName: "seed.qcow2" }),
    );
    const file = path.join(pool.path, "seed.qcow2");
    expect(made.id).toBe(file);
    expect(volumes(pool.name)).toEqual(["seed.qcow2"]);
    expect(readdirSync(pool.path)).toEqual(["seed.qcow2"]);
    // libvirt and qemu-img agree on the sizes, and the outputs say the same.
    const info = JSON.parse(qemuImg("info", "--output=json", file));
    const volInfo = virshOut("vol-info", "--bytes", "--pool", pool.name, "seed.qcow2");
    expect(info.format).toBe("qcow2");
    expect(volInfo).toContain(`Capacity:       ${info["virtual-size"]} bytes`);
    expect(made.outs).toMatchObject({
      format: "qcow2",
      virtualSizeBytes: 256 * 1024 * 1024,
      path: file,
      volumeName: "seed.qcow2",
    });
    expect(volInfo).toContain(`Allocation:     ${made.outs.allocatedBytes} bytes`);
    // The whole chain is in it: identical to the top, different from the base alone.
    expect(identical(top, "vmdk", file, "qcow2")).toBe(true);
    expect(identical(base, "vmdk", file, "qcow2")).toBe(false);
    expect(made.outs.chain).toEqual([
      expect.objectContaining({ file: top, format: "vmdk", createType: "monolithicSparse" }),
      expect.objectContaining({
        file: base,
        format: "vmdk",
        createType: "monolithicSparse",
        parentCid: 4294967295,
      }),
    ]);
    const chain = made.outs.chain as { cid: number; parentCid: number }[];
    expect(chain[0].parentCid).toBe(chain[1].cid);
    expect(sourceState([base, top])).toEqual(before);
    // Progress went to stderr (which the engine shows), a few lines, not a flood.
    expect(progress[0]).toContain("converting 2 link(s) of vmdk to qcow2");
    expect(progress.some((l) => / 100% after \d+ s$/.test(l))).toBe(true);
    expect(progress[progress.length - 1]).toMatch(
      /done in \d+ s, \d+ bytes \([\d.]+ [MG]iB\) on disk\.$/,
    );
    expect(progress.length).toBeLessThan(10);
    // This kernel gives QEMU an io_uring: no second attempt with worker threads.
    expect(progress.filter((l) => l.includes("io_uring"))).toEqual([]);

    // A second look at the unchanged source gives the same fingerprint: no reconversion.
    const again = await provider.check(
      {},
      { host: HOST, resourceName: "t", source: top, pool: pool.name, volumeName: "seed.qcow2" },
    );
    expect(await provider.diff(made.id, made.outs, again.inputs)).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });

    // Writing into the delta changes its line of the fingerprint: a replacement, naming sourceFingerprint.
    writeData(top, "vmdk", 0xee, [90]); // inside the 256 MiB disk
    const changed = await provider.check(
      {},
      { host: HOST, resourceName: "t", source: top, pool: pool.name, volumeName: "seed.qcow2" },
    );
    expect(await provider.diff(made.id, made.outs, changed.inputs)).toEqual({
      changes: true,
      replaces: ["sourceFingerprint"],
      deleteBeforeReplace: true,
    });
    const oldPrint = made.outs.sourceFingerprint as Record<string, string>;
    const newPrint = changed.inputs.sourceFingerprint as Record<string, string>;
    expect(newPrint[top]).not.toBe(oldPrint[top]);
    expect(newPrint[base]).toBe(oldPrint[base]);

    // Destroy deletes the volume, only the volume.
    const beforeDelete = sourceState([base, top]);
    await provider.delete(made.id, made.outs);
    expect(volumes(pool.name)).toEqual([]);
    expect(readdirSync(pool.path)).toEqual([]);
    expect(sourceState([base, top])).toEqual(beforeDelete);
    // Already gone is success.
    await provider.delete(made.id, made.outs);
  });

  test("mode base converts the bottom of the chain alone", async () => {
    const d = path.join(src, "base-mode");
    sh(["mkdir", "-p", d]);
    const { base, top } = seedChain(d);
    const made = await checkAndCreate({
      source: top,
      pool: pool.name,
      volumeName: "base-only.qcow2",
      mode: "base",
    });
    expect(identical(base, "vmdk", made.id, "qcow2")).toBe(true);
    expect(identical(top, "vmdk", made.id, "qcow2")).toBe(false);
    expect((made.outs.chain as unknown[]).length).toBe(1);
    await provider.delete(made.id, made.outs);
  });

  test("converts a streamOptimized vmdk", async () => {
    const so = path.join(src, "stream.vmdk");
    qemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=streamOptimized", so, "64M");
    writeData(so, "vmdk", 0x42, [1, 30]);
    const made = await checkAndCreate({ source: so, pool: pool.name, volumeName: "stream.qcow2" });
    expect(identical(so, "vmdk", made.id, "qcow2")).toBe(true);
    expect(made.outs.chain).toEqual([expect.objectContaining({ createType: "streamOptimized" })]);
    await provider.delete(made.id, made.outs);
  });

  test("converts a split (twoGbMaxExtentSparse) vmdk, fingerprinting every extent", async () => {
    const d = path.join(src, "split");
    sh(["mkdir", "-p", d]);
    const desc = path.join(d, "split.vmdk");
    qemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", desc, "3G");
    writeData(desc, "vmdk", 0x5a, [10, 2100, 3000]);
    const made = await checkAndCreate({ source: desc, pool: pool.name, volumeName: "split.qcow2" });
    expect(identical(desc, "vmdk", made.id, "qcow2")).toBe(true);
    expect(Object.keys(made.outs.sourceFingerprint as object).sort()).toEqual(
      [desc, path.join(d, "split-s001.vmdk"), path.join(d, "split-s002.vmdk")].sort(),
    );
    await provider.delete(made.id, made.outs);
  });

  test("converts an empty split vmdk and a chain over one, whose small descriptors QEMU reads past their end", async () => {
    // QEMU 7.2 waits forever on such a read through io_uring: these links stay on its threads.
    const d = path.join(src, "split-empty");
    sh(["mkdir", "-p", d]);
    const desc = path.join(d, "empty.vmdk");
    const top = path.join(d, "top.vmdk");
    qemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", desc, "3G");
    qemuImg("create", "-q", "-f", "vmdk", "-b", "empty.vmdk", "-F", "vmdk", top);
    writeData(top, "vmdk", 0x6b, [7]);
    const empty = await checkAndCreate({
      source: desc,
      pool: pool.name,
      volumeName: "empty.qcow2",
    });
    const over = await checkAndCreate({ source: top, pool: pool.name, volumeName: "over.qcow2" });
    expect(identical(desc, "vmdk", empty.id, "qcow2")).toBe(true);
    expect(identical(top, "vmdk", over.id, "qcow2")).toBe(true);
    expect(identical(desc, "vmdk", over.id, "qcow2")).toBe(false);
    await provider.delete(empty.id, empty.outs);
    await provider.delete(over.id, over.outs);
  });

  test("passes a qcow2 through as it is, converts it when asked, and keeps a raw image raw", async () => {
    const q = path.join(src, "disk.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=131072", q, "64M");
    writeData(q, "qcow2", 0x11, [3]);
    const copied = await checkAndCreate({ source: q, pool: pool.name, volumeName: "copied.qcow2" });
    expect(sh(["cmp", q, copied.id])).toBe("");
    const converted = await checkAndCreate({
      source: q,
      pool: pool.name,
      volumeName: "converted.qcow2",
      convert: true,
    });
    expect(JSON.parse(qemuImg("info", "--output=json", converted.id))["cluster-size"]).toBe(65536);
    expect(identical(q, "qcow2", converted.id, "qcow2")).toBe(true);
    const raw = path.join(src, "disk.raw");
    qemuImg("convert", "-f", "qcow2", "-O", "raw", q, raw);
    const rawVol = await checkAndCreate({ source: raw, pool: pool.name });
    expect(rawVol.outs).toMatchObject({ format: "raw", volumeName: "t.img" });
    expect(virshOut("vol-dumpxml", "--pool", pool.name, "t.img")).toContain("<format type='raw'/>");
    for (const v of [copied, converted, rawVol]) await provider.delete(v.id, v.outs);
    expect(volumes(pool.name)).toEqual([]);
  });

  test("grows the volume to virtualSizeGiB", async () => {
    const so = path.join(src, "small.vmdk");
    qemuImg("create", "-q", "-f", "vmdk", so, "64M");
    writeData(so, "vmdk", 0x33, [0]);
    const made = await checkAndCreate({
      source: so,
      pool: pool.name,
      volumeName: "grown.qcow2",
      virtualSizeGiB: 1,
    });
    expect(made.outs.virtualSizeBytes).toBe(1024 ** 3);
    expect(virshOut("vol-info", "--bytes", "--pool", pool.name, "grown.qcow2")).toContain(
      "Capacity:       1073741824 bytes",
    );
    // The source's 64 MiB, then zeros (qemu-img compare reads past the shorter image as zeros).
    expect(identical(so, "vmdk", made.id, "qcow2")).toBe(true);
    await provider.delete(made.id, made.outs);
  });

  test("shapes the qcow2 as asked: compression, cluster size, compat; preallocation at the grown size", async () => {
    const d = path.join(src, "shaped");
    sh(["mkdir", "-p", d]);
    const { top } = seedChain(d, 64);
    const packed = await checkAndCreate({
      source: top,
      pool: pool.name,
      volumeName: "packed.qcow2",
      compression: true,
      clusterSizeKiB: 128,
      compat: "0.10",
    });
    const info = JSON.parse(qemuImg("info", "--output=json", packed.id));
    expect([info["cluster-size"], info["format-specific"].data.compat]).toEqual([131072, "0.10"]);
    const check = JSON.parse(
      sh(["qemu-img", "check", "--output=json", "-f", "qcow2", packed.id]),
    ) as { "compressed-clusters": number; "allocated-clusters": number };
    // Every data cluster of the chain is filled with one byte value: all of them compress.
    expect(check["compressed-clusters"]).toBe(check["allocated-clusters"]);
    expect(check["compressed-clusters"]).toBeGreaterThan(0);
    expect(identical(top, "vmdk", packed.id, "qcow2")).toBe(true);

    const full = await checkAndCreate({
      source: top,
      pool: pool.name,
      volumeName: "falloc.qcow2",
      preallocation: "falloc",
      virtualSizeGiB: 1,
    });
    expect([full.outs.virtualSizeBytes, full.outs.preallocation]).toEqual([1024 ** 3, "falloc"]);
    // falloc reserves the whole grown size on disk, not only the converted data.
    expect(statSync(full.id).blocks * 512).toBeGreaterThanOrEqual(1024 ** 3);
    expect(identical(top, "vmdk", full.id, "qcow2")).toBe(true);
    await provider.delete(packed.id, packed.outs);
    await provider.delete(full.id, full.outs);
  });

  test("converts with QEMU's worker threads on a host whose kernel refuses io_uring", async () => {
    const d = path.join(src, "no-uring");
    sh(["mkdir", "-p", d]);
    const { top } = seedChain(d, 64);
    const knob = "/proc/sys/kernel/io_uring_disabled";
    const was = readFileSync(knob, "utf8").trim();
    writeFileSync(knob, "2\n"); // io_uring_setup() fails with EPERM for every process
    let result;
    try {
      result = await withStderrLines("ConvertedVolume t:", () =>
        checkAndCreate({ source: top, pool: pool.name, volumeName: "threads.qcow2" }),
      );
    } finally {
      writeFileSync(knob, `${was}\n`);
    }
    const { result: made, lines } = result;
    expect(lines.filter((l) => l.includes("io_uring"))).toEqual([
      expect.stringMatching(
        /: this machine gives QEMU no io_uring; converting with its worker threads$/,
      ),
    ]);
    expect(identical(top, "vmdk", made.id, "qcow2")).toBe(true);
    expect(volumes(pool.name)).toContain("threads.qcow2");
    expect(readdirSync(pool.path).filter((f) => f.includes("nestlab-partial"))).toEqual([]);
    await provider.delete(made.id, made.outs);
  });

  test("takes paths with spaces, quotes and $(…) as plain arguments", async () => {
    const d = path.join(src, `it's a "lab" $(touch pwned)`);
    sh(["mkdir", "-p", d]);
    const { top } = seedChain(d, 64);
    const made = await checkAndCreate({ source: top, pool: pool.name, volumeName: "odd.qcow2" });
    expect(identical(top, "vmdk", made.id, "qcow2")).toBe(true);
    expect(existsSync("pwned")).toBe(false);
    expect(existsSync(path.join(src, "pwned"))).toBe(false);
    await provider.delete(made.id, made.outs);
  });

  test("removes the leftovers of a killed run before converting, and never lists them as volumes", async () => {
    const d = path.join(src, "leftover");
    sh(["mkdir", "-p", d]);
    const { top } = seedChain(d, 64);
    const leftover = path.join(pool.path, ".again.qcow2.nestlab-partial-99999-dead");
    writeFileSync(leftover, "half a conversion");
    const made = await checkAndCreate({ source: top, pool: pool.name, volumeName: "again.qcow2" });
    expect(readdirSync(pool.path)).toEqual(["again.qcow2"]);
    expect(volumes(pool.name)).toEqual(["again.qcow2"]);
    await provider.delete(made.id, made.outs);
  });
});

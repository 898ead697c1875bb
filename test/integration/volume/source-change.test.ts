import { renameSync, statSync, utimesSync } from "fs";
import * as path from "path";
import { ConvertedVolumeInputs, provider } from "../../../components/volume/provider";
import {
  checkAndCreate,
  HOST,
  identical,
  Outs,
  makePool,
  MiB,
  qemuImg,
  rmrf,
  seedChain,
  sh,
  withStderrLines,
  workDir,
  writeData,
} from "./helpers";

// What makes a volume again: the source's content, never where its files are
// or when they were last touched. Each step runs check() and diff() as the
// engine does on the next `pulumi up`, against the state create() left.

jest.setTimeout(120_000);

const dir = workDir("change");
const pool = makePool(dir, "change");
const src = path.join(dir, "src");
sh(["mkdir", "-p", src]);

afterAll(() => {
  pool.remove();
  rmrf(dir);
});

/** What the next `pulumi up` decides for this state: the engine's check (with the last inputs), then diff. */
async function nextUp(
  made: { id: string; outs: Outs },
  lastInputs: Partial<ConvertedVolumeInputs>,
) {
  const { result, lines } = await withStderrLines("ConvertedVolume t:", async () => {
    const checked = await provider.check(lastInputs, {
      host: HOST,
      resourceName: "t",
      source: made.outs.source,
      pool: made.outs.pool,
      volumeName: made.outs.volumeName,
      onSourceChange: made.outs.onSourceChange,
    });
    expect(checked.failures ?? []).toEqual([]);
    return {
      inputs: checked.inputs,
      diff: await provider.diff(made.id, made.outs, checked.inputs),
    };
  });
  return { ...result, lines };
}

const same = { changes: false, replaces: [], deleteBeforeReplace: false };
const replaced = { changes: true, replaces: ["sourceFingerprint"], deleteBeforeReplace: true };

/** Puts a copy of `file` (same bytes) in its place: another inode, a new mtime unless `keepTimes`. */
function copyInPlace(file: string, keepTimes: boolean): void {
  const copy = path.join(dir, "elsewhere");
  sh(["cp", ...(keepTimes ? ["--preserve=timestamps"] : []), "--", file, copy]);
  renameSync(copy, file);
}

describe("a vmdk chain: the content key is its CIDs, sizes and headers", () => {
  test("touched, copied elsewhere and back, moved to another inode: the volume stays; written by QEMU: it is made again", async () => {
    const { base, top } = seedChain(src, 64);
    const made = await checkAndCreate({ source: top, pool: pool.name, volumeName: "chain.qcow2" });
    const last: Partial<ConvertedVolumeInputs> = { ...made.outs };

    const later = new Date(Date.now() + 3600_000);
    utimesSync(top, later, later);
    utimesSync(base, later, later);
    expect((await nextUp(made, last)).diff).toEqual(same);

    const inode = statSync(top).ino;
    copyInPlace(top, false);
    copyInPlace(base, true);
    expect(statSync(top).ino).not.toBe(inode);
    const moved = await nextUp(made, last);
    expect(moved.diff).toEqual(same);
    // The state's key names each file's content only, and the inputs record where the files are now.
    expect(moved.inputs.sourceFingerprint).toEqual(made.outs.sourceFingerprint);
    expect((moved.inputs.sourceIdentity as Record<string, string>)[top]).toContain(
      `inode=${statSync(top).ino} `,
    );
    expect(moved.lines).toEqual([]);

    // A write into an allocated grain changes neither the size nor the grain tables, but QEMU gives the disk a new CID.
    const cid = (made.outs.chain as { cid: number }[])[0].cid;
    const sizeBefore = statSync(top).size;
    writeData(top, "vmdk", 0x77, [5]);
    expect(statSync(top).size).toBe(sizeBefore);
    const written = await nextUp(made, last);
    expect(written.diff).toEqual(replaced);
    const line = (written.inputs.sourceFingerprint as Record<string, string>)[top];
    expect(line).toMatch(/^size=\d+ head=[0-9a-f]{16} format=vmdk cid=\d+ parentCid=\d+$/);
    expect(line).not.toContain(`cid=${cid} `);
    await provider.delete(made.id, made.outs);
  });
});

describe("qcow2 and raw: the content key is the size, the header and the allocation map", () => {
  test("a qcow2: touched or copied, it stays; a new cluster or a range discarded, it is made again; a rewrite in place is said, not seen", async () => {
    const file = path.join(src, "disk.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", file, "64M");
    writeData(file, "qcow2", 0x11, [0, 3]);
    const made = await checkAndCreate({ source: file, pool: pool.name, volumeName: "q.qcow2" });
    expect(made.outs.format).toBe("qcow2");
    let last: Partial<ConvertedVolumeInputs> = { ...made.outs };

    copyInPlace(file, false);
    const copied = await nextUp(made, last);
    expect(copied.diff).toEqual(same);
    // Written since the last look with the same key: the preview says what the key cannot see.
    expect(copied.lines).toEqual([
      `ConvertedVolume t: ${file} was written since the last look (its mtime changed), but its size, header and allocation map did not: ` +
        `a qcow2 or raw image rewritten in place shows nothing else, so the volume is kept. ` +
        `If its content did change, make the volume again: pulumi up --replace <the ConvertedVolume's URN>.`,
    ]);
    // Said once: the engine keeps the new inputs as the last ones.
    last = copied.inputs;
    expect((await nextUp(made, last)).lines).toEqual([]);

    // In place, in a cluster it already holds: no metadata changes.
    writeData(file, "qcow2", 0x22, [0]);
    const rewritten = await nextUp(made, last);
    expect(rewritten.diff).toEqual(same);
    expect(rewritten.lines).toHaveLength(1);
    last = rewritten.inputs;

    // Discarded: the file keeps its size, the map does not.
    const size = statSync(file).size;
    sh(["qemu-io", "-f", "qcow2", "-c", `discard 0 ${MiB}`, file]);
    expect(statSync(file).size).toBe(size);
    const discarded = await nextUp(made, last);
    expect(discarded.diff).toEqual(replaced);
    // Written again elsewhere: QEMU reuses the freed clusters (same size), and the map tells.
    writeData(file, "qcow2", 0x33, [9]);
    expect(statSync(file).size).toBe(size);
    const reused = await nextUp(made, last);
    expect(reused.diff).toEqual(replaced);
    const lineOf = (r: { inputs: ConvertedVolumeInputs }) =>
      (r.inputs.sourceFingerprint as Record<string, string>)[file];
    expect(lineOf(reused)).not.toBe(lineOf(discarded));
    expect(lineOf(reused).replace(/ map=\w+$/, "")).toBe(
      lineOf(discarded).replace(/ map=\w+$/, ""),
    );
    await provider.delete(made.id, made.outs);
  });

  test("a raw image: a write into a hole keeps its size but makes the volume again", async () => {
    const file = path.join(src, "disk.img");
    sh(["truncate", "-s", "32M", file]);
    writeData(file, "raw", 0x44, [1]);
    const made = await checkAndCreate({ source: file, pool: pool.name, volumeName: "r.img" });
    expect(made.outs.format).toBe("raw");
    const last: Partial<ConvertedVolumeInputs> = { ...made.outs };
    const size = statSync(file).size;
    writeData(file, "raw", 0x55, [20]);
    expect(statSync(file).size).toBe(size);
    expect((await nextUp(made, last)).diff).toEqual(replaced);
    await provider.delete(made.id, made.outs);
  });
});

describe('onSourceChange: "keep"', () => {
  test("a changed source keeps the volume and says so; the state keeps what the volume was made from", async () => {
    const d = path.join(src, "keep");
    sh(["mkdir", "-p", d]);
    const { top } = seedChain(d, 64);
    const made = await checkAndCreate({
      source: top,
      pool: pool.name,
      volumeName: "kept.qcow2",
      onSourceChange: "keep",
    });
    writeData(top, "vmdk", 0x66, [7]);
    const next = await nextUp(made, { ...made.outs });
    expect(next.diff).toEqual(same);
    expect(next.lines).toEqual([
      `ConvertedVolume t: ${top} changed since the volume was made; the volume is kept as it is (onSourceChange: "keep").`,
    ]);
    expect(identical(top, "vmdk", made.id, "qcow2")).toBe(false);
    await provider.delete(made.id, made.outs);
  });
});

describe("a source written while it is copied", () => {
  test.each([
    ["touched", (f: string) => utimesSync(f, new Date(), new Date(Date.now() + 5000))],
    ["replaced by a copy of itself", (f: string) => copyInPlace(f, true)],
  ])("%s: the copy is discarded, the pool left as it was", async (_what, change) => {
    const d = path.join(src, `torn-${_what.length}`);
    sh(["mkdir", "-p", d]);
    const { top } = seedChain(d, 64);
    // The provider says "converting" after its first look and before the copy: change the source then.
    const write = process.stderr.write.bind(process.stderr);
    const spy = jest
      .spyOn(process.stderr, "write")
      .mockImplementation((chunk: string | Uint8Array) => {
        if (String(chunk).includes("converting")) change(top);
        return write(chunk);
      });
    try {
      await expect(
        checkAndCreate({ source: top, pool: pool.name, volumeName: "torn.qcow2" }),
      ).rejects.toThrow(
        `source: ${top} changed while it was being read; the copy may be torn and was discarded. ` +
          `Stop whatever writes to the source, then run again.`,
      );
    } finally {
      spy.mockRestore();
    }
    expect(sh(["ls", "-A", pool.path]).split("\n").filter(Boolean)).not.toContain("torn.qcow2");
  });
});

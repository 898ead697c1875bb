import { ChildProcess, spawn } from "child_process";
import { existsSync, readdirSync, readlinkSync, statSync } from "fs";
import * as path from "path";
import {
  OverlayInputs,
  OverlayOutputs,
  provider,
} from "../../../components/volume/overlay-provider";
import { provider as volumeProvider } from "../../../components/volume/provider";
import {
  checkAndCreate,
  HOST,
  identical,
  makePool,
  MiB,
  qemuImg,
  rmrf,
  sh,
  virshOut,
  volumes,
  workDir,
  writeData,
} from "./helpers";

// A lab's disk as a copy-on-write overlay of the hypervisor's base volume,
// made by libvirt (vol-create with a backing store). No guest boots: a 32 MiB
// base, a few overlays, one `sleep` holding a file. Costs about two seconds.

jest.setTimeout(60_000);

const dir = workDir("overlay");
const pool = makePool(dir, "overlay");
const src = path.join(dir, "src");
sh(["mkdir", "-p", src]);
const source = path.join(src, "base-src.qcow2");
qemuImg("create", "-q", "-f", "qcow2", source, "32M");
writeData(source, "qcow2", 0x5a, [1, 7, 30]);

afterAll(() => {
  pool.remove();
  rmrf(dir);
});

interface QemuImgInfo {
  readonly format: string;
  readonly "backing-filename"?: string;
  readonly "backing-filename-format"?: string;
  readonly "virtual-size": number;
  readonly "actual-size": number;
}

function info(file: string): QemuImgInfo {
  return JSON.parse(qemuImg("info", "--output=json", file)) as QemuImgInfo;
}

function inputs(more: Partial<OverlayInputs> & { backingPath: string }): OverlayInputs {
  return {
    host: HOST,
    pool: pool.name,
    volumeName: "lab-s07.qcow2",
    backingFormat: "qcow2",
    generation: 0,
    label: "lab of student s07",
    ...more,
  };
}

async function create(given: OverlayInputs): Promise<{ id: string; outs: OverlayOutputs }> {
  const checked = await provider.check({}, given);
  if (checked.failures?.length) throw new Error(checked.failures.map((f) => f.reason).join("\n"));
  return provider.create(checked.inputs);
}

/** A process that holds `file` open until killed. */
async function holdOpen(file: string): Promise<ChildProcess> {
  const child = spawn("sh", ["-c", 'exec 3<"$1"; exec sleep 60', "sh", file], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const fds = existsSync(`/proc/${child.pid}/fd`) ? readdirSync(`/proc/${child.pid}/fd`) : [];
    const held = fds.some((fd) => {
      try {
        return readlinkSync(`/proc/${child.pid}/fd/${fd}`) === file;
      } catch {
        return false;
      }
    });
    if (held) return child;
    if (Date.now() > deadline) throw new Error(`sleep did not open ${file}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("OverlayVolume: a qcow2 overlay of the base volume, through libvirt", () => {
  test("is made empty on the base, protects the base, refuses to go while held, and a reset makes a new file", async () => {
    const base = await checkAndCreate({ source, pool: pool.name, volumeName: "base.qcow2" });
    const overlay = await create(inputs({ backingPath: base.id }));
    const file = path.join(pool.path, "lab-s07.qcow2");
    expect(overlay.id).toBe(file);
    expect(overlay.outs).toMatchObject({ path: file, virtualSizeBytes: 32 * MiB });

    // What qemu-img reads from the file's own header: a qcow2 on the base, the base's format pinned.
    const made = info(file);
    expect(made.format).toBe("qcow2");
    expect(made["backing-filename"]).toBe(base.id);
    expect(made["backing-filename-format"]).toBe("qcow2");
    expect(made["virtual-size"]).toBe(32 * MiB);
    // Nothing copied: the overlay holds its qcow2 header and tables only.
    expect(made["actual-size"]).toBeLessThanOrEqual(512 * 1024);
    expect(overlay.outs.allocatedBytes).toBeLessThanOrEqual(512 * 1024);
    expect(identical(file, "qcow2", base.id, "qcow2")).toBe(true);
    expect(virshOut("vol-dumpxml", "--pool", pool.name, "lab-s07.qcow2")).toContain(
      `<path>${base.id}</path>`,
    );

    // The base cannot go while an overlay rests on it.
    await expect(volumeProvider.delete(base.id, base.outs)).rejects.toThrow(
      `${base.id} is the backing file of 1 volume in pool "${pool.name}" on this machine (${file}): deleting it would make them ` +
        `unreadable and lose everything written to them. Delete those volumes first (or reset the labs on them), then run again.`,
    );
    expect(existsSync(base.id)).toBe(true);

    // The lab writes into its overlay, never into the base.
    const baseBefore = statSync(base.id).mtimeMs;
    writeData(file, "qcow2", 0x77, [3]);
    expect(identical(file, "qcow2", base.id, "qcow2")).toBe(false);
    expect(statSync(base.id).mtimeMs).toBe(baseBefore);

    // Held by a process (a running lab's QEMU): not deleted.
    const holder = await holdOpen(file);
    try {
      await expect(provider.delete(overlay.id, overlay.outs)).rejects.toThrow(
        `${file} is in use by sleep (pid ${holder.pid}) on this machine: deleting it now would pull the disk`,
      );
      expect(existsSync(file)).toBe(true);
    } finally {
      holder.kill("SIGKILL");
    }

    // A reset: the preview names it, the engine deletes the old overlay and makes a new one.
    const reset = await provider.check(
      overlay.outs,
      inputs({ backingPath: base.id, generation: 1 }),
    );
    expect(reset.failures).toBeUndefined();
    expect(reset.inputs.updatePlan).toBe(
      "replace: generation (lab of student s07 reset: its state is lost)",
    );
    expect(await provider.diff(overlay.id, overlay.outs, reset.inputs)).toEqual({
      changes: true,
      replaces: ["generation"],
      deleteBeforeReplace: true,
    });
    await provider.delete(overlay.id, overlay.outs);
    expect(existsSync(file)).toBe(false);
    const again = await provider.create(reset.inputs);
    expect(again.outs.fileId).not.toBe(overlay.outs.fileId);
    expect(again.outs.generation).toBe(1);
    expect(again.outs).not.toHaveProperty("updatePlan");
    expect(identical(file, "qcow2", base.id, "qcow2")).toBe(true);
    expect(info(file)["backing-filename"]).toBe(base.id);

    // Another base under the same overlay is refused unless it is reset with it.
    const moved = await provider.check(
      again.outs,
      inputs({ backingPath: "/elsewhere/base.qcow2", generation: 1 }),
    );
    expect(moved.failures).toEqual([
      {
        property: "backingPath",
        reason:
          `lab of student s07 rests on ${base.id}; it cannot move to /elsewhere/base.qcow2, since what was written into it only ` +
          `makes sense on top of its own base. Reset it (raise generation) to make it anew on the new base, which loses its state, ` +
          `or keep the base as it is (onSourceChange: "keep").`,
      },
    ]);

    // A name taken is never overwritten.
    await expect(create(inputs({ backingPath: base.id }))).rejects.toThrow(
      `volumeName: "lab-s07.qcow2" already exists in pool "${pool.name}" on this machine, and this stack did not create it`,
    );

    // Overlay gone: the base goes too, and nothing is left.
    await provider.delete(again.id, again.outs);
    await provider.delete(again.id, again.outs); // already gone is success
    await volumeProvider.delete(base.id, base.outs);
    expect(volumes(pool.name)).toEqual([]);
    expect(readdirSync(pool.path)).toEqual([]);
  });
});

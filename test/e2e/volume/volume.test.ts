import { spawnSync } from "child_process";
import { createHash } from "crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { throwawayStack, ThrowawayStack } from "../harness";
import { makeDirPool, poolVolumes, virsh } from "../../support/virsh";
import { makeVmdkChainSync, mibWrites, writeDataSync } from "../../support/vmdk-chain";

// A ConvertedVolume through the Automation API and the real engine: up,
// preview with no changes, a changed source shown as a replacement naming
// sourceFingerprint, destroy (the volume gone, the source byte-identical),
// and retainOnDelete honoured.

jest.setTimeout(600_000);

const dir = mkdtempSync(path.join(os.tmpdir(), "nlt-volume-e2e-"));
const poolName = `nlt-volume-e2e-${process.pid}`;
const poolPath = path.join(dir, "pool");
let base: string;
let top: string;
const sums = () =>
  [base, top].map(
    (f) => `${createHash("sha256").update(readFileSync(f)).digest("hex")} ${statSync(f).mtimeMs}`,
  );
const volumes = () => poolVolumes(poolName);
let pool: { remove(): void };
const stacks: ThrowawayStack[] = [];

beforeAll(() => {
  ({ base, top } = makeVmdkChainSync(dir));
  pool = makeDirPool(poolName, poolPath);
});

afterAll(async () => {
  for (const s of stacks) await s.dispose();
  pool?.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe("ConvertedVolume through the Pulumi engine", () => {
  test("up, no changes, a changed source previews as a replacement naming sourceFingerprint, destroy leaves the source byte-identical", async () => {
    const stack = await throwawayStack({
      workDir: path.join(__dirname, "program"),
      config: { source: top, pool: poolName, volumeName: "e2e.qcow2" },
    });
    stacks.push(stack);
    const before = sums();
    const up = await stack.stack.up({ onOutput: () => undefined });
    expect(up.summary.result).toBe("succeeded");
    const file = path.join(poolPath, "e2e.qcow2");
    expect(up.outputs.path.value).toBe(file);
    expect(up.outputs.format.value).toBe("qcow2");
    expect(volumes()).toEqual(["e2e.qcow2"]);
    expect(
      spawnSync("qemu-img", ["compare", "-q", "-f", "vmdk", "-F", "qcow2", top, file]).status,
    ).toBe(0);
    expect(sums()).toEqual(before);

    // Nothing changed: the preview says so (and fails if anything would change).
    const same = await stack.stack.preview({ expectNoChanges: true, onOutput: () => undefined });
    expect(same.changeSummary).toEqual({ same: 3 });

    // New content in the delta: a replacement of the dynamic resource, naming the property.
    writeDataSync(top, "vmdk", mibWrites(0x99, [30]));
    const events: EngineEvent[] = [];
    const changed = await stack.stack.preview({
      diff: true,
      onEvent: (e) => events.push(e),
      onOutput: () => undefined,
    });
    expect(changed.changeSummary).toEqual({ same: 2, replace: 1 });
    const steps = events
      .map((e) => e.resourcePreEvent?.metadata)
      .filter((m) => m !== undefined && m.op !== "same")
      .map((m) => ({ op: m!.op, type: m!.type, replaceKeys: m!.keys }));
    // The same path is reused, so the old volume goes first (deleteBeforeReplace).
    expect(steps).toEqual([
      {
        op: "delete-replaced",
        type: "pulumi-nodejs:dynamic/nestlab:ConvertedVolume",
        replaceKeys: undefined,
      },
      {
        op: "replace",
        type: "pulumi-nodejs:dynamic/nestlab:ConvertedVolume",
        replaceKeys: ["sourceFingerprint"],
      },
      {
        op: "create-replacement",
        type: "pulumi-nodejs:dynamic/nestlab:ConvertedVolume",
        replaceKeys: ["sourceFingerprint"],
      },
    ]);
    // The diff names the property and, inside it, the file whose facts changed.
    expect(changed.stdout).toContain("~ sourceFingerprint: {");
    expect(changed.stdout).toContain(`~ ${top}: "size=`);

    const afterWrite = sums();
    const destroyed = await stack.stack.destroy({ onOutput: () => undefined });
    expect(destroyed.summary.result).toBe("succeeded");
    expect(volumes()).toEqual([]);
    expect(existsSync(file)).toBe(false);
    expect(sums()).toEqual(afterWrite);
  });

  test("retainOnDelete keeps the volume on destroy", async () => {
    const stack = await throwawayStack({
      workDir: path.join(__dirname, "program"),
      config: { source: top, pool: poolName, volumeName: "kept.qcow2", retain: "true" },
    });
    stacks.push(stack);
    await stack.stack.up({ onOutput: () => undefined });
    await stack.stack.destroy({ onOutput: () => undefined });
    expect(volumes()).toEqual(["kept.qcow2"]);
    virsh("vol-delete", "--pool", poolName, "kept.qcow2");
  });
});

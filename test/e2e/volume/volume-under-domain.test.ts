import { spawnSync } from "child_process";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  utimesSync,
} from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { throwawayStack, ThrowawayStack } from "../harness";
import { makeDirPool, virsh } from "../../support/virsh";
import { makeVmdkChainSync, mibWrites, writeDataSync } from "../../support/vmdk-chain";

// A volume that a running domain uses, through the real engine: a touched
// source changes nothing; new content in it replaces the volume and the
// domain in one plan, the domain deleted before the volume, with the reason
// in the domain's updatePlan; afterwards the guest runs on the new file and
// no QEMU holds a deleted one. One small chain, one tiny TCG guest with
// nothing to boot: about a minute.

jest.setTimeout(600_000);

const dir = mkdtempSync(path.join(os.tmpdir(), "nlt-volume-domain-e2e-"));
chmodSync(dir, 0o755); // libvirt's QEMU opens the pool's files
const poolName = `nlt-volume-domain-e2e-${process.pid}`;
const poolPath = path.join(dir, "pool");
const domainName = `nlt-volume-domain-e2e-${process.pid}`;
const volumeFile = path.join(poolPath, `${domainName}.qcow2`);
let pool: { remove(): void };
let stack: ThrowawayStack;

beforeAll(async () => {
  pool = makeDirPool(poolName, poolPath);
  const { top } = makeVmdkChainSync(dir);
  stack = await throwawayStack({
    workDir: path.join(__dirname, "domain-program"),
    config: { source: top, pool: poolName, domainName },
  });
});

afterAll(async () => {
  await stack?.dispose();
  pool?.remove();
  rmSync(dir, { recursive: true, force: true });
});

/** What the domain's QEMU has open: the targets of /proc/<pid>/fd. */
function qemuFiles(): string[] {
  const pid = Number(readFileSync(`/run/libvirt/qemu/${domainName}.pid`, "utf8").trim());
  return readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return "";
    }
  });
}

test("touched: nothing changes; new content: volume and domain replaced in one plan, the guest on the new file", async () => {
  const top = path.join(dir, "RHEL7_Server-000002.vmdk");
  const up = await stack.stack.up({ onOutput: () => undefined });
  expect(up.summary.result).toBe("succeeded");
  expect(up.outputs.state.value).toBe("running");
  expect(qemuFiles()).toContain(volumeFile);
  const firstUuid = up.outputs.uuid.value as string;

  // Touched (no byte changed): nothing to do.
  const later = new Date(Date.now() + 3600_000);
  utimesSync(top, later, later);
  const touched = await stack.stack.up({ onOutput: () => undefined });
  expect(touched.summary.resourceChanges).toEqual({ same: 5 });

  // New content in the delta: one plan replaces the volume and the domain on it, with the reason.
  writeDataSync(top, "vmdk", mibWrites(0x99, [30]));
  const events: EngineEvent[] = [];
  const preview = await stack.stack.preview({
    diff: true,
    onEvent: (e) => events.push(e),
    onOutput: () => undefined,
  });
  expect(preview.changeSummary).toEqual({ same: 3, replace: 2 });
  const steps = events
    .map((e) => e.resourcePreEvent?.metadata)
    .filter((m) => m !== undefined && m.op !== "same")
    .map((m) => `${m!.op} ${m!.type.split(":").pop()}`);
  // The domain goes first, then the volume; the volume is made, then the domain on it.
  expect(steps).toEqual([
    "delete-replaced NestedDomain",
    "delete-replaced ConvertedVolume",
    "replace ConvertedVolume",
    "create-replacement ConvertedVolume",
    "replace NestedDomain",
    "create-replacement NestedDomain",
  ]);
  expect(preview.stdout).toMatch(
    /\+ updatePlan\s*: "replace: disks \(disk replaced: the state inside it is lost\)"/,
  );

  // The file's birth time tells the new file from the old one (ext4 gives it the freed inode number).
  const bornBefore = statSync(volumeFile, { bigint: true }).birthtimeNs;
  const replaced = await stack.stack.up({ onOutput: () => undefined });
  expect(replaced.summary.resourceChanges).toEqual({ same: 3, replace: 2 });
  expect(replaced.outputs.state.value).toBe("running");
  expect(replaced.outputs.uuid.value).not.toBe(firstUuid);
  // The guest runs on the new file, and no QEMU holds a deleted one.
  const open = qemuFiles();
  expect(open).toContain(volumeFile);
  expect(open.filter((f) => f.endsWith("(deleted)"))).toEqual([]);
  expect(statSync(volumeFile, { bigint: true }).birthtimeNs > bornBefore).toBe(true);
  expect(
    spawnSync("qemu-img", ["compare", "-U", "-q", "-f", "vmdk", "-F", "qcow2", top, volumeFile])
      .status,
  ).toBe(0);
  expect(virsh("domstate", domainName).trim()).toBe("running");
  expect(existsSync(volumeFile)).toBe(true);
});

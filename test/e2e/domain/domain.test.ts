import { execFileSync, spawnSync } from "child_process";
import { mkdtempSync, rmSync, chmodSync } from "fs";
import * as os from "os";
import * as path from "path";
import { throwawayStack, ThrowawayStack } from "../harness";
import { freePort } from "../../support/ports";
import { virsh, virshOk, virshRun } from "../../support/virsh";

// A NestedDomain through the Automation API and the real engine: up; a
// preview with no changes; a memory change shown as `updatePlan: "live:
// memoryMiB"` and applied without a new domain; a CPU change shown as a
// restart; a domain stopped by hand found by refresh and started by up; a
// rename (a replacement) keeping its fixed VNC port; destroy leaves nothing.

jest.setTimeout(600_000);

const dir = mkdtempSync(path.join(os.tmpdir(), "nlt-domain-e2e-"));
const disk = path.join(dir, "disk.qcow2");
const domainName = `nlt-domain-e2e-${process.pid}`;
const renamed = `${domainName}-renamed`;
let stack: ThrowawayStack;
let vncPort: number;

beforeAll(async () => {
  chmodSync(dir, 0o755);
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", disk, "64M"]);
  vncPort = await freePort();
  stack = await throwawayStack({
    workDir: path.join(__dirname, "program"),
    config: {
      domainName,
      disk,
      memoryMiB: "256",
      maxMemoryMiB: "384",
      cpuModel: "qemu64",
      vncPort: String(vncPort),
    },
  });
});

afterAll(async () => {
  await stack?.dispose();
  for (const name of [domainName, renamed]) {
    virshRun("destroy", name);
    virshRun("undefine", name, "--nvram");
  }
  rmSync(dir, { recursive: true, force: true });
});

async function preview(): Promise<{ stdout: string; changes: Record<string, number> }> {
  const r = await stack.stack.preview({ diff: true });
  return { stdout: r.stdout, changes: r.changeSummary as Record<string, number> };
}

test("up, then a preview with no changes", async () => {
  const up = await stack.stack.up({ onOutput: () => undefined });
  expect(up.outputs.state.value).toBe("running");
  expect(up.outputs.vncAddress.value).toBe(`127.0.0.1:${vncPort}`);
  expect(virsh("domstate", domainName)).toBe("running");
  await stack.stack.preview({ expectNoChanges: true });
});

test("a memory change previews as live, keeps the domain, and leaves no change behind", async () => {
  const uuid = virsh("domuuid", domainName);
  await stack.stack.setConfig("memoryMiB", { value: "320" });
  const p = await preview();
  expect(p.changes).toEqual({ same: 2, update: 1 });
  expect(p.stdout).toMatch(
    /\+ updatePlan\s*: "live: memoryMiB \(through the guest's balloon driver\)"/,
  );
  expect(p.stdout).toMatch(/~ memoryMiB\s*: 256 => 320/);
  expect(p.stdout).toContain('-   <currentMemory unit="KiB">262144</currentMemory>');
  expect(p.stdout).toContain('+   <currentMemory unit="KiB">327680</currentMemory>');
  await stack.stack.up({ onOutput: () => undefined });
  expect(virsh("domuuid", domainName)).toBe(uuid);
  expect(virsh("dumpxml", "--inactive", domainName)).toContain(
    "<currentMemory unit='KiB'>327680</currentMemory>",
  );
  // What the guest really has (no OS, so no balloon driver: what it started with) is read back.
  const outputs = await stack.stack.outputs();
  expect(outputs.liveMemoryMiB.value).toBe(384);
  expect(outputs.pendingRestart.value).toEqual(["memoryMiB"]);
  await stack.stack.preview({ expectNoChanges: true });
});

test("a CPU change previews as a restart", async () => {
  await stack.stack.setConfig("cpuModel", { value: "Opteron_G2" });
  const p = await preview();
  expect(p.stdout).toMatch(
    /updatePlan\s*: "live: memoryMiB \(through the guest's balloon driver\)" => "restart: cpu"/,
  );
  await stack.stack.up({ onOutput: () => undefined });
  await stack.stack.preview({ expectNoChanges: true });
});

test("a domain stopped by hand: refresh finds it, preview shows it, up starts it", async () => {
  virshRun("destroy", domainName);
  await stack.stack.refresh({ onOutput: () => undefined });
  const p = await preview();
  expect(p.stdout).toMatch(/updatePlan\s*: "restart: cpu" => "live: running"/);
  // The program leaves running at its default (true): the refreshed "false" shows as removed.
  expect(p.stdout).toMatch(/- running\s*: false/);
  await stack.stack.up({ onOutput: () => undefined });
  expect(virsh("domstate", domainName)).toBe("running");
  await stack.stack.preview({ expectNoChanges: true });
});

test("a rename with a fixed VNC port: the preview takes the port as the domain's own, up replaces it", async () => {
  await stack.stack.setConfig("domainName", { value: renamed });
  const p = await preview();
  expect(p.changes).toEqual({ same: 2, replace: 1 });
  expect(p.stdout).toContain("+-pulumi-nodejs:dynamic/nestlab:NestedDomain: (replace)");
  expect(p.stdout).toContain(`~ domainName            : "${domainName}" => "${renamed}"`);
  const up = await stack.stack.up({ onOutput: () => undefined });
  expect(up.outputs.vncAddress.value).toBe(`127.0.0.1:${vncPort}`);
  expect(virshOk("dominfo", domainName)).toBe(false);
  expect(virsh("domstate", renamed)).toBe("running");
  expect(virsh("vncdisplay", renamed)).toBe(`127.0.0.1:${vncPort - 5900}`);
  await stack.stack.preview({ expectNoChanges: true });
});

test("destroy removes the domain and keeps the disk", async () => {
  await stack.stack.destroy({ onOutput: () => undefined });
  expect(virshOk("dominfo", domainName)).toBe(false);
  expect(virshOk("dominfo", renamed)).toBe(false);
  expect(spawnSync("qemu-img", ["info", disk]).status).toBe(0);
});

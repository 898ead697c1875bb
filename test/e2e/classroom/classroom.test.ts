import { execFileSync } from "child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { throwawayStack, ThrowawayStack } from "../harness";
import { freePort } from "../../support/ports";
import { SecondHypervisor, startSecondHypervisor } from "../../support/second-hypervisor";
import { virsh, virshOk } from "../../support/virsh";
import { makeVmdkChainSync } from "../../support/vmdk-chain";

// A Classroom through the Automation API and the real engine, on two hypervisors that are
// really separate libvirtd instances (this machine's, and one in namespaces of its own reached
// over SSH): one base per hypervisor converted from the image, a copy-on-write overlay and a
// classroom host per student, the roster; a student added changes nothing else; a reset
// replaces only that student's disk and classroom host; destroy leaves nothing on either.
// The classroom hosts boot nothing (the image is a small vmdk chain with no OS): TCG guests
// that cost next to no CPU. The labs with an OS are the dev stack's tests.

jest.setTimeout(15 * 60_000);

const dir = mkdtempSync(path.join(os.tmpdir(), "nlt-classroom-e2e-"));
const prefix = `nlt-class-${process.pid}`;
const pool = prefix;
const poolPath = (hv: string) => path.join(dir, hv);
let hv2: SecondHypervisor;
let stack: ThrowawayStack;
let top: string;
let ports: number;

interface Row {
  student: string;
  hypervisor: string;
  slot: number;
  domainName: string;
  vncAddress: string;
  serialAddress: string;
  ssh: string;
  state: string;
  generation: number;
}

function classroom(students: { id: string; hypervisor?: string; generation?: number }[]) {
  return JSON.stringify({
    hypervisors: [
      { name: "hv1", memoryMiB: 4096, vcpus: 8, poolPath: poolPath("hv1") },
      {
        name: "hv2",
        host: {
          libvirtUri: "qemu:///system",
          ssh: { host: hv2.address, port: 22, user: "root", knownHosts: hv2.knownHostsLine },
        },
        memoryMiB: 4096,
        vcpus: 8,
        poolPath: poolPath("hv2"),
      },
    ],
    students,
    lab: {
      source: top,
      pool,
      memoryMiB: 128,
      vcpus: 1,
      cpu: { mode: "custom", model: "qemu64" },
      domainType: "qemu",
      shutdownTimeoutSeconds: 2,
    },
    // Ten slots per hypervisor, the three ranges side by side from a port free now.
    addressing: {
      domainPrefix: prefix,
      slots: 10,
      vncDisplayBase: ports - 5900,
      serialPortBase: ports + 10,
      sshPortBase: ports + 20,
    },
    hostNested: "skip",
  });
}

const FOUR = [
  { id: "s01", hypervisor: "hv1" },
  { id: "s02", hypervisor: "hv2" },
  { id: "s03" },
  { id: "s04" },
];

/** virsh on the hypervisor a row names. */
const on = (hv: string, ...args: string[]) => (hv === "hv1" ? virsh(...args) : hv2.virsh(...args));
/** Our domains on one hypervisor, sorted. */
const domainsOn = (hv: string) =>
  on(hv, "list", "--all", "--name")
    .split("\n")
    .filter((n) => n.startsWith(`${prefix}-`))
    .sort();
const inode = (file: string) => statSync(file).ino;

/** The ops of a preview, by type and name, leaving out the unchanged and the providers. */
async function changesOfPreview(): Promise<Record<string, string[]>> {
  const ops: Record<string, string[]> = {};
  await stack.stack.preview({
    onEvent: (e: EngineEvent) => {
      const m = e.resourcePreEvent?.metadata;
      // The dynamic providers' own provider resource is read again when the config changes.
      if (m && m.op !== "same" && !m.type.startsWith("pulumi:providers:"))
        (ops[`${m.type} ${m.urn.split("::").pop()}`] ??= []).push(m.op);
    },
  });
  return ops;
}

async function rosterAfterUp(): Promise<Row[]> {
  const up = await stack.stack.up({ onOutput: () => undefined });
  expect(up.summary.result).toBe("succeeded");
  return up.outputs.roster.value as Row[];
}

beforeAll(async () => {
  chmodSync(dir, 0o711); // QEMU (another user) enters the pool folders below
  mkdirSync(path.join(dir, "src"));
  ({ top } = makeVmdkChainSync(path.join(dir, "src")));
  ports = await freePort();
  hv2 = await startSecondHypervisor();
  stack = await throwawayStack({
    workDir: path.join(__dirname, "program"),
    config: {
      classroom: classroom(FOUR),
      hypervisorKey: { value: hv2.privateKey, secret: true },
    },
  });
});

afterAll(async () => {
  await stack?.dispose();
  await hv2?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("four students on two hypervisors: one base each, an overlay and a running classroom host per student, the roster", async () => {
  const roster = await rosterAfterUp();
  expect(roster.map((r) => [r.student, r.state, r.generation])).toEqual([
    ["s01", "running", 0],
    ["s02", "running", 0],
    ["s03", "running", 0],
    ["s04", "running", 0],
  ]);
  const where = Object.fromEntries(roster.map((r) => [r.student, r.hypervisor]));
  expect([where.s01, where.s02]).toEqual(["hv1", "hv2"]);
  for (const hv of ["hv1", "hv2"]) {
    const mine = roster.filter((r) => r.hypervisor === hv);
    // Each daemon has exactly its own students' classroom hosts, running.
    expect(domainsOn(hv)).toEqual(mine.map((r) => `${prefix}-${r.student}`).sort());
    for (const r of mine) {
      expect(r.domainName).toBe(`${prefix}-${r.student}`);
      expect(on(hv, "domstate", r.domainName)).toBe("running");
      expect(r.vncAddress).toBe(`127.0.0.1:${ports + r.slot}`);
      expect(r.serialAddress).toBe(`127.0.0.1:${ports + 10 + r.slot}`);
    }
    // One base per hypervisor, identical to the image; every overlay rests on it.
    const base = path.join(poolPath(hv), `${prefix}-base.qcow2`);
    execFileSync("qemu-img", ["compare", "-q", "-f", "vmdk", "-F", "qcow2", top, base]);
    const files = readdirSync(poolPath(hv)).sort();
    expect(files).toEqual(
      [`${prefix}-base.qcow2`, ...mine.map((r) => `${prefix}-${r.student}.qcow2`)].sort(),
    );
    for (const r of mine) {
      const info = JSON.parse(
        execFileSync(
          "qemu-img",
          ["info", "--output=json", "-U", path.join(poolPath(hv), `${prefix}-${r.student}.qcow2`)],
          {
            encoding: "utf8",
          },
        ),
      );
      expect([info.format, info["backing-filename"], info["backing-filename-format"]]).toEqual([
        "qcow2",
        base,
        "qcow2",
      ]);
    }
  }
  // The roster's ssh line: to the hypervisor's 127.0.0.1 forward, through the hypervisor for hv2.
  const s02 = roster.find((r) => r.student === "s02") as Row;
  expect(s02.ssh).toBe(`ssh -J root@${hv2.address}:22 -p ${ports + 20 + s02.slot} root@127.0.0.1`);
  const s01 = roster.find((r) => r.student === "s01") as Row;
  expect(s01.ssh).toBe(`ssh -p ${ports + 20 + s01.slot} root@127.0.0.1`);
});

test("a fifth student adds one overlay and one classroom host, and touches no other lab", async () => {
  const before = domainsOn("hv1").concat(domainsOn("hv2"));
  const uuids = (names: string[]) =>
    names.map((n) => (virshOk("dominfo", n) ? virsh("domuuid", n) : hv2.virsh("domuuid", n)));
  const uuidsBefore = uuids(before);
  await stack.stack.setConfig("classroom", { value: classroom([...FOUR, { id: "s05" }]) });
  const ops = await changesOfPreview();
  expect(ops).toEqual({
    "nestlab:volume:OverlayVolume class-s05-disk": ["create"],
    "pulumi-nodejs:dynamic/nestlab:OverlayVolume class-s05-disk": ["create"],
    "nestlab:domain:NestedDomain class-s05-classroom": ["create"],
    "pulumi-nodejs:dynamic/nestlab:NestedDomain class-s05-classroom": ["create"],
  });
  const roster = await rosterAfterUp();
  expect(roster.map((r) => [r.student, r.state])).toEqual([
    ["s01", "running"],
    ["s02", "running"],
    ["s03", "running"],
    ["s04", "running"],
    ["s05", "running"],
  ]);
  expect(uuids(before)).toEqual(uuidsBefore);
});

test("a reset replaces only that student's disk and classroom host, on a new empty overlay", async () => {
  const s02 = path.join(poolPath("hv2"), `${prefix}-s02.qcow2`);
  const s02Before = inode(s02);
  const s02Uuid = hv2.virsh("domuuid", `${prefix}-s02`);
  const reset = [...FOUR, { id: "s05" }].map((s) => (s.id === "s02" ? { ...s, generation: 1 } : s));
  await stack.stack.setConfig("classroom", { value: classroom(reset) });
  const ops = await changesOfPreview();
  expect(Object.keys(ops).sort()).toEqual([
    "pulumi-nodejs:dynamic/nestlab:NestedDomain class-s02-classroom",
    "pulumi-nodejs:dynamic/nestlab:OverlayVolume class-s02-disk",
  ]);
  // A replacement's steps: the new one made, the old one deleted (the disk first, as named).
  for (const steps of Object.values(ops)) {
    expect(steps).toContain("replace");
    expect(
      steps.every((op) => ["replace", "create-replacement", "delete-replaced"].includes(op)),
    ).toBe(true);
  }
  const roster = await rosterAfterUp();
  expect(roster.find((r) => r.student === "s02")).toMatchObject({
    state: "running",
    generation: 1,
  });
  expect(inode(s02)).not.toBe(s02Before);
  expect(hv2.virsh("domuuid", `${prefix}-s02`)).not.toBe(s02Uuid);
  expect(hv2.virsh("domstate", `${prefix}-s02`)).toBe("running");
});

test("destroy leaves nothing on either hypervisor, and the image as it was", async () => {
  const image = execFileSync("sha256sum", [top], { encoding: "utf8" });
  const result = await stack.stack.destroy({ onOutput: () => undefined });
  expect(result.summary.result).toBe("succeeded");
  expect([domainsOn("hv1"), domainsOn("hv2")]).toEqual([[], []]);
  expect(virshOk("pool-info", pool)).toBe(false);
  expect(hv2.virsh("pool-list", "--all", "--name")).toBe("");
  // The pools this stack made are gone with their folders.
  expect(["hv1", "hv2"].map((hv) => existsSync(poolPath(hv)))).toEqual([false, false]);
  expect(execFileSync("sha256sum", [top], { encoding: "utf8" })).toBe(image);
});

import { execFileSync } from "child_process";
import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import execa from "execa";
import { review, ReviewFacts } from "../../../review";
import { bytes } from "../../../review/fingerprint";
import { runPreview } from "../../../review/run";
import { ensureStandinImage, StandinImage } from "../../support/standin";
import { freePort } from "../../support/ports";
import { recordPreview } from "../../support/review-record";
import { PROJECT_DIR, throwawayStack, ThrowawayStack } from "../harness";

// `npm run review` on the real engine: the dev stack's lab (the stand-in
// image, its three lab machines) brought up once, then each review case as a
// preview of one config change, put back afterwards. The source is a copy of
// the stand-in's delta (the base linked beside it), so its content can change
// without touching the shared image; that case runs last.

const id = `nlt-e2e-review-${process.pid}`;
const VNC_PASSWORD = "nL7vq2Xw"; // a known secret: it must never show
const NAT_ADDRESS = "192.168.231.1";

let image: StandinImage;
let lab: ThrowawayStack;
let src: string;
let vncPort: number;
let stackName: string;
/** Lines of the classroom host's private key (a secret config value): none may show. */
let keyLines: string[];

beforeAll(async () => {
  image = await ensureStandinImage();
  src = await fs.mkdtemp(path.join(os.tmpdir(), "nlt-review-src-"));
  // The base as a second name of the same file (read only); the delta a copy of its own.
  const base = path.join(src, path.basename(image.baseVmdk));
  await fs.link(image.baseVmdk, base).catch(() => fs.copyFile(image.baseVmdk, base));
  await fs.copyFile(image.deltaVmdk, path.join(src, path.basename(image.deltaVmdk)));
  keyLines = image.sshPrivateKey.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"));
  vncPort = await freePort();
  const [sshPort, serialPort] = [await freePort(), await freePort()];
  lab = await throwawayStack({
    config: {
      "nestlab:source": path.join(src, path.basename(image.deltaVmdk)),
      "nestlab:pool": id,
      "nestlab:poolPath": `/var/lib/libvirt/images/${id}`,
      "nestlab:hostNested": "skip",
      "nestlab:classroomHostKey": image.hostPublicKey,
      "nestlab:classroomSshKey": { value: image.sshPrivateKey, secret: true },
    },
  });
  stackName = lab.stack.name;
  await lab.stack.setAllConfig(
    {
      "nestlab:classroom.domainName": { value: id },
      "nestlab:classroom.memoryMiB": { value: "2048" },
      "nestlab:classroom.maxMemoryMiB": { value: "3072" },
      "nestlab:classroom.vcpus": { value: "2" },
      "nestlab:classroom.cpu.mode": { value: "custom" },
      "nestlab:classroom.cpu.model": { value: "qemu64" },
      "nestlab:classroom.vnc.listen": { value: "127.0.0.1" },
      "nestlab:classroom.vnc.port": { value: String(vncPort) },
      "nestlab:classroom.serial.type": { value: "tcp" },
      "nestlab:classroom.serial.port": { value: String(serialPort) },
      "nestlab:classroom.sshPort": { value: String(sshPort) },
      "nestlab:labMachines[0]": { value: "classroom" },
      "nestlab:labMachines[1]": { value: "server" },
      "nestlab:labMachines[2]": { value: "desktop" },
    },
    true,
  );
  const up = await lab.stack.up();
  expect(up.summary.result).toBe("succeeded");
  expect(up.outputs.labMachines.value).toEqual({
    classroom: "running",
    server: "running",
    desktop: "running",
  });
}, 50 * 60_000);

afterAll(async () => {
  await lab?.dispose();
  if (src) await fs.rm(src, { recursive: true, force: true });
}, 600_000);

/** The preview on the real engine, reviewed; no secret anywhere in what a reviewer or a tool sees. */
async function reviewNow(name: string): Promise<{ facts: ReviewFacts; markdown: string }> {
  const ws = lab.stack.workspace as LocalWorkspace;
  const raw = await runPreview({
    stack: stackName,
    workDir: ws.workDir,
    env: { ...ws.envVars, PULUMI_HOME: ws.pulumiHome! },
    pulumi: path.join(process.env.NESTLAB_ENGINE_ROOT!, "bin", "pulumi"),
  });
  await recordPreview(name, raw, [
    [stackName, "dev"],
    [id, "jiaoshiji"],
    [src, "/var/lib/nestlab/RHEL7.0_Server"],
    [PROJECT_DIR, "/srv/nestlab"],
    [os.homedir(), "/home/lab"],
  ]);
  const r = review(raw, stackName);
  expect(r.facts.errors).toEqual([]);
  const json = JSON.stringify(r.facts);
  for (const secret of [VNC_PASSWORD, ...keyLines]) {
    expect(raw).not.toContain(secret);
    expect(r.markdown).not.toContain(secret);
    expect(json).not.toContain(secret);
  }
  // Deterministic: the same preview gives the same bytes.
  expect(review(raw, stackName).markdown).toBe(r.markdown);
  return r;
}

/**
 * Runs `body` with config values set (path keys), then removes what `remove`
 * names and puts `restore` back: the stack is as it was for the next case.
 */
async function withConfig(
  change: {
    set: Record<string, string | { value: string; secret: true }>;
    remove?: string[];
    restore?: Record<string, string>;
  },
  body: () => Promise<void>,
): Promise<void> {
  for (const [k, v] of Object.entries(change.set)) {
    await lab.stack.setConfig(k, typeof v === "string" ? { value: v } : v, true);
  }
  try {
    await body();
  } finally {
    for (const k of change.remove ?? []) await lab.stack.removeConfig(k, true);
    for (const [k, v] of Object.entries(change.restore ?? {}))
      await lab.stack.setConfig(k, { value: v }, true);
  }
}

const host = () => `classroom host ${id}`;
const LAB = "classroom, desktop, server";
const SHUTDOWN = "ACPI shutdown, forced off after 60 s";

test("no change: one line", async () => {
  const { facts, markdown } = await reviewNow("no-change");
  expect(facts.rows).toEqual([]);
  expect(facts.consequences).toEqual([]);
  expect(markdown).toBe(
    [
      `**No changes** to stack \`${stackName}\`.`,
      "",
      `<!-- nestlab-review stack=${stackName} -->`,
      "",
    ].join("\n"),
  );
}, 300_000);

test("memory within the maximum: live, and a comment under 25 lines", async () => {
  await withConfig(
    {
      set: { "nestlab:classroom.memoryMiB": "2560" },
      restore: { "nestlab:classroom.memoryMiB": "2048" },
    },
    async () => {
      const { facts, markdown } = await reviewNow("memory-live");
      expect(facts.rows.map((r) => [r.resource, r.action, r.impact, r.detail])).toEqual([
        [
          host(),
          "update",
          "live",
          "memoryMiB (through the guest's balloon driver); applies while running",
        ],
      ]);
      expect(facts.consequences).toEqual([]);
      expect(markdown).toBe(
        [
          `**1 change** to stack \`${stackName}\`: 1 live.`,
          "",
          "Loses data: no · Downtime: no · Touches the host: no · Opens a port: no",
          "",
          "| Resource | Action | Impact | Why |",
          "| --- | --- | --- | --- |",
          `| classroom host \`${id}\` | update | live | memoryMiB (through the guest's balloon driver); applies while running |`,
          "",
          "<details><summary>Property changes</summary>",
          "",
          `**classroom host ${id}**`,
          "",
          "- `memoryMiB`: `2048` → `2560`",
          "",
          "</details>",
          "",
          `<!-- nestlab-review stack=${stackName} -->`,
          "",
        ].join("\n"),
      );
      expect(markdown.split("\n").length).toBeLessThan(25);
    },
  );
}, 300_000);

test("a CPU model change: a restart, and the lab machines inside named as stopping with it", async () => {
  await withConfig(
    {
      set: { "nestlab:classroom.cpu.model": "Opteron_G2" },
      restore: { "nestlab:classroom.cpu.model": "qemu64" },
    },
    async () => {
      const { facts, markdown } = await reviewNow("cpu-model");
      expect(facts.rows.map((r) => [r.resource, r.action, r.impact, r.detail])).toEqual([
        [host(), "update", "restart", `cpu; ${SHUTDOWN}, then started`],
      ]);
      expect(facts.consequences).toEqual([
        {
          kind: "downtime",
          resource: host(),
          text: `${host()} restarts (cpu): ${SHUTDOWN}, then started again, and the lab machines in it (${LAB}) stop with it.`,
        },
      ]);
      expect(facts.answers).toEqual({
        losesData: false,
        downtime: true,
        touchesHost: false,
        opensPort: false,
      });
      expect(markdown).toBe(
        [
          `**1 change** to stack \`${stackName}\`: 1 restart.`,
          "",
          "Loses data: no · Downtime: **yes** · Touches the host: no · Opens a port: no",
          "",
          "| Resource | Action | Impact | Why |",
          "| --- | --- | --- | --- |",
          `| classroom host \`${id}\` | update | restart | cpu; ${SHUTDOWN}, then started |`,
          "",
          "#### Consequences",
          "",
          `- **Downtime**: ${host()} restarts (cpu): ${SHUTDOWN}, then started again, and the lab machines in it (${LAB}) stop with it.`,
          "",
          "<details><summary>Property changes</summary>",
          "",
          `**classroom host ${id}**`,
          "",
          '- `cpu.model`: `"qemu64"` → `"Opteron_G2"`',
          "",
          "</details>",
          "",
          `<!-- nestlab-review stack=${stackName} -->`,
          "",
        ].join("\n"),
      );
    },
  );
}, 300_000);

test("a NAT network added: a bridge on the host, and the classroom host restarts for its new NIC", async () => {
  await withConfig(
    {
      set: { "nestlab:natNetwork.networkName": id, "nestlab:natNetwork.address": NAT_ADDRESS },
      remove: ["nestlab:natNetwork"],
    },
    async () => {
      const { facts } = await reviewNow("nat-network");
      expect(facts.rows.map((r) => [r.resource, r.action, r.impact, r.detail])).toEqual([
        [`NAT network ${id}`, "create", "create", `${NAT_ADDRESS}/24`],
        [host(), "update", "restart", `networks known after up; ${SHUTDOWN}, then started`],
      ]);
      expect(facts.consequences).toEqual([
        {
          kind: "host",
          resource: `NAT network ${id}`,
          text: `The NAT network ${id} adds a bridge with ${NAT_ADDRESS}/24 to the host and NAT firewall rules.`,
        },
        {
          kind: "downtime",
          resource: host(),
          text: `${host()} may restart (networks known after up): ${SHUTDOWN}, then started again, and the lab machines in it (${LAB}) stop with it.`,
        },
      ]);
      expect(facts.answers).toEqual({
        losesData: false,
        downtime: true,
        touchesHost: true,
        opensPort: false,
      });
    },
  );
}, 300_000);

test("VNC moved to 0.0.0.0 with a password: reachable from outside, the password only as [secret]", async () => {
  await withConfig(
    {
      set: {
        "nestlab:classroom.vnc.listen": "0.0.0.0",
        "nestlab:classroom.vnc.password": { value: VNC_PASSWORD, secret: true },
      },
      remove: ["nestlab:classroom.vnc.password"],
      restore: { "nestlab:classroom.vnc.listen": "127.0.0.1" },
    },
    async () => {
      const { facts } = await reviewNow("vnc-exposed");
      expect(facts.rows.map((r) => [r.resource, r.action, r.impact, r.detail])).toEqual([
        [host(), "update", "restart", `vnc, vncPassword; ${SHUTDOWN}, then started`],
      ]);
      expect(facts.consequences).toEqual([
        {
          kind: "downtime",
          resource: host(),
          text: `${host()} restarts (vnc, vncPassword): ${SHUTDOWN}, then started again, and the lab machines in it (${LAB}) stop with it.`,
        },
        {
          kind: "exposed",
          resource: host(),
          text: `VNC of ${host()} listens on every address of the host, port ${vncPort}: anyone who can reach it and has the VNC password gets the console.`,
        },
      ]);
      expect(facts.answers).toEqual({
        losesData: false,
        downtime: true,
        touchesHost: false,
        opensPort: true,
      });
      expect(facts.properties).toEqual([
        {
          resource: host(),
          action: "update",
          source: [],
          changes: [
            { path: "vnc.listen", from: '"127.0.0.1"', to: '"0.0.0.0"' },
            { path: "vncPassword", from: "[secret]", to: "[secret] (changed)" },
          ],
        },
      ]);
    },
  );
}, 300_000);

test("the host's nested setting made where the stack skipped it: the host is touched", async () => {
  await lab.stack.setConfig("nestlab:hostNested", { value: "enable" });
  try {
    const { facts } = await reviewNow("nested-create");
    expect(facts.rows.map((r) => [r.resource, r.action, r.impact, r.detail])).toEqual([
      ["host nested setting", "create", "create", 'mode "enable"'],
      [host(), "update", "restart", `hostVendor known after up; ${SHUTDOWN}, then started`],
    ]);
    expect(facts.consequences.map((c) => [c.kind, c.text])).toEqual([
      [
        "host",
        "The host nested setting writes /etc/modprobe.d/nestlab-kvm.conf on the host and, where nested is not yet on, reloads the KVM module, which needs every guest on the host stopped (refused otherwise).",
      ],
      [
        "downtime",
        `${host()} may restart (hostVendor known after up): ${SHUTDOWN}, then started again, and the lab machines in it (${LAB}) stop with it.`,
      ],
    ]);
    expect(facts.answers).toEqual({
      losesData: false,
      downtime: true,
      touchesHost: true,
      opensPort: false,
    });
  } finally {
    await lab.stack.setConfig("nestlab:hostNested", { value: "skip" });
  }
}, 300_000);

test("the source's content changed: the disk replaced, the loss spelled out, and --fail-on names it", async () => {
  // A write through QEMU gives the delta a new CID, as VMware does when the VM runs again.
  const delta = path.join(src, path.basename(image.deltaVmdk));
  execFileSync("qemu-io", ["-f", "vmdk", "-c", "write -P 0x5a 1M 64k", delta]);
  const { facts } = await reviewNow("source-changed");
  const disk = `classroom disk ${id}.qcow2`;
  expect(facts.rows.map((r) => [r.resource, r.action, r.impact, r.detail])).toEqual([
    [disk, "replace", "replace", "source content changed"],
    [host(), "replace", "replace", "disks (disk replaced: the state inside it is lost)"],
    // Replaced with the classroom host: stopped before it, started again inside the new one.
    ...["classroom", "desktop", "server"].map((m) => [
      `lab machine ${m}`,
      "replace",
      "replace",
      "the classroom host is replaced: started again inside the new one",
    ]),
  ]);
  const read = (await fs.stat(image.baseVmdk)).size + (await fs.stat(delta)).size;
  expect(facts.consequences).toEqual([
    {
      kind: "state-lost",
      resource: disk,
      text: `${disk} is replaced (source content changed): it is deleted and converted again from the source, so everything written inside it since it was made (the classroom host's files and the lab machines' disks within it) is lost.`,
    },
    {
      kind: "conversion",
      resource: disk,
      text: `${disk} is converted from RHEL7_Server-000002.vmdk and 1 parent: the host reads ${bytes(read)} and writes the volume.`,
    },
    {
      kind: "state-lost",
      resource: host(),
      text: `${host()} is replaced with its disk: it is shut down and undefined before the disk is deleted, then defined and started on the new one, so what ran in it and its memory are lost.`,
    },
    {
      kind: "downtime",
      resource: host(),
      text: `${host()} stops (${SHUTDOWN}) while it is replaced, and the lab machines in it (${LAB}) stop with it.`,
    },
  ]);
  expect(facts.answers).toEqual({
    losesData: true,
    downtime: true,
    touchesHost: false,
    opensPort: false,
  });
  expect(facts.properties[0].source).toEqual([
    expect.stringMatching(
      /^source content changed: RHEL7_Server-000002\.vmdk \(CID [0-9a-f]{8} → [0-9a-f]{8}(, size [0-9.]+ MiB → [0-9.]+ MiB)?\)$/,
    ),
  ]);
  // The command itself, as CI runs it: the gate fails and names the disk; the comment is written.
  const ws = lab.stack.workspace as LocalWorkspace;
  const out = path.join(src, "review.md");
  const r = await execa(
    "node",
    [
      "-r",
      "ts-node/register/transpile-only",
      "review/cli.ts",
      "--stack",
      stackName,
      "--out",
      out,
      "--fail-on",
      "replace,delete",
    ],
    {
      cwd: PROJECT_DIR,
      env: {
        ...ws.envVars,
        PULUMI_HOME: ws.pulumiHome!,
        PATH: `${path.join(process.env.NESTLAB_ENGINE_ROOT!, "bin")}:${process.env.PATH}`,
        INIT_CWD: PROJECT_DIR,
      },
      reject: false,
    },
  );
  expect([r.exitCode, r.stderr]).toEqual([
    1,
    `review: --fail-on replace,delete: ${disk} (replace), ${host()} (replace), lab machine classroom (replace), lab machine desktop (replace), lab machine server (replace)`,
  ]);
  expect((await fs.readFile(out, "utf8")).split("\n")[0]).toBe(
    `**5 changes** to stack \`${stackName}\`: 5 replace.`,
  );
}, 300_000);

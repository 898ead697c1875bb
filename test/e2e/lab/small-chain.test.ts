import { execFileSync } from "child_process";
import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { throwawayStack, ThrowawayStack } from "../harness";
import { virsh, virshOk } from "../../support/virsh";
import { makeVmdkChainSync, VmdkChain } from "../../support/vmdk-chain";

// The real program (index.ts) on the real engine, against this machine's
// libvirtd: the lab's volume and classroom host made, left alone when
// nothing changed, re-read, and removed — the machine's state checked after
// every step. A tiny stand-in for the image keeps it fast.

const id = `nlt-e2e-${process.pid}`;
let src: string;
let poolDir: string;
let lab: ThrowawayStack;
let sourceSums: string;
let chain: VmdkChain;
const sums = () =>
  execFileSync("sha256sum", [chain.base, chain.top], {
    encoding: "utf8",
  });

beforeAll(async () => {
  src = await fs.mkdtemp(path.join(os.tmpdir(), "nlt-e2e-src-"));
  poolDir = path.join(os.tmpdir(), `${id}-pool`);
  // The seed's shape in small: a monolithicSparse base and a -000002 delta, each with data.
  chain = makeVmdkChainSync(src);
  sourceSums = sums();
  lab = await throwawayStack({
    config: {
      "nestlab:source": chain.top,
      "nestlab:pool": id,
      "nestlab:poolPath": poolDir,
      "nestlab:hostNested": "skip",
    },
  });
  await lab.stack.setAllConfig(
    {
      "nestlab:classroom.domainName": { value: id },
      "nestlab:classroom.memoryMiB": { value: "256" },
      "nestlab:classroom.vcpus": { value: "1" },
      "nestlab:classroom.cpu.mode": { value: "custom" },
      "nestlab:classroom.cpu.model": { value: "qemu64" },
      "nestlab:classroom.vnc.listen": { value: "127.0.0.1" },
      "nestlab:classroom.vnc.autoport": { value: "true" },
      "nestlab:classroom.serial.type": { value: "pty" },
      // No OS on this disk answers ACPI: don't wait the default minute.
      "nestlab:classroom.shutdownTimeoutSeconds": { value: "3" },
    },
    true,
  );
}, 120_000);

afterAll(async () => {
  await lab?.dispose();
  await fs.rm(src, { recursive: true, force: true });
}, 300_000);

test("preview plans the lab without touching the host", async () => {
  const preview = await lab.stack.preview({ diff: true });
  expect(preview.changeSummary).toEqual({ create: 7 });
  expect(virshOk("dominfo", id)).toBe(false);
  expect(virshOk("pool-info", id)).toBe(false);
}, 300_000);

test("up converts the chain into the pool and starts the classroom host", async () => {
  const up = await lab.stack.up();
  expect(up.summary.result).toBe("succeeded");
  expect(up.outputs.classroomState.value).toBe("running");
  expect(virsh("domstate", id)).toBe("running");
  const volumePath = up.outputs.volumePath.value as string;
  expect(volumePath).toBe(path.join(poolDir, `${id}.qcow2`));
  expect(virsh("vol-list", id)).toContain(`${id}.qcow2`);
  // What the guest sees is the whole chain, the delta's data included.
  execFileSync("qemu-img", ["compare", "-f", "vmdk", "-F", "qcow2", "-U", chain.top, volumePath]);
  // The guest CPU is nested-capable: QEMU was told svm=on (TCG emulates SVM).
  const cmdline = execFileSync("ps", ["-o", "args=", "-C", "qemu-system-x86_64"], {
    encoding: "utf8",
  });
  const ours = cmdline.split("\n").find((l) => l.includes(`guest=${id}`)) ?? "";
  expect(ours).toMatch(/-cpu qemu64,[^ ]*svm=on/);
}, 600_000);

test("a second preview finds nothing to change", async () => {
  const preview = await lab.stack.preview({ expectNoChanges: true });
  expect(preview.changeSummary).toEqual({ same: 7 });
}, 300_000);

test("refresh re-reads the host and still finds it as made", async () => {
  const refresh = await lab.stack.refresh();
  expect(refresh.summary.result).toBe("succeeded");
  const preview = await lab.stack.preview();
  expect(preview.changeSummary).toEqual({ same: 7 });
}, 300_000);

test("destroy removes the domain, the volume and the pool, and leaves the source as it was", async () => {
  const destroy = await lab.stack.destroy();
  expect(destroy.summary.result).toBe("succeeded");
  expect(virshOk("dominfo", id)).toBe(false);
  expect(virshOk("pool-info", id)).toBe(false);
  await expect(fs.stat(path.join(poolDir, `${id}.qcow2`))).rejects.toThrow(/ENOENT/);
  expect(sums()).toBe(sourceSums);
}, 300_000);

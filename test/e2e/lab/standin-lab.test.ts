import { execFileSync } from "child_process";
import { promises as fs, readdirSync, readFileSync, readlinkSync, statSync } from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { resolveHost } from "../../../components/host/connection";
import { SshHost } from "../../../components/host/ssh";
import {
  ensureStandinImage,
  knownHostsLine,
  labSerialLog,
  LAB_MACHINES,
  parseLabUpLine,
  StandinImage,
} from "../../support/standin";
import { throwawayStack, ThrowawayStack } from "../harness";
import { freePort } from "../../support/ports";
import { Virsh, virsh, virshOk, virshOn } from "../../support/virsh";

// The whole lab, for real, through the program (index.ts) and the engine:
// the stand-in RHCE image converted through ConvertedVolume, booted as the
// classroom host through NestedDomain under TCG with an AMD CPU with SVM,
// reached over SSH on a 127.0.0.1 forward, and its three lab machines
// started inside it under KVM — each seen up, with svm, on its serial console.
// The source is a copy of the stand-in's delta (the base linked beside it,
// never written), so the same lab then sees its source touched (nothing
// happens) and its content changed (disk, classroom host and lab machines
// made again, the lab machines running in the new host).

const id = `nlt-e2e-rhce-${process.pid}`;
let image: StandinImage;
let lab: ThrowawayStack;
let sshPort: number;
let classroom: SshHost;
/** The classroom host's own libvirtd, through its SSH access. */
let inside: Virsh;
let sourceSums: string;
const sums = () =>
  execFileSync("sha256sum", [image.baseVmdk, image.deltaVmdk], { encoding: "utf8" });
/** The folder of the lab's source: the stand-in's base (a second name) and a copy of its delta. */
let src: string;
/** The lab's source: the copy of the delta, the top of the chain. */
let top: string;
/** The volume file the classroom host runs on. */
let volumeFile: string;

beforeAll(async () => {
  image = await ensureStandinImage();
  sourceSums = sums();
  const copyStarted = Date.now();
  src = await fs.mkdtemp(path.join(os.tmpdir(), "nlt-standin-src-"));
  const base = path.join(src, path.basename(image.baseVmdk));
  await fs.link(image.baseVmdk, base).catch(() => fs.copyFile(image.baseVmdk, base));
  top = path.join(src, path.basename(image.deltaVmdk));
  await fs.copyFile(image.deltaVmdk, top);
  console.log(`the source's copy: ${((Date.now() - copyStarted) / 1000).toFixed(2)} s`);
  sshPort = await freePort();
  const serialPort = await freePort();
  lab = await throwawayStack({
    config: {
      "nestlab:source": top,
      "nestlab:pool": id,
      "nestlab:poolPath": `/var/lib/libvirt/images/${id}`,
      "nestlab:hostNested": "skip",
      "nestlab:classroomHostKey": image.hostPublicKey,
      "nestlab:classroomSshKey": { value: image.sshPrivateKey, secret: true },
    },
  });
  await lab.stack.setAllConfig(
    {
      "nestlab:classroom.domainName": { value: id },
      "nestlab:classroom.memoryMiB": { value: "2048" },
      "nestlab:classroom.vcpus": { value: "2" },
      "nestlab:classroom.cpu.mode": { value: "custom" },
      "nestlab:classroom.cpu.model": { value: "qemu64" },
      "nestlab:classroom.vnc.autoport": { value: "true" },
      "nestlab:classroom.serial.type": { value: "tcp" },
      "nestlab:classroom.serial.port": { value: String(serialPort) },
      "nestlab:classroom.sshPort": { value: String(sshPort) },
      "nestlab:labMachines[0]": { value: "classroom" },
      "nestlab:labMachines[1]": { value: "server" },
      "nestlab:labMachines[2]": { value: "desktop" },
    },
    true,
  );
  await connect();
}, 50 * 60_000);

afterAll(async () => {
  try {
    await classroom?.close();
    await lab?.dispose();
  } finally {
    if (src) await fs.rm(src, { recursive: true, force: true });
  }
}, 600_000);

/** (Re)connects to the classroom host over its forward: a replaced host ends the old connection. */
async function connect(): Promise<void> {
  await classroom?.close();
  const { spec, privateKey } = resolveHost({
    ssh: {
      host: "127.0.0.1",
      port: sshPort,
      privateKey: image.sshPrivateKey,
      knownHosts: knownHostsLine(image, sshPort),
    },
  });
  classroom = new SshHost(spec.ssh!, privateKey);
  inside = virshOn(classroom);
}

/** Each lab machine's NESTLAB-LAB-UP line, as "<name> svm=yes", waited for up to 5 minutes. */
async function labUpLines(): Promise<Record<string, string>> {
  const deadline = Date.now() + 5 * 60_000;
  const seen: Record<string, string> = {};
  while (Object.keys(seen).length < LAB_MACHINES.length && Date.now() < deadline) {
    for (const m of LAB_MACHINES) {
      const log = await classroom.readFile(labSerialLog(m));
      const upLine = log && parseLabUpLine(log);
      if (upLine) seen[m] = `${upLine.name} svm=${upLine.svm ? "yes" : "no"}`;
    }
    if (Object.keys(seen).length < LAB_MACHINES.length)
      await new Promise((r) => setTimeout(r, 5000));
  }
  return seen;
}

/** The classroom host's QEMU (libvirt's pid file). */
function classroomPid(): number {
  return Number(readFileSync(`/run/libvirt/qemu/${id}.pid`, "utf8").trim());
}

/** What every qemu-system process of this machine has open: the targets of /proc/<pid>/fd. */
function qemuOpenFiles(): { pid: number; files: string[] }[] {
  const out: { pid: number; files: string[] }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
    } catch {
      continue; // gone meanwhile
    }
    if (!comm.startsWith("qemu-system")) continue;
    const files: string[] = [];
    for (const fd of readdirSync(`/proc/${entry}/fd`)) {
      try {
        files.push(readlinkSync(`/proc/${entry}/fd/${fd}`));
      } catch {
        // closed meanwhile
      }
    }
    out.push({ pid: Number(entry), files });
  }
  return out;
}

/** The volume file's identity: inode number and birth time (ext4 hands a freed inode number out again). */
function fileIdentity(file: string): string {
  const st = statSync(file, { bigint: true });
  return `${st.ino}@${st.birthtimeNs}`;
}

test(
  "up brings the classroom host and its three lab machines up, nested, with svm inside",
  async () => {
    const up = await lab.stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.classroomState.value).toBe("running");
    expect(up.outputs.labMachines.value).toEqual({
      classroom: "running",
      server: "running",
      desktop: "running",
    });
    expect(up.outputs.sshAddress.value).toBe(`127.0.0.1:${sshPort}`);
    // The chain was converted from its top: both links, the delta first.
    const chain = up.outputs.volumeChain.value as {
      file: string;
      parentCid: number;
      cid: number;
    }[];
    expect(chain.map((l) => l.file)).toEqual([top, path.join(src, "RHEL7_Server.vmdk")]);
    volumeFile = up.outputs.volumePath.value as string;
    expect(volumeFile).toBe(`/var/lib/libvirt/images/${id}/${id}.qcow2`);
    expect(chain[0].parentCid).toBe(chain[1].cid);
    const running = await inside.out("list", "--name");
    expect(running.split("\n").filter(Boolean).sort()).toEqual(["classroom", "desktop", "server"]);
    // Each lab machine runs under KVM inside the TCG guest and sees svm.
    expect(await labUpLines()).toEqual({
      classroom: "classroom svm=yes",
      server: "server svm=yes",
      desktop: "desktop svm=yes",
    });
    for (const m of LAB_MACHINES) {
      const xml = await inside.out("dumpxml", m);
      expect(xml).toMatch(/<domain type='kvm'/);
    }
  },
  20 * 60_000,
);

test("a second preview finds nothing to change", async () => {
  const preview = await lab.stack.preview({ expectNoChanges: true });
  expect(preview.changeSummary).toEqual({ same: 10 });
}, 600_000);

test("a touched source (no byte changed): up replaces nothing, the same volume file, the same QEMU", async () => {
  const started = Date.now();
  const fileBefore = fileIdentity(volumeFile);
  const pidBefore = classroomPid();
  const later = new Date(Date.now() + 3600_000);
  await fs.utimes(top, later, later);
  const up = await lab.stack.up();
  expect(up.summary.result).toBe("succeeded");
  expect(up.summary.resourceChanges).toEqual({ same: 10 });
  expect(fileIdentity(volumeFile)).toBe(fileBefore);
  expect(classroomPid()).toBe(pidBefore);
  expect(qemuOpenFiles().find((q) => q.pid === pidBefore)?.files).toContain(volumeFile);
  console.log(`touched source, up: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 600_000);

test("a lab machine stopped by hand shows on refresh and is started again by up", async () => {
  await inside.out("destroy", "server");
  await lab.stack.refresh();
  const preview = await lab.stack.preview();
  expect(preview.changeSummary.update).toBe(1);
  await lab.stack.up();
  expect((await inside.out("domstate", "server")).trim()).toBe("running");
  const again = await lab.stack.preview({ expectNoChanges: true });
  expect(again.changeSummary).toEqual({ same: 10 });
}, 600_000);

test(
  "new content in the source: the preview replaces the disk, the classroom host with the reason and its lab machines; after up no QEMU holds a deleted file and the lab machines run in the new host",
  async () => {
    const started = Date.now();
    // The last grain of the MBR gap (960 KiB to 1 MiB): zeros in the image, and read by nothing
    // at boot (GRUB's core.img ends within the first 64 KiB, /boot starts at 1 MiB). A write
    // through QEMU gives the delta a new CID, as VMware does when the VM runs again.
    execFileSync("qemu-io", ["-f", "vmdk", "-r", "-c", "read -P 0 960k 64k", top]);
    const writeStarted = Date.now();
    execFileSync("qemu-io", ["-f", "vmdk", "-c", "write -P 0x5a 960k 64k", top]);
    console.log(
      `the content change (qemu-io write): ${((Date.now() - writeStarted) / 1000).toFixed(2)} s`,
    );
    const uuidBefore = virsh("domuuid", id);
    const fileBefore = fileIdentity(volumeFile);

    const events: EngineEvent[] = [];
    const preview = await lab.stack.preview({ diff: true, onEvent: (e) => events.push(e) });
    expect(preview.stdout).toMatch(
      /\+ updatePlan\s*: "replace: disks \(disk replaced: the state inside it is lost\)"/,
    );
    const steps = events
      .map((e) => e.resourcePreEvent?.metadata)
      .filter((m) => m !== undefined && m.op !== "same")
      .map((m) => `${m!.op} ${m!.type.split(":").pop()} ${m!.urn.split("::").pop()}`);

    const up = await lab.stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(virsh("domuuid", id)).not.toBe(uuidBefore);
    expect(fileIdentity(volumeFile)).not.toBe(fileBefore);
    // No QEMU holds a deleted file of the lab (its pool or its source: other QEMUs on the
    // machine, e.g. a libguestfs appliance, keep deleted temp files of their own); the
    // classroom host's holds the new volume.
    const open = qemuOpenFiles();
    const labFile = (f: string) =>
      f.startsWith(`/var/lib/libvirt/images/${id}/`) || f.startsWith(`${src}/`);
    expect(
      open.flatMap((q) => q.files.filter((f) => f.endsWith(" (deleted)") && labFile(f))),
    ).toEqual([]);
    expect(open.find((q) => q.pid === classroomPid())?.files).toContain(volumeFile);
    // The new volume holds the new content (read beside the running guest).
    execFileSync("qemu-io", ["-f", "qcow2", "-r", "-U", "-c", "read -P 0x5a 960k 64k", volumeFile]);

    // The lab machines run again, inside the new classroom host, each printing its up line.
    // (Its SSH may still be coming up where nothing in the plan waited for it.)
    await connect();
    const sshDeadline = Date.now() + 5 * 60_000;
    while (!(await inside.ok("version").catch(() => false)) && Date.now() < sshDeadline) {
      await new Promise((r) => setTimeout(r, 5000));
    }
    const running: Record<string, string> = {};
    for (const m of LAB_MACHINES) running[m] = (await inside.out("domstate", m)).trim();
    expect(running).toEqual({ classroom: "running", server: "running", desktop: "running" });
    expect(up.outputs.labMachines.value).toEqual(running);
    expect(await labUpLines()).toEqual({
      classroom: "classroom svm=yes",
      server: "server svm=yes",
      desktop: "desktop svm=yes",
    });

    // What the preview said: the lab machines go before the classroom host and come after it.
    expect(preview.changeSummary).toEqual({ same: 5, replace: 5 });
    expect(up.summary.resourceChanges).toEqual({ same: 5, replace: 5 });
    const machines = (op: string) =>
      LAB_MACHINES.map((m) => `${op} LabMachine rhce-lab-${m}`).sort();
    const order = (op: string, kind: string) => steps.filter((s) => s.startsWith(`${op} ${kind}`));
    expect(order("delete-replaced", "LabMachine").sort()).toEqual(machines("delete-replaced"));
    expect(order("create-replacement", "LabMachine").sort()).toEqual(
      machines("create-replacement"),
    );
    const at = (step: string) => steps.findIndex((s) => s.startsWith(step));
    expect(Math.max(...machines("delete-replaced").map((s) => steps.indexOf(s)))).toBeLessThan(
      at("delete-replaced NestedDomain"),
    );
    expect(
      Math.min(...machines("create-replacement").map((s) => steps.indexOf(s))),
    ).toBeGreaterThan(at("create-replacement NestedDomain"));
    // And nothing is left to do.
    const again = await lab.stack.preview({ expectNoChanges: true });
    expect(again.changeSummary).toEqual({ same: 10 });
    console.log(
      `content change, preview, up and checks: ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  },
  30 * 60_000,
);

test("destroy stops the lab, removes the classroom host and its volume, and leaves the image as it was", async () => {
  const destroy = await lab.stack.destroy();
  expect(destroy.summary.result).toBe("succeeded");
  expect(virshOk("dominfo", id)).toBe(false);
  expect(virshOk("pool-info", id)).toBe(false);
  expect(sums()).toBe(sourceSums);
}, 600_000);

import { execFileSync } from "child_process";
import * as path from "path";
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
import { Virsh, virshOk, virshOn } from "../../support/virsh";

// The whole lab, for real, through the program (index.ts) and the engine:
// the stand-in RHCE image converted through ConvertedVolume, booted as the
// classroom host through NestedDomain under TCG with an AMD CPU with SVM,
// reached over SSH on a 127.0.0.1 forward, and its three lab machines
// started inside it under KVM — each seen up, with svm, on its serial console.

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

beforeAll(async () => {
  image = await ensureStandinImage();
  sourceSums = sums();
  sshPort = await freePort();
  const serialPort = await freePort();
  lab = await throwawayStack({
    config: {
      "nestlab:source": "standin",
      "nestlab:pool": id,
      "nestlab:poolPath": `/var/lib/libvirt/images/${id}`,
      "nestlab:hostNested": "skip",
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
}, 50 * 60_000);

afterAll(async () => {
  await classroom?.close();
  await lab?.dispose();
}, 600_000);

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
    const current = path.join(path.dirname(image.dir), "standin", "current");
    expect(chain.map((l) => l.file)).toEqual([
      path.join(current, "RHEL7_Server-000002.vmdk"),
      path.join(current, "RHEL7_Server.vmdk"),
    ]);
    expect(chain[0].parentCid).toBe(chain[1].cid);
    const running = await inside.out("list", "--name");
    expect(running.split("\n").filter(Boolean).sort()).toEqual(["classroom", "desktop", "server"]);
    // Each lab machine runs under KVM inside the TCG guest and sees svm.
    const deadline = Date.now() + 5 * 60_000;
    const seen: Record<string, string> = {};
    while (Object.keys(seen).length < LAB_MACHINES.length && Date.now() < deadline) {
      for (const m of LAB_MACHINES) {
        const log = await classroom.readFile(labSerialLog(m));
        const upLine = log && parseLabUpLine(log);
        if (upLine) seen[m] = `${upLine.name} svm=${upLine.svm ? "yes" : "no"}`;
      }
      await new Promise((r) => setTimeout(r, 5000));
    }
    expect(seen).toEqual({
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

test("destroy stops the lab, removes the classroom host and its volume, and leaves the image as it was", async () => {
  const destroy = await lab.stack.destroy();
  expect(destroy.summary.result).toBe("succeeded");
  expect(virshOk("dominfo", id)).toBe(false);
  expect(virshOk("pool-info", id)).toBe(false);
  expect(sums()).toBe(sourceSums);
}, 600_000);

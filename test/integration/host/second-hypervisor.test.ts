/**
 * The second hypervisor of test/support/second-hypervisor.ts: a libvirtd of
 * its own in a network and mount namespace, reached over SSH. Proves the
 * two daemons see only their own objects, that the project's providers make
 * and delete a pool and a volume there through the project's SSH path (and
 * nothing here), that its QEMU boots a kernel under TCG, and that stop leaves
 * no namespace, process, mount, link or folder.
 */
import { spawnSync } from "child_process";
import { existsSync, promises as fs, readdirSync, readFileSync, readlinkSync } from "fs";
import * as os from "os";
import * as path from "path";
import { resolveHost } from "../../../components/host/connection";
import { provider as poolProvider } from "../../../components/volume/pool-provider";
import { provider as volumeProvider } from "../../../components/volume/provider";
import { ensureGuestKit } from "../../support/guest-kit";
import {
  processesIn,
  SecondHypervisor,
  startSecondHypervisor,
} from "../../support/second-hypervisor";
import { virsh, virshRun } from "../../support/virsh";

jest.setTimeout(180_000);

let hv2: SecondHypervisor;
let scratch: string;
const here = `nlt-hv1-only-${process.pid}`;
const there = `nlt-hv2-only-${process.pid}`;
const names = (text: string) => text.split("\n").filter(Boolean).sort();

beforeAll(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), "nlt-hv2-test-"));
  hv2 = await startSecondHypervisor();
  process.stdout.write(`second hypervisor started in ${hv2.startSeconds.toFixed(2)} s\n`);
});

afterAll(async () => {
  virshRun("pool-destroy", here);
  virshRun("pool-undefine", here);
  await hv2?.stop();
  if (scratch) await fs.rm(scratch, { recursive: true, force: true });
});

describe("a second hypervisor on this machine", () => {
  test("is another libvirtd: each sees only its own pools and domains", async () => {
    // Its daemon is not this machine's: another process, in other namespaces.
    const firstPid = Number(readFileSync("/var/run/libvirtd.pid", "utf8").trim());
    const secondPid = Number(readFileSync(path.join(hv2.dir, "libvirtd.pid"), "utf8").trim());
    expect(secondPid).not.toBe(firstPid);
    expect(hv2.pids()).toContain(secondPid);
    expect(readlinkSync(`/proc/${secondPid}/ns/net`)).not.toBe(readlinkSync("/proc/self/ns/net"));
    expect(readlinkSync(`/proc/${secondPid}/ns/mnt`)).not.toBe(readlinkSync("/proc/self/ns/mnt"));

    // A new daemon: nothing defined, whatever this machine's has.
    expect(hv2.virsh("list", "--all", "--name")).toBe("");
    expect(hv2.virsh("pool-list", "--all", "--name")).toBe("");
    expect(hv2.virsh("net-list", "--all", "--name")).toBe("");

    virsh("pool-define-as", here, "dir", "--target", path.join(scratch, "here"));
    hv2.virsh("pool-define-as", there, "dir", "--target", path.join(hv2.dir, "there"));
    expect(names(virsh("pool-list", "--all", "--name"))).toContain(here);
    expect(names(virsh("pool-list", "--all", "--name"))).not.toContain(there);
    expect(names(hv2.virsh("pool-list", "--all", "--name"))).toEqual([there]);
    hv2.virsh("pool-undefine", there);
    virsh("pool-undefine", here);
    expect(hv2.virsh("pool-list", "--all", "--name")).toBe("");

    // The pinned host key is checked: another key in known_hosts is refused.
    const otherKnownHosts = path.join(scratch, "other_known_hosts");
    spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(scratch, "other")]);
    const otherKey = readFileSync(path.join(scratch, "other.pub"), "utf8")
      .split(" ")
      .slice(0, 2)
      .join(" ");
    await fs.writeFile(otherKnownHosts, `${hv2.address} ${otherKey}\n`);
    const uri = hv2.libvirtUri.replace(/known_hosts=[^&]+/, `known_hosts=${otherKnownHosts}`);
    const r = spawnSync("virsh", ["-q", "-c", uri, "uri"], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("SSH HOST KEY VERIFICATION FAILED");
    expect(r.stderr).toContain(
      `Identity of host '${hv2.address}:22' differs from stored identity.`,
    );
  });

  test("the project's providers make a pool and a volume there over SSH, none here, and delete them leaving nothing", async () => {
    const { spec, privateKey } = resolveHost(hv2.hostConnection);
    expect(spec.ssh).toEqual({
      host: hv2.address,
      port: 22,
      user: "root",
      knownHosts: hv2.knownHostsLine,
      connectTimeoutSeconds: 15,
    });
    const host = { host: spec, sshPrivateKey: privateKey };
    const poolPath = path.join(hv2.dir, "pool");
    const checked = await poolProvider.check({}, { ...host, pool: there, path: poolPath });
    expect(checked.failures ?? []).toEqual([]);
    const pool = await poolProvider.create(checked.inputs);
    expect(hv2.virsh("pool-info", there)).toMatch(/State:\s+running/);
    expect(virshRun("pool-info", there).exitCode).not.toBe(0);

    // A tiny qcow2 source with data in it (a path on this machine is a path there too).
    const source = path.join(scratch, "tiny.qcow2");
    expect(spawnSync("qemu-img", ["create", "-q", "-f", "qcow2", source, "16M"]).status).toBe(0);
    expect(spawnSync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x5a 1M 2M", source]).status).toBe(
      0,
    );
    const vChecked = await volumeProvider.check(
      {},
      { ...host, resourceName: "t", source, pool: there, volumeName: "tiny.qcow2" },
    );
    expect(vChecked.failures ?? []).toEqual([]);
    const vol = await volumeProvider.create(vChecked.inputs);
    const file = path.join(poolPath, "tiny.qcow2");
    expect(vol.id).toBe(file);
    // vol-list -q: one line, the name and the path.
    expect(hv2.virsh("vol-list", there).replace(/\s+/g, " ")).toBe(`tiny.qcow2 ${file}`);
    expect(virshRun("vol-info", file).exitCode).not.toBe(0);
    expect(spawnSync("qemu-img", ["compare", "-q", source, file]).status).toBe(0);

    await volumeProvider.delete(vol.id, vol.outs);
    await poolProvider.delete(there, pool.outs);
    expect(hv2.virsh("pool-list", "--all", "--name")).toBe("");
    expect(existsSync(poolPath)).toBe(false);
  });

  test("its QEMU boots a kernel under TCG", async () => {
    const kit = await ensureGuestKit();
    // QEMU runs as the daemon's unprivileged user: a folder it may enter and write its console log in.
    const vmDir = path.join(scratch, "vm");
    await fs.mkdir(vmDir);
    await fs.chmod(vmDir, 0o777);
    await fs.chmod(scratch, 0o711);
    const kernel = path.join(vmDir, "vmlinuz");
    const initrd = path.join(vmDir, "initrd.img");
    await fs.copyFile(kit.kernel, kernel);
    await fs.copyFile(kit.initrd, initrd);
    const consoleLog = path.join(vmDir, "console.log");
    const name = `nlt-hv2-tcg-${process.pid}`;
    const xml = path.join(vmDir, "domain.xml");
    await fs.writeFile(
      xml,
      `<domain type="qemu">
  <name>${name}</name>
  <memory unit="MiB">256</memory>
  <vcpu>1</vcpu>
  <os><type arch="x86_64" machine="pc">hvm</type>
    <kernel>${kernel}</kernel><initrd>${initrd}</initrd><cmdline>${kit.kernelCmdline}</cmdline></os>
  <devices><serial type="file"><source path="${consoleLog}"/><target port="0"/></serial></devices>
</domain>`,
    );
    hv2.virsh("define", xml);
    const started = Date.now();
    hv2.virsh("start", name);
    expect(hv2.virsh("domstate", name)).toBe("running");
    expect(virshRun("domstate", name).exitCode).not.toBe(0);
    // QEMU runs in the hypervisor's network namespace.
    const qemu = hv2
      .pids()
      .filter((p) => /qemu-system/.test(readFileSync(`/proc/${p}/cmdline`, "utf8")));
    expect(qemu).toHaveLength(1);
    let text = "";
    while (Date.now() - started < 120_000) {
      text = existsSync(consoleLog) ? readFileSync(consoleLog, "utf8") : "";
      if (text.includes(kit.readyMarker)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const line = text.split("\n").find((l) => l.includes(kit.readyMarker));
    process.stdout.write(
      `second hypervisor: kernel to ready line in ${((Date.now() - started) / 1000).toFixed(1)} s: ${line?.trim()}\n`,
    );
    expect(line).toBeDefined();
    hv2.virsh("destroy", name);
    hv2.virsh("undefine", name);
    expect(hv2.virsh("list", "--all", "--name")).toBe("");
  });

  test("stop leaves no namespace, process, mount, link or folder", async () => {
    const { net, mnt } = hv2.namespaces;
    const dir = hv2.dir;
    const seconds = await hv2.stop();
    process.stdout.write(`second hypervisor stopped in ${seconds.toFixed(2)} s\n`);
    expect(processesIn("net", net)).toEqual([]);
    expect(processesIn("mnt", mnt)).toEqual([]);
    expect(spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout).not.toContain(
      hv2.netns,
    );
    expect(spawnSync("ip", ["-4", "-o", "addr"], { encoding: "utf8" }).stdout).not.toContain(
      hv2.peerAddress,
    );
    expect(existsSync(dir)).toBe(false);
    // No mount of its folder anywhere on this machine.
    const mounts = readdirSync("/proc")
      .filter((e) => /^\d+$/.test(e))
      .some((p) => {
        try {
          return readFileSync(`/proc/${p}/mountinfo`, "utf8").includes(dir);
        } catch {
          return false;
        }
      });
    expect(mounts).toBe(false);
    expect(existsSync(`/run/netns/${hv2.netns}`)).toBe(false);
  });
});

/**
 * The stand-in classroom image, for real: built (or found in the cache), its
 * VMware chain inspected, converted, booted under TCG with an AMD CPU that has
 * SVM, reached over SSH through a 127.0.0.1 forward, and its three lab
 * machines started through `virsh -c qemu+ssh://…` and seen up under KVM
 * inside it. Prints the measured timings.
 *
 * libvirt objects are named nlt-image-…; the domain and temp folder are
 * removed afterwards.
 */
import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { spawnCollect } from "../../../components/host/spawn";
import { withHost } from "../../../components/host";
import { LocalHost } from "../../../components/host/local";
import { provider as volumeProvider } from "../../../components/volume/provider";
import {
  DELTA_MARKER_FILE,
  LAB_MACHINES,
  LabUpLine,
  StandinImage,
  ensureStandinImage,
  knownHostsLine,
  labSerialLog,
  parseLabUpLine,
} from "../../support/standin";
import { freePort } from "../../support/ports";
import { URI, virsh, virshOn, virshRun } from "../../support/virsh";
import { makeVmdkChain } from "../../support/vmdk-chain";

const DOMAIN = `nlt-image-${process.pid}`;
const MINUTE = 60 * 1000;

let image: StandinImage;
let workDir: string;

async function run(
  argv: string[],
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
) {
  const result = await spawnCollect(argv, options);
  if (result.exitCode !== 0) {
    throw new Error(
      `\`${argv.join(" ")}\` exited with ${result.exitCode}:\n${result.stderr.slice(-3000)}`,
    );
  }
  return result.stdout;
}

beforeAll(async () => {
  const started = Date.now();
  image = await ensureStandinImage();
  console.log(
    `stand-in image ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${image.dir}`,
  );
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "nlt-image-"));
  // QEMU runs as libvirt-qemu: it must reach the disk inside this folder.
  await fs.chmod(workDir, 0o755);
}, 50 * MINUTE);

afterAll(async () => {
  virshRun("destroy", DOMAIN);
  virshRun("undefine", DOMAIN, "--nvram");
  if (workDir) await fs.rm(workDir, { recursive: true, force: true });
}, 2 * MINUTE);

interface ChainLink {
  filename: string;
  format: string;
  "actual-size": number;
  "virtual-size": number;
  "backing-filename"?: string;
  "format-specific": {
    type: string;
    data: { cid: number; "parent-cid": number; "create-type": string };
  };
}

describe("the stand-in image's VMware chain", () => {
  let chain: ChainLink[];

  beforeAll(async () => {
    chain = JSON.parse(
      await run(["qemu-img", "info", "--output=json", "--backing-chain", image.deltaVmdk]),
    ) as ChainLink[];
  });

  it("is a monolithicSparse delta on a monolithicSparse base, by relative name", () => {
    expect(chain.map((link) => path.basename(link.filename))).toEqual([
      "RHEL7_Server-000002.vmdk",
      "RHEL7_Server.vmdk",
    ]);
    expect(chain.map((link) => link.format)).toEqual(["vmdk", "vmdk"]);
    expect(chain.map((link) => link["format-specific"].data["create-type"])).toEqual([
      "monolithicSparse",
      "monolithicSparse",
    ]);
    expect(chain[0]["backing-filename"]).toBe("RHEL7_Server.vmdk");
    expect(chain[0]["virtual-size"]).toBe(chain[1]["virtual-size"]);
  });

  it("links the delta to the base by the base's CID", () => {
    const [delta, base] = chain.map((link) => link["format-specific"].data);
    expect(base["parent-cid"]).toBe(0xffffffff);
    expect(delta["parent-cid"]).toBe(base.cid);
    expect(delta.cid).not.toBe(base.cid);
  });

  it("holds data in the delta, and stays under 1.5 GiB allocated", () => {
    const [delta, base] = chain;
    console.log(
      `allocated: base ${(base["actual-size"] / 2 ** 20).toFixed(0)} MiB, delta ${(delta["actual-size"] / 2 ** 20).toFixed(1)} MiB, ` +
        `virtual ${(base["virtual-size"] / 2 ** 30).toFixed(0)} GiB`,
    );
    // The lab machines' kernel, initramfs and disks: several MiB.
    expect(delta["actual-size"]).toBeGreaterThan(4 * 2 ** 20);
    expect(base["actual-size"] + delta["actual-size"]).toBeLessThan(1.5 * 2 ** 30);
  });

  it("shows different guest data through the delta than in the base alone", async () => {
    const result = await spawnCollect([
      "qemu-img",
      "compare",
      "-f",
      "vmdk",
      "-F",
      "vmdk",
      image.baseVmdk,
      image.deltaVmdk,
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/Content mismatch at offset/);
  });

  it("keeps the root key private and records the package set", async () => {
    expect((await fs.stat(image.sshPrivateKeyFile)).mode & 0o077).toBe(0);
    const manifest = await fs.readFile(image.manifestFile, "utf8");
    for (const pkg of [
      "linux-image-amd64",
      "grub-pc-bin",
      "lvm2",
      "xfsprogs",
      "openssh-server",
      "libvirt-daemon-system",
      "qemu-system-x86",
    ]) {
      expect(manifest).toMatch(new RegExp(`^${pkg} \\S+ amd64$`, "m"));
    }
  });
});

describe("the base alone, read with libguestfs", () => {
  it(
    "has RHEL 7's layout (MBR, /boot XFS, LVM rhel/root XFS) and no lab machines",
    async () => {
      const out = await run(
        [
          "guestfish",
          "--ro",
          "--format=vmdk",
          "-a",
          image.baseVmdk,
          "--",
          "run",
          ":",
          "part-get-parttype",
          "/dev/sda",
          ":",
          "vfs-type",
          "/dev/sda1",
          ":",
          "lvs",
          ":",
          "vfs-type",
          "/dev/rhel/root",
          ":",
          "mount-ro",
          "/dev/rhel/root",
          "/",
          ":",
          "is-file",
          DELTA_MARKER_FILE,
          ":",
          "glob-expand",
          "/etc/libvirt/qemu/*.xml",
          ":",
          "is-file",
          "/etc/ssh/ssh_host_ed25519_key",
        ],
        {
          timeoutMs: 5 * MINUTE,
          env: { LIBGUESTFS_BACKEND: "direct", LIBGUESTFS_BACKEND_SETTINGS: "force_tcg" },
        },
      );
      expect(out.trim().split("\n")).toEqual([
        "msdos",
        "xfs",
        "/dev/rhel/root",
        "xfs",
        "false",
        "true",
      ]);
    },
    5 * MINUTE,
  );
});

function domainXml(disk: string, serialLog: string, sshPort: number): string {
  return `<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>${DOMAIN}</name>
  <memory unit='MiB'>2048</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features><acpi/><apic/></features>
  <cpu mode='custom' match='exact' check='none'>
    <model fallback='forbid'>qemu64</model>
    <feature policy='require' name='svm'/>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'>
      <source path='${serialLog}'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-netdev'/>
    <qemu:arg value='user,id=nltimage0,hostfwd=tcp:127.0.0.1:${sshPort}-:22'/>
    <qemu:arg value='-device'/>
    <qemu:arg value='virtio-net-pci,netdev=nltimage0,addr=0x9'/>
  </qemu:commandline>
</domain>
`;
}

describe("the stand-in classroom host, booted under TCG", () => {
  let sshPort: number;
  let knownHosts: string;
  let serialLog: string;

  const sshArgv = (...command: string[]) => [
    "ssh",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "ConnectTimeout=5",
    "-i",
    image.sshPrivateKeyFile,
    "-p",
    String(sshPort),
    "root@127.0.0.1",
    ...command,
  ];
  const ssh = (...command: string[]) => run(sshArgv(...command), { timeoutMs: MINUTE });
  const remoteUri = () =>
    `qemu+ssh://root@127.0.0.1:${sshPort}/system?keyfile=${image.sshPrivateKeyFile}&no_tty=1&no_verify=1`;
  const remoteVirsh = (...args: string[]) => virshOn(new LocalHost(), remoteUri()).out(...args);

  it(
    "boots from its own disk to SSH and runs all three lab machines, with svm (timings printed)",
    async () => {
      // Convert the top of the chain (the delta and, through it, the base).
      const disk = path.join(workDir, "classroom-host.qcow2");
      let started = Date.now();
      await run(["qemu-img", "convert", "-f", "vmdk", "-O", "qcow2", image.deltaVmdk, disk], {
        timeoutMs: 10 * MINUTE,
      });
      const convertSeconds = (Date.now() - started) / 1000;

      sshPort = await freePort();
      knownHosts = path.join(workDir, "known_hosts");
      await fs.writeFile(knownHosts, `${knownHostsLine(image, sshPort)}\n`);
      serialLog = path.join(workDir, "serial.log");
      const xmlFile = path.join(workDir, "domain.xml");
      await fs.writeFile(xmlFile, domainXml(disk, serialLog, sshPort));
      virsh("define", xmlFile);

      // Power-on to SSH ready.
      started = Date.now();
      virsh("start", DOMAIN);
      let sshReadySeconds = -1;
      let sshReadyAt = 0;
      while (Date.now() - started < 5 * MINUTE) {
        const probe = await spawnCollect(sshArgv("true"), { timeoutMs: 20_000 });
        if (probe.exitCode === 0) {
          sshReadyAt = Date.now();
          sshReadySeconds = (sshReadyAt - started) / 1000;
          break;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      if (sshReadySeconds < 0) {
        const console = await fs.readFile(serialLog, "utf8").catch(() => "");
        throw new Error(
          `no SSH on 127.0.0.1:${sshPort} after 5 minutes; serial console:\n${console.slice(-4000)}`,
        );
      }

      // Booted by GRUB from its own disk: the domain has no <kernel>, GRUB sets BOOT_IMAGE.
      expect(await ssh("cat", "/proc/cmdline")).toMatch(
        /^BOOT_IMAGE=\/vmlinuz-\S+ root=\/dev\/mapper\/rhel-root /,
      );
      expect((await ssh("findmnt", "-n", "-o", "SOURCE,FSTYPE", "/")).trim()).toBe(
        "/dev/mapper/rhel-root xfs",
      );
      expect((await ssh("findmnt", "-n", "-o", "FSTYPE", "/boot")).trim()).toBe("xfs");
      // KVM inside: kvm_amd loaded with nested on, kvm_intel present as a module.
      expect((await ssh("cat", "/sys/module/kvm_amd/parameters/nested")).trim()).toBe("1");
      expect(await ssh("modinfo", "-n", "kvm_intel")).toMatch(/kvm-intel\.ko/);
      expect(await ssh("cat", DELTA_MARKER_FILE)).toMatch(/^NESTLAB-STANDIN-DELTA key=/);

      // The lab machines, through the classroom host's libvirtd over SSH.
      const list = await remoteVirsh("list", "--all", "--name");
      expect(list.split("\n").filter(Boolean).sort()).toEqual([...LAB_MACHINES].sort());
      for (const machine of LAB_MACHINES) {
        expect((await remoteVirsh("domstate", machine)).trim()).toBe("shut off");
        expect(await remoteVirsh("dominfo", machine)).toMatch(/^Autostart:\s+disable$/m);
      }
      for (const machine of LAB_MACHINES) await remoteVirsh("start", machine);
      const up = new Map<string, LabUpLine>();
      // Two levels of emulation: minutes on a quiet 2-core machine, more under load.
      while (up.size < LAB_MACHINES.length && Date.now() - sshReadyAt < 10 * MINUTE) {
        for (const machine of LAB_MACHINES) {
          if (up.has(machine)) continue;
          const log = await spawnCollect(sshArgv("cat", labSerialLog(machine)), {
            timeoutMs: 20_000,
          });
          const line = parseLabUpLine(log.stdout);
          if (line) up.set(machine, line);
        }
        if (up.size < LAB_MACHINES.length) await new Promise((r) => setTimeout(r, 1000));
      }
      const labsUpSeconds = (Date.now() - sshReadyAt) / 1000;
      console.log(
        `stand-in timings: convert ${convertSeconds.toFixed(1)} s, power-on to SSH ${sshReadySeconds.toFixed(1)} s, ` +
          `SSH ready to all three lab machines up ${labsUpSeconds.toFixed(1)} s`,
      );
      for (const machine of LAB_MACHINES.filter((m) => !up.has(m))) {
        // Say what the machine that never came up was doing, before the assertion fails.
        const log = await spawnCollect(sshArgv("tail", "-c", "3000", labSerialLog(machine)), {
          timeoutMs: 20_000,
        });
        const state = await spawnCollect(sshArgv("virsh", "domstate", "--reason", machine), {
          timeoutMs: 20_000,
        });
        console.log(`${machine}: ${state.stdout.trim()}; its serial console ends:\n${log.stdout}`);
      }
      for (const machine of LAB_MACHINES) {
        expect({ machine, line: up.get(machine) }).toEqual({
          machine,
          line: { name: machine, svm: true, vmx: false, disk: machine },
        });
        expect((await remoteVirsh("domstate", machine)).trim()).toBe("running");
      }
      // Under KVM: libvirt starts a domain of type kvm only with a working /dev/kvm.
      expect(await remoteVirsh("dumpxml", "classroom")).toMatch(/<domain type='kvm' id='\d+'/);
      // Its speed is a figure printed above, not an assertion: a loaded machine
      // (TCG guests of other runs) can double it without anything being wrong.
    },
    20 * MINUTE,
  );

  it(
    "is a remote hypervisor for ConvertedVolume: qemu-img and virsh run on it over SSH, nothing comes back",
    async () => {
      if (!sshPort) throw new Error("the stand-in did not boot (see the test before this one)");
      const host = {
        libvirtUri: URI,
        rootDir: "",
        ssh: {
          host: "127.0.0.1",
          port: sshPort,
          user: "root",
          knownHosts: knownHostsLine(image, sshPort),
          connectTimeoutSeconds: 10,
        },
      };
      // argv on the classroom host through the project's own SSH access (quoted for its shell).
      const onClassroom = (...argv: string[]) =>
        withHost(host, image.sshPrivateKey, async (h) => (await h.run(argv)).stdout);
      const dir = "/var/tmp/nlt-remote";
      const poolPath = `${dir}/pool`;
      const pool = "nlt-remote";
      // The seed's chain, made on the classroom host: it exists only there.
      await onClassroom("mkdir", "-p", `${dir}/src`);
      const { base, top } = await withHost(host, image.sshPrivateKey, (h) =>
        makeVmdkChain(h, `${dir}/src`),
      );
      const sourceSums = await onClassroom("sha256sum", base, top);
      await remoteVirsh("pool-define-as", pool, "dir", "--target", poolPath);
      await remoteVirsh("pool-build", pool);
      await remoteVirsh("pool-start", pool);

      const inputs = {
        host,
        sshPrivateKey: image.sshPrivateKey,
        resourceName: "remote",
        source: top,
        pool,
        volumeName: "remote.qcow2",
      };
      const checked = await volumeProvider.check({}, inputs);
      expect(checked.failures ?? []).toEqual([]);
      const made = await volumeProvider.create(checked.inputs);
      const file = `${poolPath}/remote.qcow2`;
      expect([made.id, made.outs.format, made.outs.virtualSizeBytes]).toEqual([
        file,
        "qcow2",
        64 * 1024 ** 2,
      ]);
      await expect(fs.stat(file)).rejects.toThrow(/ENOENT/);
      await expect(fs.stat(top)).rejects.toThrow(/ENOENT/);
      // On the classroom host: the whole chain in the volume, registered, the source untouched.
      const compare = (against: string) =>
        onClassroom("qemu-img", "compare", "-q", "-f", "vmdk", "-F", "qcow2", against, file).then(
          () => "identical",
          () => "different",
        );
      expect([await compare(top), await compare(base)]).toEqual(["identical", "different"]);
      const remoteVolumes = () => virshOn(new LocalHost(), remoteUri()).volumes(pool);
      expect(await remoteVolumes()).toEqual(["remote.qcow2"]);
      expect(await onClassroom("sha256sum", base, top)).toBe(sourceSums);

      await volumeProvider.delete(made.id, made.outs);
      expect(await remoteVolumes()).toEqual([]);
      expect((await onClassroom("ls", "-A", poolPath)).trim()).toBe("");
      expect(await onClassroom("sha256sum", base, top)).toBe(sourceSums);
    },
    5 * MINUTE,
  );
});

/**
 * The guest kit itself: its cache, its build failures, and the behaviour the
 * nested-virtualization tests rely on, checked inside a booted kit guest
 * (kvm_amd under TCG with SVM, kmod, modprobe.d, kvm-holder).
 */
import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { resolveHost } from "../../../components/host/connection";
import { spawnCollect } from "../../../components/host/spawn";
import { SshHost } from "../../../components/host/ssh";
import { BUILD_SCRIPT, ensureGuestKit, GuestKit } from "../../support/guest-kit";
import { GuestVm, guestSshArgv, startGuestVm } from "../../support/guest-vm";

const NESTED = "/sys/module/kvm_amd/parameters/nested";
const BUILD_MS = 10 * 60 * 1000;
const BOOT_MS = 180_000;

// Each command over SSH takes 0.3 to 1 s under TCG (more while other tests load the CPU).
jest.setTimeout(90_000);

let kit: GuestKit;
let vm: GuestVm;
let scratch: string;

beforeAll(async () => {
  kit = await ensureGuestKit();
  vm = await startGuestVm({ name: "nlt-guestkit" });
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), "nlt-guestkit-test-"));
}, BUILD_MS + BOOT_MS);

afterAll(async () => {
  await vm?.stop();
  if (scratch) await fs.rm(scratch, { recursive: true, force: true });
});

/** Runs a shell snippet in the guest and returns its stdout (throws on a non-zero exit). */
async function sh(script: string): Promise<string> {
  return (await vm.run(["sh", "-c", script])).stdout;
}

async function nestedValue(): Promise<string> {
  return (await vm.run(["cat", NESTED])).stdout;
}

/** Unloads kvm_amd if loaded and loads it with the given modprobe arguments. */
async function reload(...args: string[]): Promise<void> {
  await sh("if [ -d /sys/module/kvm_amd ]; then rmmod kvm_amd; fi");
  await vm.run(["modprobe", "kvm_amd", ...args]);
}

describe("the kit on disk", () => {
  test("is found again by a fresh build-script process in well under a second", async () => {
    const t0 = Date.now();
    const r = await spawnCollect(["bash", BUILD_SCRIPT]);
    const ms = Date.now() - t0;
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`${kit.dir}\n`);
    expect(r.stderr).toBe("");
    expect(ms).toBeLessThan(1000);
  });

  test("holds the kernel, the initramfs, a 0600 private key and the Debian packages it came from", async () => {
    expect(path.basename(kit.dir)).toBe(`guest-kit-${kit.key}`);
    expect(kit.key).toMatch(/^[0-9a-f]{16}$/);
    const names = (await fs.readdir(kit.dir)).sort();
    expect(names).toEqual([
      "host_ed25519.pub",
      "initrd.cpio.gz",
      "kit.json",
      "ssh_ed25519",
      "ssh_ed25519.pub",
      "vmlinuz",
    ]);
    expect((await fs.stat(kit.sshPrivateKeyFile)).mode & 0o777).toBe(0o600);
    expect(kit.sshPrivateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(kit.sshPublicKey).toMatch(/^ssh-ed25519 AAAA\S+ nestlab-guest-kit-[0-9a-f]{16}$/);
    expect(kit.hostPublicKey).toMatch(/^ssh-ed25519 AAAA\S+$/);
    expect(kit.kernelVersion).toMatch(/^6\.1\.0-\d+-amd64$/);
    const pkgNames = kit.packages.map((p) => p.slice(0, p.indexOf("=")));
    expect(pkgNames).toEqual(
      expect.arrayContaining([
        `linux-image-${kit.kernelVersion}`,
        "busybox-static",
        "dash",
        "dropbear-bin",
        "kmod",
      ]),
    );
    expect(kit.modules).toEqual(
      expect.arrayContaining([
        "kernel/arch/x86/kvm/kvm-amd.ko",
        "kernel/arch/x86/kvm/kvm-intel.ko",
        "kernel/arch/x86/kvm/kvm.ko",
        "kernel/virt/lib/irqbypass.ko",
        "kernel/drivers/crypto/ccp/ccp.ko",
        "kernel/drivers/net/virtio_net.ko",
      ]),
    );
  });

  test("a failed build names the step and the tool's last lines, and leaves nothing behind", async () => {
    // An apt-get that fails, and an empty .deb cache so that the download step needs it.
    const bin = path.join(scratch, "bin");
    const cache = path.join(scratch, "cache");
    await fs.mkdir(bin, { recursive: true });
    await fs.writeFile(
      path.join(bin, "apt-get"),
      "#!/bin/sh\necho 'E: simulated mirror failure' >&2\nexit 100\n",
      {
        mode: 0o755,
      },
    );
    const r = await spawnCollect(["bash", BUILD_SCRIPT], {
      env: { PATH: `${bin}:${process.env.PATH}`, NESTLAB_CACHE: cache },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /guest-kit: error: step "download" failed \(fetch_debs\); last lines:\n {2}E: simulated mirror failure\n$/,
    );
    const left = (await fs.readdir(cache)).filter(
      (n) => n.startsWith("guest-kit-") || n.startsWith(".guest-kit-build"),
    );
    expect(left.filter((n) => n !== "guest-kit-resolved")).toEqual([]);
  }, 60_000);
});

describe("a booted kit guest (qemu64,+svm under TCG)", () => {
  test("prints the ready line with svm, kvm_amd loaded and nested=1", () => {
    expect(vm.ready).toEqual({ svm: true, vmx: false, kvm: "kvm_amd", nested: "1", sshPort: 22 });
    expect(vm.serialLog()).toContain(
      "NESTLAB-GUEST-READY svm=yes vmx=no kvm=kvm_amd nested=1 ssh=22\r\n",
    );
  });

  test("runs the kit's kernel, and SSH logs in as root with the kit's key", async () => {
    expect(await sh("uname -r; id -u")).toBe(`${kit.kernelVersion}\n0\n`);
  });

  test("SSH refuses a guest whose host key differs from the pinned one", async () => {
    const otherKey = kit.hostPublicKey.replace(/AAAA(\S{8})/, "AAAAAAAAAAAA");
    const knownHosts = path.join(scratch, "wrong_known_hosts");
    await fs.writeFile(knownHosts, `[127.0.0.1]:${vm.sshPort} ${otherKey}\n`);
    const r = await spawnCollect(
      guestSshArgv(kit.sshPrivateKeyFile, knownHosts, vm.sshPort, ["true"]),
    );
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  test("shows svm in /proc/cpuinfo", async () => {
    expect(await sh("grep -cw svm /proc/cpuinfo")).toBe("1\n");
    expect(
      (await vm.run(["grep", "-cw", "vmx", "/proc/cpuinfo"], { allowFailure: true })).stdout,
    ).toBe("0\n");
  });

  test("modprobe and rmmod are kmod's, and /bin/sh is dash", async () => {
    expect(await sh("for f in modprobe rmmod sh; do readlink /usr/bin/$f; done")).toBe(
      "kmod\nkmod\ndash\n",
    );
    expect(await sh("command -v modprobe")).toBe("/usr/sbin/modprobe\n");
  });

  test("reloads kvm_amd with nested=0 and nested=1, and the parameter reads back each value", async () => {
    await reload("nested=0");
    expect(await nestedValue()).toBe("0\n");
    await reload("nested=1");
    expect(await nestedValue()).toBe("1\n");
    expect(await sh("stat -c %a " + NESTED)).toBe("444\n");
    expect(await sh("test -c /dev/kvm && echo yes")).toBe("yes\n");
  });

  test("refuses to unload kvm_amd while kvm-holder holds /dev/kvm, and the value stays; after kill it unloads", async () => {
    await reload("nested=1");
    const held = await vm.run([kit.kvmHolder, "--daemon"]);
    const match = /^kvm-holder: guest ran: out 0x10 = 5, hlt; holding \/dev\/kvm pid=(\d+)\n$/.exec(
      held.stdout,
    );
    expect(match).not.toBeNull();
    const pid = match![1];
    try {
      expect(await sh(`for f in /proc/${pid}/fd/*; do readlink $f; done | sort`)).toBe(
        "/dev/kvm\n/dev/null\n/dev/null\n/dev/null\nanon_inode:kvm-vcpu:0\nanon_inode:kvm-vm\n",
      );
      const refused = await vm.run(["rmmod", "kvm_amd"], { allowFailure: true });
      expect(refused).toEqual({
        exitCode: 1,
        stdout: "",
        stderr: "rmmod: ERROR: Module kvm_amd is in use\n",
      });
      expect(await nestedValue()).toBe("1\n");
      // /dev/kvm and the VM each hold a reference on the module.
      expect(await sh("cut -d' ' -f1,3 /proc/modules | grep '^kvm_amd '")).toBe("kvm_amd 2\n");
    } finally {
      await vm.run(["kill", pid]);
      await sh(`while [ -e /proc/${pid} ]; do sleep 0.1; done`);
    }
    expect(await sh("cut -d' ' -f1,3 /proc/modules | grep '^kvm_amd '")).toBe("kvm_amd 0\n");
    expect(await vm.run(["rmmod", "kvm_amd"])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(await sh("test -e /sys/module/kvm_amd || echo gone")).toBe("gone\n");
    await vm.run(["modprobe", "kvm_amd"]);
  });

  test("honours `options kvm_amd nested=0` in /etc/modprobe.d on reload; the modprobe command line overrides it", async () => {
    await vm.run(["sh", "-c", "cat > /etc/modprobe.d/nlt-kvm.conf"], {
      input: "options kvm_amd nested=0\n",
    });
    try {
      await reload();
      expect(await nestedValue()).toBe("0\n");
      await reload("nested=1");
      expect(await nestedValue()).toBe("1\n");
      // busybox's modprobe reads modprobe.d the same way (kmod's is the one on PATH).
      await sh("rmmod kvm_amd && busybox modprobe kvm_amd");
      expect(await nestedValue()).toBe("0\n");
    } finally {
      await vm.run(["rm", "-f", "/etc/modprobe.d/nlt-kvm.conf"]);
      await reload();
    }
    expect(await nestedValue()).toBe("1\n");
  });

  test("serves the project's SshHost through vm.hostConnection: atomic write, read, list, remove, run", async () => {
    const { spec, privateKey } = resolveHost(vm.hostConnection);
    const host = new SshHost(spec.ssh!, privateKey);
    try {
      await host.writeFileAtomic(
        "/etc/modprobe.d/nlt-sshhost.conf",
        "# kept\noptions kvm_amd nested=0\n",
      );
      expect(await host.readFile("/etc/modprobe.d/nlt-sshhost.conf")).toBe(
        "# kept\noptions kvm_amd nested=0\n",
      );
      expect(await host.listDir("/etc/modprobe.d")).toEqual(["nlt-sshhost.conf"]);
      expect(await host.readFile("/etc/modprobe.d/absent.conf")).toBeUndefined();
      expect(await host.hasCommand("modprobe")).toBe(true);
      expect(await host.hasCommand("virsh")).toBe(false);
      await host.removeFile("/etc/modprobe.d/nlt-sshhost.conf");
      expect(await host.listDir("/etc/modprobe.d")).toEqual([]);
      expect((await host.run(["cat", NESTED])).stdout).toBe("1\n");
    } finally {
      await host.close();
    }
  });

  test("kvm-holder fails clearly when there is no /dev/kvm", async () => {
    await sh("rmmod kvm_amd");
    try {
      const r = await vm.run([kit.kvmHolder, "--daemon"], { allowFailure: true });
      expect(r).toEqual({
        exitCode: 1,
        stdout: "",
        stderr: "kvm-holder: open /dev/kvm: No such file or directory\n",
      });
    } finally {
      await vm.run(["modprobe", "kvm_amd"]);
    }
  });
});

describe("other CPU models and boot switches", () => {
  test(
    "under EPYC with nestlab.kvm=0 the guest sees svm, leaves kvm_amd unloaded, and loads it on demand",
    async () => {
      const epyc = await startGuestVm({
        cpu: "EPYC",
        kernelArgs: "nestlab.kvm=0",
        name: "nlt-guestkit-epyc",
      });
      try {
        expect(epyc.ready).toEqual({
          svm: true,
          vmx: false,
          kvm: "none",
          nested: undefined,
          sshPort: 22,
        });
        const r = await epyc.run([
          "sh",
          "-c",
          "grep -cw svm /proc/cpuinfo; test -e /sys/module/kvm_amd || echo unloaded; modprobe kvm_amd && cat " +
            NESTED,
        ]);
        expect(r.stdout).toBe("1\nunloaded\n1\n");
      } finally {
        await epyc.stop();
      }
    },
    BOOT_MS,
  );

  test(
    "without svm (qemu64,-svm) the ready line says so and kvm_amd refuses to load",
    async () => {
      const plain = await startGuestVm({ cpu: "qemu64,-svm", name: "nlt-guestkit-nosvm" });
      try {
        expect(plain.ready).toEqual({
          svm: false,
          vmx: false,
          kvm: "none",
          nested: undefined,
          sshPort: 22,
        });
        const r = await plain.run(["modprobe", "kvm_amd"], { allowFailure: true });
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toBe(
          "modprobe: ERROR: could not insert 'kvm_amd': Operation not supported\n",
        );
      } finally {
        await plain.stop();
      }
    },
    BOOT_MS,
  );
});

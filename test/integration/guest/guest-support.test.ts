/**
 * The pure parts of the guest-kit test support: the ready line, the pinned
 * host key, QEMU's and ssh's argv. No guest is booted here.
 */
import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { copyBootFiles, knownHostsLine, parseReadyLine } from "../../support/guest-kit";
import { guestSshArgv, qemuArgv } from "../../support/guest-vm";

describe("parseReadyLine", () => {
  test.each([
    [
      "NESTLAB-GUEST-READY svm=yes vmx=no kvm=kvm_amd nested=1 ssh=22",
      { svm: true, vmx: false, kvm: "kvm_amd", nested: "1", sshPort: 22 },
    ],
    [
      "NESTLAB-GUEST-READY svm=no vmx=yes kvm=kvm_intel nested=Y ssh=22",
      { svm: false, vmx: true, kvm: "kvm_intel", nested: "Y", sshPort: 22 },
    ],
    [
      "NESTLAB-GUEST-READY svm=yes vmx=no kvm=none nested=- ssh=none",
      { svm: true, vmx: false, kvm: "none", nested: undefined, sshPort: undefined },
    ],
  ])("reads %j", (line, expected) => {
    expect(parseReadyLine(`[    1.0] boot noise\r\n${line}\r\n\r\nnestlab-guest# `)).toEqual(
      expected,
    );
  });

  test("is undefined until the line is complete on the console", () => {
    expect(parseReadyLine("SeaBIOS\r\nBooting from ROM..\r\n")).toBeUndefined();
    expect(parseReadyLine("echo NESTLAB-GUEST-READY svm=yes\r\n")).toBeUndefined();
    expect(parseReadyLine("ok\r\nNESTLAB-GUEST-READY svm=yes vmx=no kvm=kvm_a")).toBeUndefined();
  });

  test("takes the last line after a reboot", () => {
    const log =
      "NESTLAB-GUEST-READY svm=yes vmx=no kvm=kvm_amd nested=1 ssh=22\r\n" +
      "NESTLAB-GUEST-READY svm=yes vmx=no kvm=kvm_amd nested=0 ssh=22\r\n";
    expect(parseReadyLine(log)?.nested).toBe("0");
  });
});

describe("knownHostsLine", () => {
  const kit = { hostPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKEY" };

  test("brackets the host with a port other than 22, as ssh looks it up", () => {
    expect(knownHostsLine(kit, 40022)).toBe(
      "[127.0.0.1]:40022 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKEY",
    );
  });

  test("uses the bare host on port 22", () => {
    expect(knownHostsLine(kit, 22, "guest.example")).toBe(
      "guest.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKEY",
    );
  });

  test("leaves out the key's comment", () => {
    expect(
      knownHostsLine({ hostPublicKey: `${kit.hostPublicKey} root@foundation0\n` }, 40022),
    ).toBe("[127.0.0.1]:40022 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKEY");
  });
});

describe("qemuArgv", () => {
  const argv = qemuArgv({
    kernel: "/k/vmlinuz",
    initrd: "/k/initrd.cpio.gz",
    kernelCmdline: "console=ttyS0 panic=-1 quiet nestlab.kvm=0",
    memoryMiB: 512,
    cpu: "EPYC",
    sshPort: 40022,
    serialSocket: "/t/serial.sock",
    serialLogFile: "/t/serial.log",
  });
  const option = (name: string) => argv[argv.indexOf(name) + 1];

  test("runs TCG with the CPU model, memory and one vCPU asked for, never KVM", () => {
    expect(argv[0]).toBe("qemu-system-x86_64");
    expect(option("-accel")).toBe("tcg");
    expect(option("-cpu")).toBe("EPYC");
    expect(option("-m")).toBe("512");
    expect(option("-smp")).toBe("1");
    expect(argv).not.toContain("-enable-kvm");
    expect(argv.filter((a) => /kvm/.test(a) && a !== option("-append"))).toEqual([]);
  });

  test("boots the kit's kernel and initramfs with the command line", () => {
    expect(option("-kernel")).toBe("/k/vmlinuz");
    expect(option("-initrd")).toBe("/k/initrd.cpio.gz");
    expect(option("-append")).toBe("console=ttyS0 panic=-1 quiet nestlab.kvm=0");
  });

  test("forwards SSH from 127.0.0.1 only and logs the serial console on a unix socket", () => {
    expect(option("-netdev")).toBe("user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22");
    expect(option("-device")).toBe("virtio-net-pci,netdev=net0,romfile=");
    expect(option("-chardev")).toBe(
      "socket,id=serial0,path=/t/serial.sock,server=on,wait=off,logfile=/t/serial.log",
    );
    expect(option("-serial")).toBe("chardev:serial0");
  });
});

describe("guestSshArgv", () => {
  test("pins the host key, uses only the kit's key, and quotes each argument for the remote shell", () => {
    expect(guestSshArgv("/k/ssh_ed25519", "/t/known_hosts", 40022, ["sh", "-c", "echo $HOME; it's"])).toEqual([
      "ssh",
      "-o", "BatchMode=yes",
      "-o", "StrictHostKeyChecking=yes",
      "-o", "UserKnownHostsFile=/t/known_hosts",
      "-o", "IdentitiesOnly=yes",
      "-o", "ConnectTimeout=10",
      "-o", "LogLevel=ERROR",
      "-i", "/k/ssh_ed25519",
      "-p", "40022",
      "-l", "root",
      "--", "127.0.0.1",
      `sh -c 'echo $HOME; it'\\''s'`,
    ]); // prettier-ignore
  });
});

describe("copyBootFiles", () => {
  test("copies kernel and initramfs readable by everyone into the folder", async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "nlt-guestkit-copy-"));
    try {
      const src = path.join(tmp, "src");
      await fs.mkdir(src);
      await fs.writeFile(path.join(src, "vmlinuz"), "kernel bytes", { mode: 0o600 });
      await fs.writeFile(path.join(src, "initrd.cpio.gz"), "initrd bytes", { mode: 0o600 });
      const dest = path.join(tmp, "boot");
      const copied = await copyBootFiles(
        { kernel: path.join(src, "vmlinuz"), initrd: path.join(src, "initrd.cpio.gz") },
        dest,
      );
      expect(copied).toEqual({
        kernel: path.join(dest, "vmlinuz"),
        initrd: path.join(dest, "initrd.cpio.gz"),
      });
      expect(await fs.readFile(copied.kernel, "utf8")).toBe("kernel bytes");
      expect(await fs.readFile(copied.initrd, "utf8")).toBe("initrd bytes");
      expect((await fs.stat(copied.kernel)).mode & 0o777).toBe(0o644);
      expect((await fs.stat(copied.initrd)).mode & 0o777).toBe(0o644);
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });
});

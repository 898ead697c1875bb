import { promises as fs } from "fs";
import * as net from "net";
import * as path from "path";
import { provider } from "../../../components/domain/provider";
import { ensureGuestKit, parseReadyLine } from "../../support/guest-kit";
import { HOST, OWNER_PREFIX, PREFIX, removeOurDomains, scratchDir, up, virsh } from "./support";

jest.setTimeout(180_000);

/**
 * The nested-capable claim, proven from inside: a Debian kernel booted
 * directly in a NestedDomain (custom qemu64, svm added by the component
 * under TCG) sees svm in /proc/cpuinfo and loads kvm_amd, read over the
 * serial console (a unix socket).
 */
describe("a real kernel in a NestedDomain", () => {
  let dir: string;
  let serial: Console | undefined;

  beforeAll(async () => {
    await removeOurDomains();
    ({ dir } = await scratchDir("kernel"));
  });

  afterAll(async () => {
    serial?.close();
    await removeOurDomains();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test("sees svm and loads kvm_amd with nested virtualization", async () => {
    const kit = await ensureGuestKit();
    // libvirt's QEMU reads these: copies in our own folder, away from the cache.
    const kernel = path.join(dir, "vmlinuz");
    const initrd = path.join(dir, "initrd.img");
    await fs.copyFile(kit.kernel, kernel);
    await fs.copyFile(kit.initrd, initrd);
    const socket = path.join(dir, "console.sock");
    const started = Date.now();
    const made = await up(undefined, {
      host: HOST,
      domainName: `${PREFIX}kernel`,
      memoryMiB: 512,
      vcpus: 1,
      cpu: { mode: "custom", model: "qemu64" },
      disks: [],
      serial: { type: "unix", path: socket },
      boot: { kernel, initrd, cmdline: kit.kernelCmdline },
      shutdownTimeoutSeconds: 5,
      owner: `${OWNER_PREFIX}kernel`,
    });
    expect(made.outs.serialAddress).toBe(socket);
    serial = await Console.connect(socket);
    // A whole line, up to its "\n" (the console ends lines with "\r\n").
    const ready = parseReadyLine(
      await serial.waitFor(new RegExp(`${kit.readyMarker} [^\\n]*\\n`), 120_000),
      kit.readyMarker,
    );
    const bootSeconds = (Date.now() - started) / 1000;
    expect(ready).toMatchObject({ svm: true, vmx: false, kvm: "kvm_amd", nested: "1" });

    // Load it again by hand, and read back what the guest sees.
    const out = await serial.command(
      "rmmod kvm_amd && modprobe kvm_amd nested=1 && echo SVM=$(grep -cw svm /proc/cpuinfo) NESTED=$(cat /sys/module/kvm_amd/parameters/nested) KVM=$(test -c /dev/kvm && echo yes)",
      /SVM=\d+ NESTED=\S+ KVM=\S*/,
    );
    expect(out).toMatch(/SVM=1 NESTED=1 KVM=yes/);
    process.stdout.write(`kernel boot to ready line: ${bootSeconds.toFixed(1)} s\n`);

    await provider.delete(made.id, made.outs);
    expect((await virsh("dominfo", made.id)).exitCode).not.toBe(0);
  });
});

/** A serial console on a unix socket: collects what the guest writes, sends lines. */
class Console {
  private text = "";
  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.text += chunk.toString("utf8");
    });
  }

  static async connect(file: string): Promise<Console> {
    for (let i = 0; ; i++) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection(file, () => resolve(s));
          s.once("error", reject);
        });
        return new Console(socket);
      } catch (e) {
        if (i > 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async waitFor(pattern: RegExp, timeoutMs: number, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.text.slice(from));
      if (m) return m[0];
      if (Date.now() > deadline)
        throw new Error(
          `Timed out waiting for ${pattern} on the console; it shows:\n${this.text.slice(-2000)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async command(line: string, answer: RegExp): Promise<string> {
    const from = this.text.length;
    this.socket.write(`${line}\n`);
    // The echo of the command line itself holds the pattern's words but not its values.
    return this.waitFor(answer, 60_000, from);
  }

  close(): void {
    this.socket.destroy();
  }
}

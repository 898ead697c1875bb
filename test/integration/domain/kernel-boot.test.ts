import { promises as fs } from "fs";
import * as net from "net";
import * as path from "path";
import { DomainOutputs, provider } from "../../../components/domain/provider";
import { ensureGuestKit, parseReadyLine } from "../../support/guest-kit";
import {
  HOST,
  OWNER_PREFIX,
  PREFIX,
  removeOurDomains,
  scratchDir,
  up,
  virsh,
  virshOk,
} from "./support";

jest.setTimeout(180_000);

/**
 * The nested-capable claim, proven from inside: a Debian kernel booted
 * directly in a NestedDomain (custom qemu64, svm added by the component
 * under TCG) sees svm in /proc/cpuinfo and loads kvm_amd, read over the
 * serial console (a unix socket). Its virtio_balloon driver then shows live
 * memory changes read back, and one made by hand found by refresh.
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
    const args = (memoryMiB: number) => ({
      host: HOST,
      domainName: `${PREFIX}kernel`,
      memoryMiB,
      maxMemoryMiB: 512,
      vcpus: 1,
      cpu: { mode: "custom", model: "qemu64" },
      disks: [],
      serial: { type: "unix", path: socket },
      boot: { kernel, initrd, cmdline: kit.kernelCmdline },
      shutdownTimeoutSeconds: 5,
      owner: `${OWNER_PREFIX}kernel`,
    });
    const made = await up(undefined, args(448));
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

    // The guest's balloon driver gives back what it was not given: 512 → 448 MiB.
    await until(async () => (await usedMiB(made.id)) === 448, "the balloon at 448 MiB");
    const refreshed = await provider.read(made.id, made.outs);
    expect(refreshed.props.liveMemoryMiB).toBe(448);
    expect(refreshed.props.pendingRestart).toEqual([]);
    expect(refreshed.inputs?.memoryMiB).toBe(448);
    let state = { id: made.id, outs: refreshed.props as DomainOutputs };

    // A live change, read back: the driver moved it.
    const shrunk = await up(state, args(384));
    expect(shrunk.plan).toBe("live: memoryMiB (through the guest's balloon driver)");
    expect(await usedMiB(made.id)).toBe(384);
    expect(shrunk.outs.liveMemoryMiB).toBe(384);
    expect(shrunk.outs.pendingRestart).toEqual([]);
    state = { id: made.id, outs: shrunk.outs };

    // Set live by hand: refresh shows it as a change of memoryMiB, and up puts it back.
    expect((await virsh("setmem", made.id, "320M", "--live")).exitCode).toBe(0);
    await until(async () => (await usedMiB(made.id)) === 320, "the balloon at 320 MiB");
    const drifted = await provider.read(made.id, state.outs);
    expect(drifted.inputs?.memoryMiB).toBe(320);
    expect(drifted.props.liveMemoryMiB).toBe(320);
    expect(drifted.props.pendingRestart).toEqual(["memoryMiB"]);
    const back = await up({ id: made.id, outs: drifted.props as DomainOutputs }, args(384));
    expect(back.plan).toBe("live: memoryMiB (through the guest's balloon driver)");
    expect(await usedMiB(made.id)).toBe(384);
    expect(back.outs.liveMemoryMiB).toBe(384);

    await provider.delete(made.id, made.outs);
    expect((await virsh("dominfo", made.id)).exitCode).not.toBe(0);
  });
});

/** The memory the guest has, as `virsh dominfo` says ("Used memory"), in MiB. */
async function usedMiB(id: string): Promise<number> {
  const kib = Number(/^Used memory:\s*(\d+) KiB$/m.exec(await virshOk("dominfo", id))?.[1]);
  return Math.round(kib / 1024);
}

async function until(
  test: () => Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

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

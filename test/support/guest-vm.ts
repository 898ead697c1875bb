/**
 * Boots the guest kit (./guest-kit.ts) under plain qemu-system-x86_64 with
 * TCG for a test, and runs commands in it over SSH.
 *
 * ```ts
 * const vm = await startGuestVm();            // qemu64,+svm, 512 MiB, 1 vCPU
 * const r = await vm.run(["cat", "/sys/module/kvm_amd/parameters/nested"]);
 * expect(r.stdout).toBe("1\n");
 * // the project's SSH path: resolveHost({ ssh: vm.hostConnection.ssh }) → new SshHost(…)
 * await vm.stop();                            // in afterAll
 * ```
 * Never -enable-kvm: this machine's /dev/kvm (kvm_pvm) cannot run ordinary
 * guests. TCG emulates SVM, so kvm_amd loads in the guest and really runs
 * guests (see the guest's kvm-holder).
 */
import { ChildProcess, spawn } from "child_process";
import { promises as fs, readFileSync } from "fs";
import * as os from "os";
import * as path from "path";
import { RunResult } from "../../components/host/access";
import { PlainHostConnection } from "../../components/host/connection";
import { shellQuote } from "../../components/host/ssh-argv";
import { spawnCollect } from "../../components/host/spawn";
import {
  ensureGuestKit,
  GuestKit,
  GuestReadyLine,
  knownHostsLine,
  parseReadyLine,
} from "./guest-kit";
import { freePort } from "./ports";

export interface GuestVmOptions {
  /**
   * Guest memory.
   * @default 512
   */
  readonly memoryMiB?: number;
  /**
   * QEMU's -cpu. An AMD model with svm gives the guest SVM under TCG (vmx is not emulated).
   * @default "qemu64,+svm"
   */
  readonly cpu?: string;
  /**
   * The 127.0.0.1 port forwarded to the guest's SSH port.
   * @default - a free port
   */
  readonly sshPort?: number;
  /**
   * Appended to the kit's kernel command line, e.g. "nestlab.kvm=0" (do not
   * load kvm_amd at boot) or "kvm_amd.nested=0".
   * @default ""
   */
  readonly kernelArgs?: string;
  /**
   * How long to wait for the ready line and then for SSH.
   * @default 120000
   */
  readonly readyTimeoutMs?: number;
  /**
   * Prefix of the temp folder (serial socket and log), to tell tests' VMs apart.
   * @default "nlt-guestvm"
   */
  readonly name?: string;
}

export interface GuestVm {
  readonly kit: GuestKit;
  /** QEMU's process id. */
  readonly pid: number;
  /** 127.0.0.1:sshPort reaches the guest's dropbear. */
  readonly sshPort: number;
  /** Pins the guest's host key: `[127.0.0.1]:PORT ssh-ed25519 AAAA…`. */
  readonly knownHostsLine: string;
  /** The connection the project's components take (`host: vm.hostConnection`): SSH as root with the kit's key, host key pinned. */
  readonly hostConnection: PlainHostConnection;
  /** What the guest reported when it was ready. */
  readonly ready: GuestReadyLine;
  /** The serial console as a unix socket (connect to type at the root shell). */
  readonly serialSocket: string;
  /** Milliseconds from QEMU's start to the ready line, and to the first SSH command. */
  readonly timings: { readonly readyMs: number; readonly sshMs: number };
  /** Everything the serial console printed so far. */
  serialLog(): string;
  /** Runs argv in the guest over SSH; throws on a non-zero exit unless allowFailure. */
  run(argv: readonly string[], options?: GuestRunOptions): Promise<RunResult>;
  /** Stops QEMU (SIGTERM, then SIGKILL after 5 s) and removes the temp folder. Idempotent. */
  stop(): Promise<void>;
}

export interface GuestRunOptions {
  /** Standard input for the command. */
  readonly input?: string;
  /** Return a non-zero exit instead of throwing. */
  readonly allowFailure?: boolean;
  /** @default 60000 */
  readonly timeoutMs?: number;
}

const DEFAULT_CPU = "qemu64,+svm";
const DEFAULT_MEMORY_MIB = 512;
const DEFAULT_READY_TIMEOUT_MS = 120_000;
const POLL_MS = 100;
const STOP_GRACE_MS = 5000;

/** Everything QEMU needs for one boot of the kit. */
export interface QemuArgs {
  readonly kernel: string;
  readonly initrd: string;
  readonly kernelCmdline: string;
  readonly memoryMiB: number;
  readonly cpu: string;
  readonly sshPort: number;
  readonly serialSocket: string;
  readonly serialLogFile: string;
}

/** The qemu-system-x86_64 argv for one boot: TCG, 1 vCPU, user net with SSH on 127.0.0.1 only. */
export function qemuArgv(a: QemuArgs): string[] {
  return [
    "qemu-system-x86_64",
    "-accel", "tcg",
    "-cpu", a.cpu,
    "-m", String(a.memoryMiB),
    "-smp", "1",
    "-nodefaults",
    "-no-user-config",
    "-display", "none",
    "-no-reboot",
    "-kernel", a.kernel,
    "-initrd", a.initrd,
    "-append", a.kernelCmdline,
    "-chardev", `socket,id=serial0,path=${a.serialSocket},server=on,wait=off,logfile=${a.serialLogFile}`,
    "-serial", "chardev:serial0",
    "-netdev", `user,id=net0,hostfwd=tcp:127.0.0.1:${a.sshPort}-:22`,
    // romfile= skips the iPXE option ROM: nothing boots from the network.
    "-device", "virtio-net-pci,netdev=net0,romfile=",
  ]; // prettier-ignore
}

/** The ssh client's argv for one command in the guest (argv quoted for the remote shell). */
export function guestSshArgv(
  privateKeyFile: string,
  knownHostsFile: string,
  port: number,
  argv: readonly string[],
): string[] {
  return [
    "ssh",
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=yes",
    "-o", `UserKnownHostsFile=${knownHostsFile}`,
    "-o", "IdentitiesOnly=yes",
    "-o", "ConnectTimeout=10",
    "-o", "LogLevel=ERROR",
    "-i", privateKeyFile,
    "-p", String(port),
    "-l", "root",
    "--", "127.0.0.1",
    argv.map(shellQuote).join(" "),
  ]; // prettier-ignore
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Boots the guest kit (building it first if needed) and waits, bounded, for
 * its ready line and then for SSH. On failure QEMU is stopped and the error
 * holds the end of the serial console and of QEMU's stderr.
 */
export async function startGuestVm(options: GuestVmOptions = {}): Promise<GuestVm> {
  const kit = await ensureGuestKit();
  // A port we picked can be taken before QEMU binds it: pick again, a few times.
  for (let attempt = 1; ; attempt++) {
    const sshPort = options.sshPort ?? (await freePort());
    try {
      return await boot(kit, options, sshPort);
    } catch (e) {
      if (options.sshPort !== undefined || attempt >= 3 || !(e instanceof PortInUseError)) throw e;
    }
  }
}

class PortInUseError extends Error {}

async function boot(kit: GuestKit, options: GuestVmOptions, sshPort: number): Promise<GuestVm> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `${options.name ?? "nlt-guestvm"}-`));
  const serialSocket = path.join(dir, "serial.sock");
  const serialLogFile = path.join(dir, "serial.log");
  const knownHostsFile = path.join(dir, "known_hosts");
  const pinned = knownHostsLine(kit, sshPort);
  await fs.writeFile(knownHostsFile, `${pinned}\n`, { mode: 0o600 });
  const argv = qemuArgv({
    kernel: kit.kernel,
    initrd: kit.initrd,
    kernelCmdline: [kit.kernelCmdline, options.kernelArgs ?? ""].join(" ").trim(),
    memoryMiB: options.memoryMiB ?? DEFAULT_MEMORY_MIB,
    cpu: options.cpu ?? DEFAULT_CPU,
    sshPort,
    serialSocket,
    serialLogFile,
  });

  const started = Date.now();
  const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  installExitHook();
  let qemuOutput = "";
  child.stdout?.on("data", (b: Buffer) => (qemuOutput += b.toString("utf8")));
  child.stderr?.on("data", (b: Buffer) => (qemuOutput += b.toString("utf8")));
  let exited: number | string | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = code ?? signal ?? "unknown";
      live.delete(child);
      resolve();
    });
    child.once("error", (err) => {
      exited = err.message;
      live.delete(child);
      resolve();
    });
  });

  const serialLog = (): string => {
    try {
      return readFileSync(serialLogFile, "utf8");
    } catch {
      return "";
    }
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (exited === undefined) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await exitedPromise;
      clearTimeout(timer);
    }
    await fs.rm(dir, { recursive: true, force: true });
  };
  const failure = (what: string): Error => {
    const tail = (s: string) => s.trimEnd().split("\n").slice(-20).join("\n");
    const msg =
      `The kit guest ${what}.\nqemu: ${argv.join(" ")}\n` +
      `qemu output:\n${tail(qemuOutput) || "(none)"}\nserial console (last lines):\n${tail(serialLog()) || "(empty)"}`;
    return /Could not set up host forwarding rule/.test(qemuOutput)
      ? new PortInUseError(msg)
      : new Error(msg);
  };

  const timeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const deadline = started + timeoutMs;
  const run = async (cmd: readonly string[], o: GuestRunOptions = {}): Promise<RunResult> => {
    const full = guestSshArgv(kit.sshPrivateKeyFile, knownHostsFile, sshPort, cmd);
    const r = await spawnCollect(full, { input: o.input, timeoutMs: o.timeoutMs ?? 60_000 });
    if (r.exitCode !== 0 && !o.allowFailure) {
      throw new Error(
        `\`${cmd.join(" ")}\` in the kit guest (ssh port ${sshPort}) exited with ${r.exitCode}:\n${r.stderr.trim() || r.stdout.trim()}`,
      );
    }
    return r;
  };

  try {
    let ready: GuestReadyLine | undefined;
    while (!(ready = parseReadyLine(serialLog(), kit.readyMarker))) {
      if (exited !== undefined) throw failure(`exited (${exited}) before it was ready`);
      if (Date.now() > deadline) throw failure(`printed no ready line within ${timeoutMs} ms`);
      await sleep(POLL_MS);
    }
    const readyMs = Date.now() - started;
    if (ready.sshPort === undefined) throw failure("came up without network or SSH");
    for (;;) {
      const r = await run(["true"], { allowFailure: true, timeoutMs: 15_000 });
      if (r.exitCode === 0) break;
      if (exited !== undefined) throw failure(`exited (${exited}) before SSH answered`);
      if (Date.now() > deadline) {
        throw failure(`did not answer SSH within ${timeoutMs} ms: ${r.stderr.trim()}`);
      }
      await sleep(POLL_MS * 5);
    }
    const sshMs = Date.now() - started;
    return {
      kit,
      pid: child.pid ?? -1,
      sshPort,
      knownHostsLine: pinned,
      hostConnection: {
        ssh: {
          host: "127.0.0.1",
          port: sshPort,
          user: kit.sshUser,
          privateKey: kit.sshPrivateKey,
          knownHosts: pinned,
        },
      },
      ready,
      serialSocket,
      timings: { readyMs, sshMs },
      serialLog,
      run,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test run that ends without stop() must not leave QEMU running.
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

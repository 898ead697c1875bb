/**
 * The guest kit: a small Debian guest (bookworm kernel, busybox + kmod +
 * dropbear initramfs, the kvm/kvm_amd/kvm_intel modules, the kvm-holder
 * program) for tests against a real kernel. Built by
 * scripts/guest/build-kit.sh from Debian packages and cached under
 * $NESTLAB_CACHE/guest-kit-<key>/; the first call in a fresh cache takes
 * about 10 s, later calls a few tens of milliseconds.
 *
 * ```ts
 * const kit = await ensureGuestKit();
 * // qemu-system-x86_64 -kernel kit.kernel -initrd kit.initrd -append kit.kernelCmdline …
 * ```
 * To boot it under QEMU for a test, see ./guest-vm.ts.
 */
import { promises as fs } from "fs";
import * as path from "path";
import { spawnCollect } from "../../components/host/spawn";

/** What a built kit holds; all paths are absolute on this machine unless they say "in the guest". */
export interface GuestKit {
  /** The kit folder, $NESTLAB_CACHE/guest-kit-<key>. */
  readonly dir: string;
  /** Hash of the inputs (package versions, the build script's files). */
  readonly key: string;
  /** The Debian kernel image (bzImage). */
  readonly kernel: string;
  /** The initramfs (newc cpio, gzip); the whole root file system, writable at run time. */
  readonly initrd: string;
  /** `uname -r` of the kernel, e.g. "6.1.0-56-amd64". */
  readonly kernelVersion: string;
  /** The kernel command line to boot with: serial console on ttyS0, no reboot on panic. */
  readonly kernelCmdline: string;
  /** "package=version" of every Debian package the kit is made from. */
  readonly packages: readonly string[];
  /** The modules in the initramfs, relative to /lib/modules/<kernelVersion>. */
  readonly modules: readonly string[];
  /** The start of the line the guest prints on the console when it is ready. */
  readonly readyMarker: string;
  /** The SSH login (root, key only). */
  readonly sshUser: string;
  /** The private key that logs in as root (OpenSSH format, mode 0600). */
  readonly sshPrivateKeyFile: string;
  /** The same private key, as text. */
  readonly sshPrivateKey: string;
  /** Root's authorized public key line ("ssh-ed25519 AAAA… comment"). */
  readonly sshPublicKey: string;
  /** The guest's SSH host key ("ssh-ed25519 AAAA…"): pin it with {@link knownHostsLine}. */
  readonly hostPublicKey: string;
  /**
   * In the guest: a minimal real KVM guest that then holds /dev/kvm until killed.
   * `kvm-holder --daemon` returns once /dev/kvm is held and prints `… pid=N`.
   */
  readonly kvmHolder: string;
}

/** What the ready line on the console says. */
export interface GuestReadyLine {
  /** Whether /proc/cpuinfo shows svm. */
  readonly svm: boolean;
  /** Whether /proc/cpuinfo shows vmx. */
  readonly vmx: boolean;
  /** The vendor module loaded at boot; "none" when there is none (or `nestlab.kvm=0`). */
  readonly kvm: "kvm_amd" | "kvm_intel" | "none";
  /** The module's nested parameter as read back ("1", "0", "Y", "N"), or undefined. */
  readonly nested: string | undefined;
  /** The guest's SSH port, or undefined when it has no network. */
  readonly sshPort: number | undefined;
}

/** The build script, from this file's place in the repository. */
export const BUILD_SCRIPT = path.resolve(__dirname, "..", "..", "scripts", "guest", "build-kit.sh");

const BUILD_TIMEOUT_MS = 10 * 60 * 1000;
const pending = new Map<string, Promise<GuestKit>>();

/**
 * The guest kit, built first when the cache has none for the current inputs.
 * Concurrent callers (in this process or others) share one build. Throws with
 * the failed build step and its last output lines.
 */
export function ensureGuestKit(): Promise<GuestKit> {
  const cacheKey = process.env.NESTLAB_CACHE ?? "";
  let kit = pending.get(cacheKey);
  if (!kit) {
    kit = buildOrFind();
    pending.set(cacheKey, kit);
    kit.catch(() => pending.delete(cacheKey));
  }
  return kit;
}

async function buildOrFind(): Promise<GuestKit> {
  const r = await spawnCollect(["bash", BUILD_SCRIPT], { timeoutMs: BUILD_TIMEOUT_MS });
  const dir = r.stdout.trim().split("\n").pop() ?? "";
  if (r.exitCode !== 0 || !dir.startsWith("/")) {
    throw new Error(
      `The guest kit could not be built (bash ${BUILD_SCRIPT} exited with ${r.exitCode}):\n${r.stderr.trim()}`,
    );
  }
  return readGuestKit(dir);
}

/** Reads a built kit folder (its kit.json and key files). */
export async function readGuestKit(dir: string): Promise<GuestKit> {
  const manifest = JSON.parse(await fs.readFile(path.join(dir, "kit.json"), "utf8")) as KitManifest;
  const at = (name: string) => path.join(dir, name);
  const [sshPrivateKey, sshPublicKey, hostPublicKey] = await Promise.all(
    [manifest.sshPrivateKeyFile, manifest.sshPublicKeyFile, manifest.hostPublicKeyFile].map((f) =>
      fs.readFile(at(f), "utf8"),
    ),
  );
  return {
    dir,
    key: manifest.key,
    kernel: at(manifest.kernel),
    initrd: at(manifest.initrd),
    kernelVersion: manifest.kernelVersion,
    kernelCmdline: manifest.kernelCmdline,
    packages: manifest.packages,
    modules: manifest.modules,
    readyMarker: manifest.readyMarker,
    sshUser: manifest.sshUser,
    sshPrivateKeyFile: at(manifest.sshPrivateKeyFile),
    sshPrivateKey,
    sshPublicKey: sshPublicKey.trim(),
    hostPublicKey: hostPublicKey.trim(),
    kvmHolder: manifest.kvmHolder,
  };
}

/**
 * Copies the kernel and the initramfs into `destDir` (created 0755, files
 * 0644): for a hypervisor that runs as another user, such as libvirt's QEMU as
 * libvirt-qemu, which cannot enter root's home where the cache lives.
 */
export async function copyBootFiles(
  kit: Pick<GuestKit, "kernel" | "initrd">,
  destDir: string,
): Promise<{ kernel: string; initrd: string }> {
  await fs.mkdir(destDir, { recursive: true, mode: 0o755 });
  const kernel = path.join(destDir, path.basename(kit.kernel));
  const initrd = path.join(destDir, path.basename(kit.initrd));
  for (const [from, to] of [
    [kit.kernel, kernel],
    [kit.initrd, initrd],
  ]) {
    await fs.copyFile(from, to);
    await fs.chmod(to, 0o644);
  }
  return { kernel, initrd };
}

/** The known_hosts line that pins the kit guest's host key at 127.0.0.1:port (or host:port). */
export function knownHostsLine(
  kit: Pick<GuestKit, "hostPublicKey">,
  port: number,
  host = "127.0.0.1",
): string {
  const name = port === 22 ? host : `[${host}]:${port}`;
  // "type key": the key's comment (e.g. root@foundation0) has no place here.
  const [type, key] = kit.hostPublicKey.trim().split(/\s+/);
  return `${name} ${type} ${key}`;
}

/**
 * Parses the guest's ready line, e.g.
 * `NESTLAB-GUEST-READY svm=yes vmx=no kvm=kvm_amd nested=1 ssh=22`;
 * undefined when `text` holds no complete one. With several, the last one counts.
 */
export function parseReadyLine(
  text: string,
  marker = "NESTLAB-GUEST-READY",
): GuestReadyLine | undefined {
  // Only complete lines: the console may be in the middle of printing one.
  const lines = text
    .split(/\r?\n/)
    .slice(0, -1)
    .filter((l) => l.startsWith(`${marker} `));
  const line = lines[lines.length - 1];
  if (line === undefined) return undefined;
  const fields = new Map(
    line
      .slice(marker.length + 1)
      .trim()
      .split(/\s+/)
      .map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)] as const),
  );
  const kvm = fields.get("kvm");
  const nested = fields.get("nested");
  const ssh = fields.get("ssh");
  return {
    svm: fields.get("svm") === "yes",
    vmx: fields.get("vmx") === "yes",
    kvm: kvm === "kvm_amd" || kvm === "kvm_intel" ? kvm : "none",
    nested: nested === undefined || nested === "-" ? undefined : nested,
    sshPort: ssh && /^\d+$/.test(ssh) ? Number(ssh) : undefined,
  };
}

interface KitManifest {
  readonly key: string;
  readonly kernelVersion: string;
  readonly kernelCmdline: string;
  readonly packages: string[];
  readonly modules: string[];
  readonly readyMarker: string;
  readonly sshUser: string;
  readonly kvmHolder: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly sshPrivateKeyFile: string;
  readonly sshPublicKeyFile: string;
  readonly hostPublicKeyFile: string;
}

/**
 * Prepared host trees for the NestedVirtualization provider: a folder that
 * stands in for `/` (/proc, /sys, /etc, /lib/modules), and a host access that
 * reads and writes it through the real LocalHost while it simulates the
 * programs that would change the kernel (modprobe, rmmod) or need a daemon
 * (virsh), editing the tree the way the kernel would.
 */
import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { Held, HostAccess, RunOptions, RunResult } from "../../../components/host/access";
import { LocalHost } from "../../../components/host/local";
import { CommandError } from "../../../components/core/errors";

export type TreeCpu = "intel" | "amd" | "none";
export type TreeModule = "kvm_intel" | "kvm_amd";

export interface TreeSpec {
  readonly cpu: TreeCpu;
  /** loaded: /sys/module/<m> with initstate; builtin: parameters only; absent: nothing in sysfs. */
  readonly moduleState?: "loaded" | "builtin" | "absent";
  /** /sys/module/<m>/parameters/nested: "Y", "N", "1", "0". */
  readonly nested?: string;
  readonly refcnt?: number;
  /** The module file is in /lib/modules/<release>/modules.dep. @default true */
  readonly installed?: boolean;
  /** Listed in modules.builtin. */
  readonly inModulesBuiltin?: boolean;
  readonly release?: string;
  readonly cmdline?: string;
  /** Files by absolute path (e.g. "/etc/modprobe.d/kvm.conf"). */
  readonly files?: Readonly<Record<string, string>>;
  /** Processes that hold /dev/kvm. */
  readonly kvmProcesses?: readonly { pid: number; comm: string; cmdline: readonly string[] }[];
  /** Other KVM modules in /sys/module (e.g. kvm_pvm). */
  readonly otherModules?: readonly string[];
  /** Whether /etc/modprobe.d exists. @default true */
  readonly etcModprobeD?: boolean;
}

const CPU: Record<TreeCpu, string> = {
  intel:
    "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse tsc msr vmx ssse3\n\n",
  amd: "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme de pse tsc msr svm abm\n\n",
  none: "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme de pse tsc msr hypervisor\n\n",
};

export function moduleOf(cpu: TreeCpu): TreeModule {
  return cpu === "intel" ? "kvm_intel" : "kvm_amd";
}

/** Writes a tree under a new temp folder and returns its path. */
export async function makeTree(spec: TreeSpec): Promise<string> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "nlt-nested-tree-"));
  const release = spec.release ?? "6.1.0-18-amd64";
  const put = async (file: string, content: string) => {
    await fs.mkdir(path.join(root, path.dirname(file)), { recursive: true });
    await fs.writeFile(path.join(root, file), content);
  };
  await put("/proc/cpuinfo", CPU[spec.cpu]);
  await put("/proc/cmdline", `${spec.cmdline ?? "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro quiet"}\n`);
  await put("/proc/sys/kernel/osrelease", `${release}\n`);
  await fs.mkdir(path.join(root, "/sys/module/kvm"), { recursive: true });
  for (const m of spec.otherModules ?? []) await put(`/sys/module/${m}/initstate`, "live\n");
  if (spec.etcModprobeD ?? true)
    await fs.mkdir(path.join(root, "/etc/modprobe.d"), { recursive: true });
  await fs.mkdir(path.join(root, "/usr/lib/modprobe.d"), { recursive: true });
  const module = moduleOf(spec.cpu);
  const file = module.replace("_", "-");
  await put(
    `/lib/modules/${release}/modules.dep`,
    (spec.installed ?? true)
      ? `kernel/arch/x86/kvm/kvm.ko:\nkernel/arch/x86/kvm/${file}.ko: kernel/arch/x86/kvm/kvm.ko\n`
      : "kernel/arch/x86/kvm/kvm.ko:\n",
  );
  await put(
    `/lib/modules/${release}/modules.builtin`,
    spec.inModulesBuiltin ? `kernel/arch/x86/kvm/${file}.ko\n` : "kernel/lib/zlib.ko\n",
  );
  if (spec.cpu !== "none") {
    switch (spec.moduleState ?? "loaded") {
      case "loaded":
        await put(`/sys/module/${module}/initstate`, "live\n");
        await put(`/sys/module/${module}/refcnt`, `${spec.refcnt ?? 0}\n`);
        await put(`/sys/module/${module}/parameters/nested`, `${spec.nested ?? "Y"}\n`);
        break;
      case "builtin":
        await put(`/sys/module/${module}/parameters/nested`, `${spec.nested ?? "Y"}\n`);
        break;
      case "absent":
        break;
    }
  }
  for (const [file, content] of Object.entries(spec.files ?? {})) await put(file, content);
  for (const p of spec.kvmProcesses ?? []) {
    await put(`/proc/${p.pid}/comm`, `${p.comm}\n`);
    await put(`/proc/${p.pid}/cmdline`, `${p.cmdline.join("\0")}\0`);
    await fs.mkdir(path.join(root, `/proc/${p.pid}/fd`), { recursive: true });
    await fs.symlink("/dev/null", path.join(root, `/proc/${p.pid}/fd/0`));
    await fs.symlink("/dev/kvm", path.join(root, `/proc/${p.pid}/fd/11`));
    await fs.symlink("anon_inode:kvm-vm", path.join(root, `/proc/${p.pid}/fd/12`));
  }
  // A process that does not use KVM.
  await fs.mkdir(path.join(root, "/proc/1/fd"), { recursive: true });
  await fs.symlink("/dev/console", path.join(root, "/proc/1/fd/0"));
  return root;
}

export interface SimulatedBehaviour {
  /** What `id -u` prints. @default 0 */
  uid?: number;
  /** Programs on the PATH. @default modprobe, rmmod */
  commands?: string[];
  /** Running libvirt domains (`virsh list --name`); virsh must be in `commands`. */
  libvirtDomains?: string[];
  /** libvirt's <host><cpu><vendor>. */
  libvirtVendor?: string;
  /** The next `modprobe <module> …` fails with this stderr (exit 1), once. */
  modprobeFailure?: string;
  /** `modprobe` exits 0 and does nothing (as `modprobe kvm_intel` does with kvm_amd loaded). */
  modprobeDoesNothing?: boolean;
  /** Writing or removing files is refused with EACCES (a non-root user, a read-only /etc). */
  readOnly?: boolean;
}

/** LocalHost on the tree, with modprobe, rmmod, virsh and id simulated on it. */
export class PreparedHost implements HostAccess {
  readonly label = "prepared host";
  readonly commands: string[][] = [];
  private readonly local: LocalHost;

  constructor(
    readonly root: string,
    readonly behaviour: SimulatedBehaviour = {},
  ) {
    this.local = new LocalHost(root);
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.commands.push([...argv]);
    const result = await this.simulate(argv, options);
    if (result.exitCode !== 0 && !options.allowFailure) {
      throw new CommandError(argv, result.exitCode, result.stderr, this.label);
    }
    return result;
  }

  /** The commands that would have changed something (modprobe, rmmod). */
  changes(): string[] {
    return this.commands
      .filter((c) => c[0] === "modprobe" || c[0] === "rmmod")
      .map((c) => c.join(" "));
  }

  readFile(file: string): Promise<string | undefined> {
    return this.local.readFile(file);
  }

  async writeFileAtomic(file: string, content: string, mode?: number): Promise<void> {
    if (this.behaviour.readOnly) throw denied("open", file);
    return this.local.writeFileAtomic(file, content, mode);
  }

  async removeFile(file: string): Promise<void> {
    if (this.behaviour.readOnly) throw denied("unlink", file);
    return this.local.removeFile(file);
  }

  listDir(dir: string): Promise<string[]> {
    return this.local.listDir(dir);
  }

  async hasCommand(name: string): Promise<boolean> {
    return (this.behaviour.commands ?? ["modprobe", "rmmod"]).includes(name);
  }

  hold(argv: readonly string[], ready: string): Promise<Held> {
    return this.local.hold(argv, ready);
  }

  private async simulate(argv: readonly string[], options: RunOptions): Promise<RunResult> {
    const ok = (stdout = ""): RunResult => ({ exitCode: 0, stdout, stderr: "" });
    const fail = (stderr: string): RunResult => ({ exitCode: 1, stdout: "", stderr });
    switch (argv[0]) {
      case "id":
        return ok(`${this.behaviour.uid ?? 0}\n`);
      case "sh":
      case "mkdir":
        // Real programs on the tree (the provider passes the root prefix itself).
        return this.local.run(argv, { ...options, allowFailure: true });
      case "virsh": {
        const args = argv.slice(argv.indexOf("-c") + 2);
        if (args[0] === "list")
          return ok((this.behaviour.libvirtDomains ?? []).map((d) => `${d}\n`).join("") + "\n");
        if (args[0] === "capabilities") {
          return ok(
            `<capabilities><host><cpu><arch>x86_64</arch><vendor>${this.behaviour.libvirtVendor ?? "AMD"}</vendor></cpu></host></capabilities>\n`,
          );
        }
        return fail(`virsh: unexpected ${args.join(" ")}`);
      }
      case "modprobe":
        return this.modprobe(argv.slice(1));
      case "rmmod":
        return this.rmmod(argv[1]);
      default:
        return fail(`${argv[0]}: not simulated`);
    }
  }

  private async modprobe(args: readonly string[]): Promise<RunResult> {
    const [module, ...params] = args;
    if (this.behaviour.modprobeFailure !== undefined) {
      const stderr = this.behaviour.modprobeFailure;
      this.behaviour.modprobeFailure = undefined;
      return { exitCode: 1, stdout: "", stderr };
    }
    if (this.behaviour.modprobeDoesNothing) return { exitCode: 0, stdout: "", stderr: "" };
    const dir = path.join(this.root, "sys/module", module);
    if (await exists(path.join(dir, "initstate"))) return { exitCode: 0, stdout: "", stderr: "" };
    const param = params.find((p) => p.startsWith("nested="));
    const on = param === undefined ? true : param !== "nested=0";
    await fs.mkdir(path.join(dir, "parameters"), { recursive: true });
    await fs.writeFile(path.join(dir, "initstate"), "live\n");
    await fs.writeFile(path.join(dir, "refcnt"), "0\n");
    const word = module === "kvm_intel" ? (on ? "Y" : "N") : on ? "1" : "0";
    await fs.writeFile(path.join(dir, "parameters/nested"), `${word}\n`);
    return { exitCode: 0, stdout: "", stderr: "" };
  }

  private async rmmod(module: string): Promise<RunResult> {
    const dir = path.join(this.root, "sys/module", module);
    if (!(await exists(path.join(dir, "initstate")))) {
      return {
        exitCode: 1,
        stdout: "",
        stderr: `rmmod: ERROR: Module ${module} is not currently loaded\n`,
      };
    }
    const refcnt = Number((await fs.readFile(path.join(dir, "refcnt"), "utf8")).trim());
    if (refcnt > 0)
      return { exitCode: 1, stdout: "", stderr: `rmmod: ERROR: Module ${module} is in use\n` };
    await fs.rm(dir, { recursive: true, force: true });
    return { exitCode: 0, stdout: "", stderr: "" };
  }
}

function denied(syscall: string, file: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`EACCES: permission denied, ${syscall} '${file}'`);
  e.code = "EACCES";
  e.syscall = syscall;
  return e;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** Reads a file of the tree (undefined when absent). */
export async function readTree(root: string, file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path.join(root, file), "utf8");
  } catch {
    return undefined;
  }
}

/** Every file of the tree with its content (symlinks as "-> target"), for "nothing changed" checks. */
export async function snapshotTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(root, full);
      if (entry.isSymbolicLink()) out[rel] = `-> ${await fs.readlink(full)}`;
      else if (entry.isDirectory()) await walk(full);
      else out[rel] = await fs.readFile(full, "utf8");
    }
  };
  await walk(root);
  return out;
}

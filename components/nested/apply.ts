import { CommandError } from "../core/errors";
import { requireTools } from "../host/tools";
import { HostAccess } from "../host/access";
import { KvmModule } from "../libvirt/cpu";
import { LiveChange } from "./plan";
import { MANAGED_FILE, parseLiveNested } from "./modprobe-conf";

/** A change failed; the message says what failed and what was put back. */
export class NestedChangeError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = "NestedChangeError";
  }
}

/** The steps of one change: the managed file (optional), then the live value (optional). */
export interface ChangeSteps {
  readonly module: KvmModule;
  /** Content for MANAGED_FILE, or null to remove it; undefined to leave it. */
  readonly fileContent: string | null | undefined;
  /** What MANAGED_FILE holds now (undefined: absent), to put back if a later step fails. */
  readonly fileBefore: string | undefined;
  readonly live: LiveChange | undefined;
  /** Runs after the changes and throws if the result is not what was asked; triggers the roll-back. */
  readonly verify?: () => Promise<void>;
}

/**
 * Makes the change, reading the value back after every module operation
 * (modprobe's exit status is not proof: with kvm_amd loaded, `modprobe
 * kvm_intel` exits 0). If any step fails, what was done is undone in reverse
 * order and the error says so: the host is left as it was.
 */
export async function applyChange(
  host: HostAccess,
  rootDir: string,
  steps: ChangeSteps,
): Promise<void> {
  const { module, live } = steps;
  if (live) await requireTools(host, live.kind === "reload" ? ["rmmod", "modprobe"] : ["modprobe"]);
  const undo: Undo[] = [];
  try {
    if (steps.fileContent !== undefined) {
      await writeManagedFile(host, rootDir, steps.fileContent);
      const verb =
        steps.fileBefore === undefined ? ["removed", "removing"] : ["restored", "restoring"];
      undo.push({
        what: `${verb[0]} ${MANAGED_FILE}`,
        doing: `${verb[1]} ${MANAGED_FILE}`,
        run: () => writeManagedFile(host, rootDir, steps.fileBefore ?? null),
      });
    }
    if (live?.kind === "reload") {
      await host.run(["rmmod", module]);
      // From here on, whatever fails: the module goes back as it was.
      undo.push({
        what: `loaded ${module} again with nested=${live.from ? 1 : 0}`,
        doing: `loading ${module} again with nested=${live.from ? 1 : 0}`,
        run: () => restoreModule(host, module, live.from),
      });
      await loadModule(host, module, live.to);
    } else if (live?.kind === "load") {
      undo.push({
        what: `unloaded ${module}`,
        doing: `unloading ${module}`,
        run: () => unloadIfLoaded(host, module),
      });
      await loadModule(host, module, live.to);
    }
    await steps.verify?.();
  } catch (error) {
    throw new NestedChangeError(`${messageOf(error)}\n${await rollBack(undo)}`, error);
  }
}

/** Undoes every step (newest first), each attempted even if an earlier undo failed. */
/** One step back: `what` says it was done, `doing` names it when it failed. */
interface Undo {
  readonly what: string;
  readonly doing: string;
  readonly run: () => Promise<void>;
}

async function rollBack(undo: readonly Undo[]): Promise<string> {
  if (undo.length === 0) return "Nothing had been changed.";
  const done: string[] = [];
  const failed: string[] = [];
  for (const step of [...undo].reverse()) {
    try {
      await step.run();
      done.push(step.what);
    } catch (e) {
      failed.push(`${step.doing} failed: ${messageOf(e).replace(/\.$/, "")}`);
    }
  }
  if (failed.length === 0) return `Rolled back: ${done.join(", ")}; the host is as it was.`;
  return (
    `Rolled back: ${done.join(", ") || "nothing"}; ${failed.join("; ")}. ` +
    "The host is NOT as it was: check it by hand."
  );
}

/**
 * `modprobe <m> nested=<v>` (the value on the command line wins over every
 * configuration file), then the value read back from sysfs.
 */
export async function loadModule(
  host: HostAccess,
  module: KvmModule,
  nested: boolean,
): Promise<void> {
  const argv = ["modprobe", module, `nested=${nested ? 1 : 0}`];
  await host.run(argv);
  await expectLive(host, module, nested, argv);
}

/** Unloads the module if it is in the kernel, then loads it with `nested`. */
async function restoreModule(host: HostAccess, module: KvmModule, nested: boolean): Promise<void> {
  await unloadIfLoaded(host, module);
  await loadModule(host, module, nested);
}

async function unloadIfLoaded(host: HostAccess, module: KvmModule): Promise<void> {
  if ((await host.readFile(`/sys/module/${module}/initstate`)) !== undefined)
    await host.run(["rmmod", module]);
}

/** Reads /sys/module/<m>/parameters/nested and throws unless it is `nested`. */
export async function expectLive(
  host: HostAccess,
  module: KvmModule,
  nested: boolean,
  after: readonly string[],
): Promise<void> {
  const file = `/sys/module/${module}/parameters/nested`;
  const raw = await host.readFile(file);
  if (parseLiveNested(raw) === nested) return;
  const seen =
    raw === undefined
      ? `${module} is not loaded (the kernel may have refused it: see dmesg on the host)`
      : `${file} reads "${raw.trim()}"`;
  throw new Error(
    `\`${after.join(" ")}\` on ${host.label} exited with 0, but ${seen}; expected nested ${nested ? "on" : "off"}.`,
  );
}

/** Writes (atomically) or removes the managed file; a refusal for lack of rights says so plainly. */
export async function writeManagedFile(
  host: HostAccess,
  rootDir: string,
  content: string | null,
): Promise<void> {
  try {
    if (content === null) {
      await host.removeFile(MANAGED_FILE);
      return;
    }
    const dir = MANAGED_FILE.slice(0, MANAGED_FILE.lastIndexOf("/"));
    if ((await host.listDir(dir)).length === 0)
      await host.run(["mkdir", "-p", "--", `${rootDir}${dir}`]);
    await host.writeFileAtomic(MANAGED_FILE, content, 0o644);
  } catch (e) {
    if (isPermissionDenied(e)) {
      throw new NestedChangeError(
        `${content === null ? "Removing" : "Writing"} ${MANAGED_FILE} on ${host.label} was refused (permission denied): ` +
          'changing modprobe.d needs root. Run pulumi as root (sudo -E pulumi up), or connect as root (host.ssh.user "root").',
        e,
      );
    }
    throw e;
  }
}

function isPermissionDenied(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return true;
  return (
    e instanceof CommandError &&
    /Permission denied|Read-only file system|Operation not permitted/.test(e.stderr)
  );
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

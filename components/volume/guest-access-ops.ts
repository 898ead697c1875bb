import { CommandError, PreconditionError } from "../core/errors";
import { HostAccess } from "../host/access";
import { generateEd25519 } from "../host/openssh-key";
import {
  AccessPlan,
  checkWritten,
  launchFailed,
  parseProbe,
  planAccess,
  probeScript,
  RootAccess,
  writeScript,
} from "./guest-access";

/**
 * Prepares root's SSH access on a new volume's file (still under its hidden
 * name: nothing runs on it yet) with guestfish, its scripts on standard
 * input: a read-only look, then the writes, read back. libguestfs mounts
 * the guest's filesystems inside its own appliance (a small VM), never on
 * the host, so nothing a guest image holds is opened by the host's kernel.
 */
export async function prepareRootAccess(
  host: HostAccess,
  file: string,
  format: "qcow2" | "raw",
  access: RootAccess,
): Promise<AccessPlan> {
  const look = await guestfish(host, guestfishArgv(file, format, "ro"), probeScript(), file);
  // Made only when the image has no host key; its private half goes to the guest alone.
  let generated: { privateKey: string; publicKey: string } | undefined;
  const plan = planAccess(
    parseProbe(look),
    file,
    () => (generated = generateEd25519("root@nestlab")),
  );
  const written = await guestfish(
    host,
    guestfishArgv(file, format, "rw"),
    writeScript(access, plan, generated),
    file,
  );
  checkWritten(parseProbe(written), access, file);
  return plan;
}

/** guestfish on one image of a pinned format, its OS found and mounted (`-i`). */
export function guestfishArgv(file: string, format: "qcow2" | "raw", mode: "ro" | "rw"): string[] {
  return ["guestfish", `--${mode}`, `--format=${format}`, "-a", file, "-i"];
}

/** The appliance runs as a process of its own here, not as a libvirt domain beside the lab's. */
const GUESTFISH_ENV = { LIBGUESTFS_BACKEND: "direct" };
/** The appliance boots in seconds under KVM, in a minute or more under TCG. */
const GUESTFISH_TIMEOUT_MS = 20 * 60 * 1000;

async function guestfish(
  host: HostAccess,
  argv: string[],
  script: string,
  file: string,
): Promise<string> {
  const run = (env: Readonly<Record<string, string>>) =>
    host.run(argv, { input: script, env, timeoutMs: GUESTFISH_TIMEOUT_MS, allowFailure: true });
  let r = await run(GUESTFISH_ENV);
  if (r.exitCode !== 0 && launchFailed(r.stderr)) {
    // A /dev/kvm QEMU cannot use (a VM whose host passes one through without nesting): the
    // appliance never started, nothing ran; it runs again under TCG.
    r = await run({ ...GUESTFISH_ENV, LIBGUESTFS_BACKEND_SETTINGS: "force_tcg" });
  }
  if (r.exitCode === 0) return r.stdout;
  if (/no operating system was found/.test(r.stderr)) {
    throw new PreconditionError(
      `rootAccess: libguestfs found no operating system in ${file}: it looked on every partition and LVM volume for a root ` +
        `filesystem it can read (with /etc, as Linux has it; XFS needs the package libguestfs-xfs). Root's SSH access cannot ` +
        `be prepared; the volume was not made. Check the source image, or leave rootAccess out.`,
    );
  }
  throw new CommandError(
    argv,
    r.exitCode,
    r.stderr,
    host.label,
    "rootAccess: the volume was not made.",
  );
}

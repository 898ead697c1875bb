import * as path from "path";
import { InvalidArgumentError, showValue } from "../core/errors";
import { SOURCE_CHANGES, SourceChange } from "../volume/args";

/**
 * The stack's configuration, read once and checked in one place (index.ts
 * hands the raw values here). No Pulumi, no processes: exact tests in
 * test/unit/lab/config.test.ts.
 */

/** What to do with the host's KVM nested setting; `skip` for a host without KVM (guests run under TCG). */
export type HostNestedMode = "enable" | "persist" | "check" | "disable" | "skip";
export const HOST_NESTED_MODES: readonly HostNestedMode[] = [
  "enable",
  "persist",
  "check",
  "disable",
  "skip",
];

/** The raw values of the `nestlab:*` keys (objects as `pulumi config set --path` makes them). */
export interface RawLabConfig {
  readonly source?: unknown;
  readonly pool?: unknown;
  readonly poolPath?: unknown;
  readonly volumeName?: unknown;
  readonly onSourceChange?: unknown;
  readonly hostNested?: unknown;
  readonly libvirtUri?: unknown;
  readonly classroom?: unknown;
  readonly labMachines?: unknown;
  readonly classroomHostKey?: unknown;
  readonly classroomAccess?: unknown;
  readonly natNetwork?: unknown;
}

/**
 * How the stack gets into the classroom host.
 * - `prepare`: root's authorized_keys in the converted disk gets the
 *   stack's key (the secret `nestlab:classroomSshKey`, else one the stack
 *   makes) and the host key is read back from it and pinned.
 * - `image`: the image lets the key in already (`nestlab:classroomSshKey`
 *   and `nestlab:classroomHostKey` given); the disk is the image as it is.
 */
export type ClassroomAccessMode = "prepare" | "image";
export const CLASSROOM_ACCESS_MODES: readonly ClassroomAccessMode[] = ["prepare", "image"];

export interface LabConfig {
  readonly source: string;
  readonly pool: string;
  readonly poolPath?: string;
  readonly volumeName?: string;
  /** What a change of the image's content does to the volume (and the classroom host on it). */
  readonly onSourceChange: SourceChange;
  readonly hostNested: HostNestedMode;
  readonly libvirtUri?: string;
  /** The classroom host's settings, passed on to NestedDomain as they are (it validates them). */
  readonly classroom: Record<string, unknown>;
  /** The lab machines to start inside the classroom host; empty: none. */
  readonly labMachines: string[];
  /** The classroom host's public SSH host key, pinned (classroomAccess "image"). */
  readonly classroomHostKey?: string;
  /** @default "prepare" when labMachines are started and no classroomHostKey is given, else "image" */
  readonly classroomAccess: ClassroomAccessMode;
  /** A NAT network for the classroom host, passed on to NatNetwork as it is (it validates it). */
  readonly natNetwork?: { readonly networkName: string; readonly address: string } & Record<
    string,
    unknown
  >;
  /** Where the stand-in image is, when it is the source. */
  readonly standinDir?: string;
}

/** The file name of the stand-in image's chain top inside its folder. */
export const STANDIN_TOP = "RHEL7_Server-000002.vmdk";

/**
 * `source: standin` means the stand-in image that `npm run image:standin`
 * builds into the cache (`$NESTLAB_CACHE/standin/current`).
 */
export function standinSource(env: Readonly<Record<string, string | undefined>>): string {
  return path.join(standinDir(env), STANDIN_TOP);
}

export function standinDir(env: Readonly<Record<string, string | undefined>>): string {
  const cache =
    env.NESTLAB_CACHE ||
    path.join(env.XDG_CACHE_HOME || path.join(env.HOME || "/root", ".cache"), "nestlab");
  return path.join(cache, "standin", "current");
}

export function parseLabConfig(
  raw: RawLabConfig,
  env: Readonly<Record<string, string | undefined>>,
): LabConfig {
  const source = raw.source;
  if (typeof source !== "string" || source === "") {
    throw new InvalidArgumentError(
      "nestlab:source",
      source,
      'the path of the image on the libvirt host (the top .vmdk of the chain, an .ova, qcow2 or raw), or "standin" for the generated stand-in; set it with `pulumi config set source /path/RHEL7_Server-000002.vmdk`',
    );
  }
  const pool = raw.pool ?? "nestlab";
  if (typeof pool !== "string")
    throw new InvalidArgumentError("nestlab:pool", pool, "a libvirt storage pool name");
  const poolPath = raw.poolPath;
  if (poolPath !== undefined && (typeof poolPath !== "string" || !poolPath.startsWith("/"))) {
    throw new InvalidArgumentError(
      "nestlab:poolPath",
      poolPath,
      "an absolute folder path for a directory pool that the stack creates",
    );
  }
  const volumeName = raw.volumeName;
  if (volumeName !== undefined && typeof volumeName !== "string") {
    throw new InvalidArgumentError(
      "nestlab:volumeName",
      volumeName,
      'a file name such as "jiaoshiji.qcow2"',
    );
  }
  const onSourceChange = raw.onSourceChange ?? "replace";
  if (!SOURCE_CHANGES.includes(onSourceChange as SourceChange)) {
    throw new InvalidArgumentError(
      "nestlab:onSourceChange",
      onSourceChange,
      `${SOURCE_CHANGES.map((m) => showValue(m)).join(" or ")} (keep: the classroom host keeps its disk when the image changes)`,
    );
  }
  const hostNested = raw.hostNested ?? "enable";
  if (!HOST_NESTED_MODES.includes(hostNested as HostNestedMode)) {
    throw new InvalidArgumentError(
      "nestlab:hostNested",
      hostNested,
      `one of ${HOST_NESTED_MODES.map((m) => showValue(m)).join(", ")}`,
    );
  }
  const libvirtUri = raw.libvirtUri;
  if (libvirtUri !== undefined && typeof libvirtUri !== "string") {
    throw new InvalidArgumentError(
      "nestlab:libvirtUri",
      libvirtUri,
      'a libvirt URI such as "qemu:///system"',
    );
  }
  const classroom = raw.classroom ?? {};
  if (typeof classroom !== "object" || classroom === null || Array.isArray(classroom)) {
    throw new InvalidArgumentError(
      "nestlab:classroom",
      classroom,
      "an object (set its keys with `pulumi config set --path classroom.memoryMiB 8096`)",
    );
  }
  const labMachines = raw.labMachines ?? [];
  if (!Array.isArray(labMachines) || labMachines.some((m) => typeof m !== "string")) {
    throw new InvalidArgumentError(
      "nestlab:labMachines",
      labMachines,
      'a list of machine names inside the classroom host, e.g. ["classroom", "server", "desktop"]',
    );
  }
  const classroomHostKey = raw.classroomHostKey;
  if (
    classroomHostKey !== undefined &&
    (typeof classroomHostKey !== "string" ||
      !/^ssh-[a-z0-9-]+ [A-Za-z0-9+/=]+/.test(classroomHostKey))
  ) {
    throw new InvalidArgumentError(
      "nestlab:classroomHostKey",
      classroomHostKey,
      'the classroom host\'s public host key, "ssh-ed25519 AAAA…" (its /etc/ssh/ssh_host_ed25519_key.pub)',
    );
  }
  const natNetwork = raw.natNetwork;
  if (
    natNetwork !== undefined &&
    (typeof natNetwork !== "object" || natNetwork === null || Array.isArray(natNetwork))
  ) {
    throw new InvalidArgumentError(
      "nestlab:natNetwork",
      natNetwork,
      "an object { networkName, address, dhcp? } (`pulumi config set --path natNetwork.networkName rhce`)",
    );
  }
  const standin = source === "standin";
  const classroomAccess =
    raw.classroomAccess ??
    (labMachines.length > 0 && classroomHostKey === undefined ? "prepare" : "image");
  if (!CLASSROOM_ACCESS_MODES.includes(classroomAccess as ClassroomAccessMode)) {
    throw new InvalidArgumentError(
      "nestlab:classroomAccess",
      classroomAccess,
      `${CLASSROOM_ACCESS_MODES.map((m) => showValue(m)).join(" or ")} (prepare: the stack writes its key into the classroom disk and pins the host key read from it)`,
    );
  }
  if (classroomAccess === "image" && labMachines.length > 0 && classroomHostKey === undefined) {
    throw new InvalidArgumentError(
      "nestlab:classroomHostKey",
      classroomHostKey,
      'the classroom host\'s public host key when labMachines are started with classroomAccess "image" (and its root key as the secret nestlab:classroomSshKey), or classroomAccess "prepare"',
    );
  }
  return {
    source: standin ? standinSource(env) : source,
    pool,
    poolPath,
    volumeName,
    onSourceChange: onSourceChange as SourceChange,
    hostNested: hostNested as HostNestedMode,
    libvirtUri,
    classroom: classroom as Record<string, unknown>,
    labMachines: labMachines as string[],
    classroomHostKey: classroomHostKey as string | undefined,
    classroomAccess: classroomAccess as ClassroomAccessMode,
    natNetwork: natNetwork as LabConfig["natNetwork"],
    standinDir: standin ? standinDir(env) : undefined,
  };
}

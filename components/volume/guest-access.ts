import { InvalidArgumentError, PreconditionError } from "../core/errors";
import { keyOnly, validatePublicKeyLine } from "../host/openssh-key";

/**
 * Root's way in, prepared on a new volume before it is put in place: root's
 * authorized_keys holds exactly the given key, and the guest's SSH host key
 * is read back for the stack to pin. Everything a guest image holds is
 * untrusted, so this module only builds guestfish scripts and reads their
 * answers; guest-access-ops.ts runs them. Two runs of the libguestfs
 * appliance: a read-only look (`probeScript`), then the writes the look
 * allows (`writeScript`), each file read back in the same run.
 */

/** The `rootAccess` argument of a ConvertedVolume. */
export interface RootAccess {
  /** One authorized_keys line ("ssh-ed25519 AAAA… comment"): root's only key in the volume. */
  readonly authorizedKey: string;
}

export const ROOT_HOME = "/root";
export const SSH_DIR = "/root/.ssh";
export const AUTHORIZED_KEYS = "/root/.ssh/authorized_keys";
export const ETC_SSH = "/etc/ssh";
export const SELINUX_CONFIG = "/etc/selinux/config";
/** The host keys sshd offers, in the order a client prefers them: the first one present is pinned. */
export const HOST_KEY_FILES = [
  "/etc/ssh/ssh_host_ed25519_key.pub",
  "/etc/ssh/ssh_host_ecdsa_key.pub",
  "/etc/ssh/ssh_host_rsa_key.pub",
] as const;
export const GENERATED_HOST_KEY = "/etc/ssh/ssh_host_ed25519_key";

/**
 * The labels of RHEL 7's targeted policy for what is written (its
 * file_contexts: `/root/\.ssh(/.*)?` ssh_home_t, `/etc/ssh/ssh_host.*_key`
 * sshd_key_t). Set on the files themselves, as setfiles would, so sshd may
 * read them at the first boot without a relabel of the whole disk.
 */
export const SELINUX_LABELS = {
  sshHome: "system_u:object_r:ssh_home_t:s0",
  sshdKey: "system_u:object_r:sshd_key_t:s0",
  etc: "system_u:object_r:etc_t:s0",
} as const;

/** Checks `rootAccess` (given by the user or the stack): an object with one key line. */
export function validateRootAccess(
  value: unknown,
  argument = "rootAccess",
): RootAccess | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidArgumentError(argument, value, '{ authorizedKey: "ssh-ed25519 AAAA…" }');
  }
  const authorizedKey = validatePublicKeyLine(
    (value as { authorizedKey?: unknown }).authorizedKey,
    `${argument}.authorizedKey`,
  );
  return { authorizedKey };
}

/** What the look found at one path of the guest (lstat: links are not followed). */
export type GuestFileType = "absent" | "file" | "directory" | "symlink" | "other";

export interface GuestFile {
  readonly type: GuestFileType;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
}

export interface GuestFacts {
  readonly files: Readonly<Record<string, GuestFile>>;
  /** Text read from files (host keys, SELinux config), by path; absent when unreadable. */
  readonly texts: Readonly<Record<string, string>>;
}

const STATTED = [
  ROOT_HOME,
  SSH_DIR,
  AUTHORIZED_KEYS,
  ETC_SSH,
  GENERATED_HOST_KEY,
  ...HOST_KEY_FILES,
];
const READ = [...HOST_KEY_FILES, SELINUX_CONFIG];

/**
 * The read-only look, run with `guestfish --ro -i` (the guest's filesystems
 * mounted as its fstab says): each path's lstat and a few files' first
 * lines, each after a marker line. A missing path only prints an error
 * (the `-` prefix): the marker with nothing after it reads as absent.
 */
export function probeScript(): string {
  return [
    ...STATTED.flatMap((p) => [`echo @@stat ${p}`, `-lstatns ${p}`]),
    ...READ.flatMap((p) => [`echo @@text ${p}`, `-head-n 20 ${p}`]),
    "echo @@end",
    "",
  ].join("\n");
}

/** Reads probeScript's output. Throws when it did not run to its end. */
export function parseProbe(stdout: string): GuestFacts {
  const files: Record<string, GuestFile> = {};
  const texts: Record<string, string> = {};
  let current: { kind: "stat" | "text"; path: string; lines: string[] } | undefined;
  let ended = false;
  const flush = () => {
    if (!current) return;
    if (current.kind === "stat") files[current.path] = parseStat(current.lines);
    else if (current.lines.length > 0) texts[current.path] = current.lines.join("\n");
  };
  for (const line of stdout.split("\n")) {
    const m = /^@@(stat|text|end) ?(.*)$/.exec(line);
    if (m) {
      flush();
      current =
        m[1] === "end" ? undefined : { kind: m[1] as "stat" | "text", path: m[2], lines: [] };
      if (m[1] === "end") ended = true;
    } else if (current && (current.kind === "text" || line !== "")) {
      current.lines.push(line);
    }
  }
  if (!ended) throw new Error(`the guest's look ended early:\n${stdout.slice(-400)}`);
  for (const p of Object.keys(texts)) texts[p] = texts[p].replace(/\n+$/, "");
  return { files, texts };
}

/** `lstatns` prints `st_mode: 16877`-style lines; no lines: the path is absent. */
function parseStat(lines: readonly string[]): GuestFile {
  const fields: Record<string, number> = {};
  for (const line of lines) {
    const m = /^\s*(st_\w+): (-?\d+)$/.exec(line);
    if (m) fields[m[1]] = Number(m[2]);
  }
  if (fields.st_mode === undefined) return { type: "absent" };
  const format = fields.st_mode & 0o170000;
  const type: GuestFileType =
    format === 0o100000
      ? "file"
      : format === 0o040000
        ? "directory"
        : format === 0o120000
          ? "symlink"
          : "other";
  return { type, mode: fields.st_mode & 0o7777, uid: fields.st_uid, gid: fields.st_gid };
}

/** What the preparation will do, decided from the look. */
export interface AccessPlan {
  readonly makeSshDir: boolean;
  /** The host key pinned ("type base64"): read from the image, or the one generated. */
  readonly hostKey: string;
  /** Where it came from: a file of the image, or "generated" (the image had none). */
  readonly hostKeySource: string;
  readonly selinux: boolean;
}

/**
 * Decides from the look, or refuses naming what was looked for. `volume`
 * names the image in messages; `generatedHostKey` is used only when the
 * image holds no host key (sshd would make one at its first boot, which
 * nobody could pin).
 */
export function planAccess(
  facts: GuestFacts,
  volume: string,
  generatedHostKey: () => { publicKey: string },
): AccessPlan {
  const type = (p: string) => facts.files[p]?.type ?? "absent";
  const refuse = (what: string): never => {
    throw new PreconditionError(
      `rootAccess: ${what} in ${volume} (the operating system libguestfs found there, its filesystems mounted as its /etc/fstab says). ` +
        `Root's SSH access cannot be prepared; the volume was not made.`,
    );
  };
  if (type(ROOT_HOME) !== "directory")
    refuse(
      `${ROOT_HOME} is ${article(type(ROOT_HOME))}, not a directory (root's home, where .ssh/authorized_keys goes)`,
    );
  const sshDir = type(SSH_DIR);
  if (sshDir !== "absent" && sshDir !== "directory")
    refuse(
      `${SSH_DIR} is ${article(sshDir)}, not a directory (a link could lead the key elsewhere)`,
    );
  const keys = type(AUTHORIZED_KEYS);
  if (keys !== "absent" && keys !== "file")
    refuse(`${AUTHORIZED_KEYS} is ${article(keys)}, not a regular file`);
  if (type(ETC_SSH) !== "directory")
    refuse(
      `${ETC_SSH} is ${article(type(ETC_SSH))}: the image has no OpenSSH server configuration`,
    );
  let hostKey: string | undefined;
  let hostKeySource = "generated";
  for (const file of HOST_KEY_FILES) {
    const text = facts.texts[file];
    if (type(file) !== "file" || text === undefined) continue;
    const line = keyOnly(text.split("\n")[0]);
    try {
      hostKey = validatePublicKeyLine(line, file);
    } catch {
      refuse(`${file} holds no public key (${JSON.stringify(text.slice(0, 60))})`);
    }
    hostKeySource = file;
    break;
  }
  if (hostKey === undefined) {
    // A private key without its public half would be overwritten: refuse instead.
    if (type(GENERATED_HOST_KEY) !== "absent")
      refuse(`${GENERATED_HOST_KEY} exists without a readable ${GENERATED_HOST_KEY}.pub`);
    hostKey = keyOnly(generatedHostKey().publicKey);
  }
  return {
    makeSshDir: sshDir === "absent",
    hostKey,
    hostKeySource,
    selinux: selinuxOn(facts.texts[SELINUX_CONFIG]),
  };
}

/** SELinux enforcing or permissive at the next boot, by /etc/selinux/config. */
export function selinuxOn(config: string | undefined): boolean {
  const m = config === undefined ? null : /^\s*SELINUX\s*=\s*(\w+)/m.exec(config);
  return m !== null && (m[1] === "enforcing" || m[1] === "permissive");
}

function article(type: GuestFileType): string {
  return type === "absent"
    ? "missing"
    : type === "other"
      ? "a device, fifo or socket"
      : `a ${type}`;
}

/**
 * The writes, run with `guestfish --rw -i` on the new volume alone (its
 * script on standard input, never on a command line): root's
 * authorized_keys made to hold exactly `access.authorizedKey`, 0600 in a
 * 0700 /root/.ssh, both root's; with SELinux the labels sshd needs; the
 * generated host key when the image had none. Then each file read back.
 * `rm-f` first: a new file is created, never one already there written
 * through.
 */
export function writeScript(
  access: RootAccess,
  plan: AccessPlan,
  generated?: { privateKey: string; publicKey: string },
): string {
  const lines: string[] = [];
  if (plan.makeSshDir) lines.push(`mkdir-mode ${SSH_DIR} 0700`);
  lines.push(
    `chmod 0700 ${SSH_DIR}`,
    `chown 0 0 ${SSH_DIR}`,
    `rm-f ${AUTHORIZED_KEYS}`,
    `write ${AUTHORIZED_KEYS} ${quote(`${access.authorizedKey}\n`)}`,
    `chmod 0600 ${AUTHORIZED_KEYS}`,
    `chown 0 0 ${AUTHORIZED_KEYS}`,
  );
  if (plan.selinux) {
    lines.push(
      label(SELINUX_LABELS.sshHome, SSH_DIR),
      label(SELINUX_LABELS.sshHome, AUTHORIZED_KEYS),
    );
  }
  if (plan.hostKeySource === "generated") {
    if (!generated)
      throw new Error("writeScript: the plan generates a host key but none was given");
    const pub = `${GENERATED_HOST_KEY}.pub`;
    lines.push(
      `write ${GENERATED_HOST_KEY} ${quote(generated.privateKey)}`,
      `chmod 0600 ${GENERATED_HOST_KEY}`,
      `chown 0 0 ${GENERATED_HOST_KEY}`,
      `write ${pub} ${quote(`${generated.publicKey}\n`)}`,
      `chmod 0644 ${pub}`,
      `chown 0 0 ${pub}`,
    );
    if (plan.selinux)
      lines.push(
        label(SELINUX_LABELS.sshdKey, GENERATED_HOST_KEY),
        label(SELINUX_LABELS.sshdKey, pub),
      );
  }
  lines.push(
    `echo @@stat ${SSH_DIR}`,
    `lstatns ${SSH_DIR}`,
    `echo @@stat ${AUTHORIZED_KEYS}`,
    `lstatns ${AUTHORIZED_KEYS}`,
    `echo @@text ${AUTHORIZED_KEYS}`,
    `cat ${AUTHORIZED_KEYS}`,
    "echo @@end",
    "",
  );
  return lines.join("\n");
}

/**
 * Checks what writeScript read back: root's authorized_keys a regular file,
 * mode 0600, owned by root, holding exactly the key; /root/.ssh a 0700
 * directory of root's.
 */
export function checkWritten(facts: GuestFacts, access: RootAccess, volume: string): void {
  const dir = facts.files[SSH_DIR];
  const keys = facts.files[AUTHORIZED_KEYS];
  const text = facts.texts[AUTHORIZED_KEYS];
  const problems = [
    dir?.type === "directory" && dir.mode === 0o700 && dir.uid === 0 && dir.gid === 0
      ? undefined
      : `${SSH_DIR} reads back as ${JSON.stringify(dir)}`,
    keys?.type === "file" && keys.mode === 0o600 && keys.uid === 0 && keys.gid === 0
      ? undefined
      : `${AUTHORIZED_KEYS} reads back as ${JSON.stringify(keys)}`,
    text === access.authorizedKey ? undefined : `${AUTHORIZED_KEYS} does not hold exactly the key`,
  ].filter((p) => p !== undefined);
  if (problems.length > 0) {
    throw new PreconditionError(
      `rootAccess: after writing ${volume}, ${problems.join("; ")}: the volume was not made.`,
    );
  }
}

function label(context: string, path: string): string {
  return `lsetxattr security.selinux ${quote(context)} ${Buffer.byteLength(context)} ${path}`;
}

/**
 * Whether guestfish failed before its appliance ran any command (QEMU
 * refused to start or died at once, e.g. on a /dev/kvm it cannot use): then
 * running it again changes nothing twice.
 */
export function launchFailed(stderr: string): boolean {
  return /guestfs_launch failed/.test(stderr);
}

/**
 * A guestfish double-quoted string. Only what keys and labels hold is
 * allowed (base64, PEM armour, key comments, SELinux contexts), with line
 * ends as `\n`: nothing a guestfish parser could read as a second command.
 */
export function quote(text: string): string {
  if (!/^[A-Za-z0-9+/=@._:\- \n]*$/.test(text)) {
    throw new Error(
      `guestfish text holds a character outside keys and labels: ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  return `"${text.replace(/\n/g, "\\n")}"`;
}

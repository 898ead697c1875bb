import * as pulumi from "@pulumi/pulumi";
import { InvalidArgumentError } from "../core/errors";
import { hasUnknown } from "../core/unknown";

/**
 * Where the libvirt host is and how to reach it. Shared by every component:
 * the same connection reads the host's nested setting, converts its images
 * and defines its domains.
 */
export interface HostConnection {
  /**
   * The libvirt connection URI, as `virsh -c` takes it.
   * @default "qemu:///system"
   */
  readonly libvirtUri?: pulumi.Input<string>;
  /**
   * Reach the host over SSH instead of running commands on this machine.
   * Every command (qemu-img, virsh, modprobe) then runs on that host.
   * @default - this machine
   */
  readonly ssh?: pulumi.Input<SshConnectionArgs>;
  /**
   * A folder that stands in for `/` when files are read or written
   * (`/proc`, `/sys`, `/etc`): for tests on prepared directory trees.
   * @default "" (the real root)
   */
  readonly rootDir?: pulumi.Input<string>;
}

/** SSH details for a remote libvirt host. */
export interface SshConnectionArgs {
  /** Host name or address. */
  readonly host: pulumi.Input<string>;
  /** @default 22 */
  readonly port?: pulumi.Input<number>;
  /** @default "root" */
  readonly user?: pulumi.Input<string>;
  /**
   * The private key (OpenSSH format). Pass it as a secret
   * (`pulumi config set --secret`); it is kept only as a secret in the state.
   * @default - the SSH agent and the user's default keys
   */
  readonly privateKey?: pulumi.Input<string>;
  /**
   * The host's public key line(s), as in known_hosts (`host keytype base64`),
   * to pin the host key. A mismatch refuses the connection.
   * @default - the user's ~/.ssh/known_hosts
   */
  readonly knownHosts?: pulumi.Input<string>;
  /**
   * Seconds to wait for the TCP connection.
   * @default 15
   */
  readonly connectTimeoutSeconds?: pulumi.Input<number>;
}

/** The plain, validated form that providers receive (no Inputs, no secret key). */
export interface HostSpec {
  readonly libvirtUri: string;
  readonly rootDir: string;
  readonly ssh?: SshSpec;
}

export interface SshSpec {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly knownHosts?: string;
  readonly connectTimeoutSeconds: number;
}

export const DEFAULT_LIBVIRT_URI = "qemu:///system";

/** Plain values of a HostConnection, with the SSH key kept apart. */
export interface PlainHostConnection {
  readonly libvirtUri?: string;
  readonly rootDir?: string;
  readonly ssh?: {
    readonly host: string;
    readonly port?: number;
    readonly user?: string;
    readonly privateKey?: string;
    readonly knownHosts?: string;
    readonly connectTimeoutSeconds?: number;
  };
}

const HOSTNAME =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\d{1,3}(?:\.\d{1,3}){3}$|^\[?[0-9A-Fa-f:]+\]?$/;
const USER = /^[a-z_][a-z0-9_.-]{0,31}$/i;

/**
 * Validates a host connection and splits off the private key, which travels
 * as its own secret property. Throws InvalidArgumentError naming the argument.
 */
export function resolveHost(
  conn: PlainHostConnection | undefined,
  argName = "host",
): { spec: HostSpec; privateKey?: string } {
  const libvirtUri = conn?.libvirtUri ?? DEFAULT_LIBVIRT_URI;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(libvirtUri)) {
    throw new InvalidArgumentError(
      `${argName}.libvirtUri`,
      libvirtUri,
      'a libvirt URI such as "qemu:///system" or "qemu+ssh://root@host/system"',
    );
  }
  const rootDir = (conn?.rootDir ?? "").replace(/\/+$/, "");
  if (rootDir !== "" && !rootDir.startsWith("/")) {
    throw new InvalidArgumentError(`${argName}.rootDir`, rootDir, "an absolute path, or nothing");
  }
  if (!conn?.ssh) return { spec: { libvirtUri, rootDir } };
  const s = conn.ssh;
  if (!s.host || !HOSTNAME.test(s.host)) {
    throw new InvalidArgumentError(`${argName}.ssh.host`, s.host, "a host name or IP address");
  }
  const port = s.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`${argName}.ssh.port`, port, "a TCP port from 1 to 65535");
  }
  const user = s.user ?? "root";
  if (!USER.test(user)) {
    throw new InvalidArgumentError(
      `${argName}.ssh.user`,
      user,
      "a user name (letters, digits, _ . -)",
    );
  }
  const connectTimeoutSeconds = s.connectTimeoutSeconds ?? 15;
  if (!Number.isInteger(connectTimeoutSeconds) || connectTimeoutSeconds < 1) {
    throw new InvalidArgumentError(
      `${argName}.ssh.connectTimeoutSeconds`,
      connectTimeoutSeconds,
      "a whole number of seconds, 1 or more",
    );
  }
  if (s.privateKey !== undefined && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(s.privateKey)) {
    // Never echo the value: it is a secret.
    throw new InvalidArgumentError(
      `${argName}.ssh.privateKey`,
      "(secret)",
      "an OpenSSH or PEM private key, e.g. `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`",
    );
  }
  return {
    spec: {
      libvirtUri,
      rootDir,
      ssh: { host: s.host, port, user, knownHosts: s.knownHosts, connectTimeoutSeconds },
    },
    privateKey: s.privateKey,
  };
}

/**
 * What a change of `host` means for a resource that lives there:
 * - "same": nothing changed;
 * - "reconnect": the same hypervisor reached another way (ssh port, user,
 *   pinned host key, timeout): an in-place update that rewrites the state;
 * - "other": another hypervisor (another ssh.host, this machine instead of
 *   SSH or back, another libvirtUri or rootDir): the resource is made anew.
 * A value not known yet (a preview) may be another hypervisor: "other".
 */
export type HostChange = "same" | "reconnect" | "other";

export function compareHosts(olds: unknown, news: unknown): HostChange {
  if (hasUnknown(olds) || hasUnknown(news) || !isPlain(olds) || !isPlain(news)) return "other";
  const a = olds as Partial<HostSpec>;
  const b = news as Partial<HostSpec>;
  if (
    (a.libvirtUri ?? DEFAULT_LIBVIRT_URI) !== (b.libvirtUri ?? DEFAULT_LIBVIRT_URI) ||
    (a.rootDir ?? "") !== (b.rootDir ?? "") ||
    (a.ssh === undefined) !== (b.ssh === undefined) ||
    a.ssh?.host !== b.ssh?.host
  ) {
    return "other";
  }
  const sa: Partial<SshSpec> = a.ssh ?? {};
  const sb: Partial<SshSpec> = b.ssh ?? {};
  return sa.port === sb.port &&
    sa.user === sb.user &&
    (sa.knownHosts ?? "") === (sb.knownHosts ?? "") &&
    sa.connectTimeoutSeconds === sb.connectTimeoutSeconds
    ? "same"
    : "reconnect";
}

/** Whether the SSH key changed (a rotated key is an update everywhere; unknown counts as changed). */
export function keyChanged(olds: unknown, news: unknown): boolean {
  if (hasUnknown(olds) || hasUnknown(news)) return true;
  return (olds ?? "") !== (news ?? "");
}

/**
 * The part of a resource's diff that its host decides, the same for every
 * resource: `replaces` is ["host"] for another hypervisor; `updates` names
 * "host" (reached another way) and "sshPrivateKey" (rotated), both taken
 * into the state by an update.
 */
export function diffHost(
  olds: { readonly host?: unknown; readonly sshPrivateKey?: unknown },
  news: { readonly host?: unknown; readonly sshPrivateKey?: unknown },
): { readonly replaces: string[]; readonly updates: string[] } {
  const change = compareHosts(olds.host, news.host);
  const updates: string[] = change === "reconnect" ? ["host"] : [];
  if (keyChanged(olds.sshPrivateKey, news.sshPrivateKey)) updates.push("sshPrivateKey");
  return { replaces: change === "other" ? ["host"] : [], updates };
}

function isPlain(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A short label for messages: "this machine" or "root@host:22". */
export function describeHost(spec: HostSpec): string {
  return spec.ssh ? `${spec.ssh.user}@${spec.ssh.host}:${spec.ssh.port}` : "this machine";
}

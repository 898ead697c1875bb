import { SshSpec } from "./connection";
import { COMMAND_LOCALE } from "./access";

/** Files the ssh client needs beside its options; made by SshHost in a private folder. */
export interface SshFiles {
  readonly identityFile?: string;
  readonly knownHostsFile?: string;
  /** The shared master connection's socket; none: the command gets a connection of its own. */
  readonly controlPath?: string;
}

/**
 * The ssh client's argv for one remote command. The remote side hands the
 * command to the user's shell, so each argument is quoted on its own: what
 * arrives is exactly `argv`, whatever quotes, spaces or `$(…)` it holds.
 */
export function sshArgv(
  ssh: SshSpec,
  files: SshFiles,
  argv: readonly string[],
  env: Readonly<Record<string, string>> = {},
): string[] {
  const options = [
    "-o",
    "BatchMode=yes",
    "-o",
    `ConnectTimeout=${ssh.connectTimeoutSeconds}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "ServerAliveInterval=15",
    ...(files.controlPath
      ? ["-o", "ControlMaster=auto", "-o", `ControlPath=${files.controlPath}`]
      : ["-o", "ControlPath=none"]),
    ...(files.controlPath ? ["-o", "ControlPersist=60"] : []),
    "-o",
    "LogLevel=ERROR",
  ];
  if (files.knownHostsFile) options.push("-o", `UserKnownHostsFile=${files.knownHostsFile}`);
  if (files.identityFile) options.push("-o", "IdentitiesOnly=yes", "-i", files.identityFile);
  // The remote command gets the C locale too (sshd may pass on the client's LANG and LC_*).
  const vars: Record<string, string> = { ...env, ...COMMAND_LOCALE };
  const envPrefix = Object.keys(vars)
    .sort()
    .map((k) => shellQuote(`${k}=${vars[k]}`));
  const remote = ["env", ...envPrefix, ...argv.map(shellQuote)].join(" ");
  return ["ssh", ...options, "-p", String(ssh.port), "-l", ssh.user, "--", ssh.host, remote];
}

/** POSIX single-quote quoting: the shell reads the result back as exactly `arg`. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** What ssh's own failures mean, for the error a user reads. */
export function explainSshFailure(stderr: string): string | undefined {
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
    return "The host's SSH key does not match the one pinned in host.ssh.knownHosts (or ~/.ssh/known_hosts): check that this is the right host, then update the pinned key.";
  }
  if (/Connection refused/.test(stderr))
    return "Nothing accepts SSH at that address and port: check host.ssh.host and host.ssh.port, and that sshd runs there.";
  if (/timed out|Connection timed out/.test(stderr))
    return "The SSH connection timed out: check the address, routing and firewalls, or raise host.ssh.connectTimeoutSeconds.";
  if (/Permission denied/.test(stderr))
    return "SSH refused the login: check host.ssh.user and host.ssh.privateKey.";
  return undefined;
}

import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { CommandError } from "../core/errors";
import { Held, HostAccess, RunOptions, RunResult } from "./access";
import { SshSpec } from "./connection";
import { explainSshFailure, SshFiles, sshArgv } from "./ssh-argv";
import { HeldSet, spawnCollect, spawnHeld } from "./spawn";

/** ssh exits with 255 for its own failures, never for the remote command's. */
const SSH_FAILURE = 255;

/**
 * One round trip, a fixed script with the data as positional parameters ($1
 * folder, $2 name, $3 octal mode; the content on stdin). mktemp makes the
 * temporary file: a random name, created exclusively (never a file or link
 * someone planted) with mode 0600 whatever the umask, so nobody else can open
 * it while the content arrives; it gets its final mode once complete and
 * synced. The folder is synced after the rename, so the new name survives a
 * power cut (coreutils before 8.24 cannot sync one folder: all of them then).
 */
const WRITE_FILE_ATOMIC = `set -e
umask 077
tmp=$(mktemp "$1/.$2.nestlab-XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
dd of="$tmp" conv=fsync status=none
chmod "$3" -- "$tmp"
mv -f -- "$tmp" "$1/$2"
trap - EXIT
sync -- "$1" 2>/dev/null || sync`;

/**
 * A remote host reached with the system's ssh client. One master connection
 * is shared by all commands of a provider call; `close()` ends it and removes
 * the key file.
 */
export class SshHost implements HostAccess {
  readonly label: string;
  private files?: Promise<SshFiles & { dir: string; controlPath: string }>;
  /**
   * Commands go one at a time: concurrent sessions over one master connection
   * fail at random with a bare exit 255 (seen with dropbear), and OpenSSH caps
   * them at MaxSessions (10).
   */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly held = new HeldSet();

  constructor(
    private readonly ssh: SshSpec,
    private readonly privateKey: string | undefined,
    private readonly rootDir = "",
  ) {
    this.label = `${ssh.user}@${ssh.host}:${ssh.port}`;
  }

  run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const result = this.queue.then(() => this.runNow(argv, options));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runNow(argv: readonly string[], options: RunOptions): Promise<RunResult> {
    const files = await this.prepare();
    const full = sshArgv(this.ssh, files, argv, options.env);
    const result = await spawnCollect(full, { ...options, env: undefined });
    if (result.exitCode === SSH_FAILURE) {
      throw new CommandError(
        argv,
        undefined,
        result.stderr,
        this.label,
        explainSshFailure(result.stderr) ?? "The SSH connection failed.",
      );
    }
    if (result.exitCode !== 0 && !options.allowFailure) {
      throw new CommandError(argv, result.exitCode, result.stderr || result.stdout, this.label);
    }
    return result;
  }

  async readFile(file: string): Promise<string | undefined> {
    const target = this.at(file);
    const r = await this.run(["cat", "--", target], { allowFailure: true });
    if (r.exitCode === 0) return r.stdout;
    if (/No such file|Not a directory/.test(r.stderr)) return undefined;
    throw new CommandError(["cat", "--", target], r.exitCode, r.stderr, this.label);
  }

  async writeFileAtomic(file: string, content: string, mode = 0o644): Promise<void> {
    const target = this.at(file);
    await this.run(
      [
        "sh",
        "-c",
        WRITE_FILE_ATOMIC,
        "sh",
        path.posix.dirname(target),
        path.posix.basename(target),
        mode.toString(8),
      ],
      { input: content },
    );
  }

  async removeFile(file: string): Promise<void> {
    await this.run(["rm", "-f", "--", this.at(file)]);
  }

  async listDir(dir: string): Promise<string[]> {
    const r = await this.run(["ls", "-1A", "--", this.at(dir)], { allowFailure: true });
    if (r.exitCode !== 0) return [];
    return r.stdout.split("\n").filter(Boolean).sort();
  }

  async hasCommand(name: string): Promise<boolean> {
    // A fixed script; the name travels as a positional argument.
    const r = await this.run(["sh", "-c", 'command -v "$1" >/dev/null', "sh", name], {
      allowFailure: true,
    });
    return r.exitCode === 0;
  }

  /**
   * Over a connection of its own, beside the shared one (the queue would wait
   * for it, and one master connection does not carry two sessions reliably).
   * If this process dies, the connection drops and the remote program's
   * input closes.
   */
  async hold(argv: readonly string[], ready: string): Promise<Held> {
    const files = await this.prepare();
    const own = { identityFile: files.identityFile, knownHostsFile: files.knownHostsFile };
    return this.held.add(
      spawnHeld(sshArgv(this.ssh, own, argv), ready, (r) =>
        r.exitCode === SSH_FAILURE
          ? new CommandError(
              argv,
              undefined,
              r.stderr,
              this.label,
              explainSshFailure(r.stderr) ?? "The SSH connection failed.",
            )
          : new CommandError(argv, r.exitCode, r.stderr, this.label),
      ),
    );
  }

  /** Releases what hold() holds, ends the shared connection and removes the key and known-hosts files. */
  async close(): Promise<void> {
    await this.held.releaseAll();
    if (!this.files) return;
    const files = await this.files;
    this.files = undefined;
    await spawnCollect(
      ["ssh", "-o", `ControlPath=${files.controlPath}`, "-O", "exit", this.ssh.host],
      { timeoutMs: 5000 },
    );
    await fs.rm(files.dir, { recursive: true, force: true });
  }

  private prepare(): Promise<SshFiles & { dir: string; controlPath: string }> {
    this.files ??= (async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "nestlab-ssh-"));
      await fs.chmod(dir, 0o700);
      let identityFile: string | undefined;
      let knownHostsFile: string | undefined;
      if (this.privateKey) {
        identityFile = path.join(dir, "id");
        await fs.writeFile(
          identityFile,
          this.privateKey.endsWith("\n") ? this.privateKey : `${this.privateKey}\n`,
          { mode: 0o600, flag: "wx" },
        );
      }
      if (this.ssh.knownHosts) {
        knownHostsFile = path.join(dir, "known_hosts");
        await fs.writeFile(knownHostsFile, `${this.ssh.knownHosts.trim()}\n`, {
          mode: 0o600,
          flag: "wx",
        });
      }
      return { dir, identityFile, knownHostsFile, controlPath: path.join(dir, "cm") };
    })();
    return this.files;
  }

  private at(file: string): string {
    return this.rootDir ? path.posix.join(this.rootDir, file) : file;
  }
}

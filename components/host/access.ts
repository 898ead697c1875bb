/**
 * The one way the project touches a host: run a program (argv, never a shell
 * string), read a file, write a file atomically. A local and an SSH
 * implementation share this shape, so every provider works on a remote host
 * the same way, and tests can hand in a simulated host.
 */
export interface HostAccess {
  /** "this machine" or "user@host:port", for messages. */
  readonly label: string;
  /** Runs argv[0] with the rest as its arguments. Throws CommandError on a non-zero exit unless `allowFailure`. */
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** The file's text, or undefined when it does not exist. Paths are under the host's rootDir. */
  readFile(path: string): Promise<string | undefined>;
  /** Writes through a temporary file in the same folder and a rename: readers never see half a file. */
  writeFileAtomic(path: string, content: string, mode?: number): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  removeFile(path: string): Promise<void>;
  /** Names in a folder, sorted; an empty list when it does not exist. */
  listDir(path: string): Promise<string[]>;
  /** Whether a program is on the host's PATH. */
  hasCommand(name: string): Promise<boolean>;
  /**
   * Starts argv and leaves it running, its standard input open, while the
   * caller works (a lock holder): resolves once it prints the line `ready`,
   * throws CommandError if it ends before. `release()` closes its input and
   * waits for it to end. Nothing held outlives the connection: releasing the
   * host releases it, and if this process dies its input closes too.
   */
  hold(argv: readonly string[], ready: string): Promise<Held>;
}

/** A program started by HostAccess.hold. */
export interface Held {
  /** False once the program has ended (what it held is no longer held). */
  isHeld(): boolean;
  /** Closes the program's input and waits for it to end; a second call does nothing. */
  release(): Promise<void>;
}

/**
 * The environment every program runs with, here and over SSH: the C locale.
 * "Not found" and other answers are recognised by their English words, which
 * a translated virsh, coreutils or qemu-img would not print.
 */
export const COMMAND_LOCALE: Readonly<Record<string, string>> = { LC_ALL: "C" };

export interface RunOptions {
  /** Text for the program's standard input. */
  readonly input?: string;
  /** Kill the program after this long. @default 10 minutes */
  readonly timeoutMs?: number;
  /** Return a non-zero exit instead of throwing. */
  readonly allowFailure?: boolean;
  /** Called with each complete line the program writes to stdout or stderr (progress). */
  readonly onOutputLine?: (line: string) => void;
  /** Extra environment variables (local: merged; ssh: passed with `env`). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

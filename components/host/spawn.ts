import execa = require("execa");
import { COMMAND_LOCALE, Held, RunOptions, RunResult } from "./access";

const TEN_MINUTES = 10 * 60 * 1000;

/** Runs argv without a shell and collects its output; never throws on exit codes. */
export async function spawnCollect(
  argv: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const [file, ...args] = argv;
  const child = execa(file, args, {
    input: options.input,
    timeout: options.timeoutMs ?? TEN_MINUTES,
    reject: false,
    stripFinalNewline: false,
    env: { ...options.env, ...COMMAND_LOCALE },
    extendEnv: true,
    // Programs that print progress with carriage returns (qemu-img -p) are read as lines too.
    buffer: true,
  });
  if (options.onOutputLine) {
    const onLine = options.onOutputLine;
    for (const stream of [child.stdout, child.stderr]) {
      let pending = "";
      stream?.on("data", (chunk: Buffer) => {
        const parts = (pending + chunk.toString("utf8")).split(/\r\n|\r|\n/);
        pending = parts.pop() ?? "";
        for (const line of parts) if (line.trim()) onLine(line);
      });
    }
  }
  const result = await child;
  if (result.failed && result.exitCode === undefined) {
    // Not started (ENOENT) or killed by the timeout.
    const reason = result.timedOut
      ? `timed out after ${(options.timeoutMs ?? TEN_MINUTES) / 1000} s`
      : ((result as Partial<execa.ExecaError>).shortMessage ?? `${file} could not be started`);
    return {
      exitCode: 127,
      stdout: result.stdout ?? "",
      stderr: `${result.stderr ?? ""}${reason}`,
    };
  }
  return {
    exitCode: result.exitCode ?? 1,
    stdout: result.stdout ?? "",
    stderr: result.stderr ?? "",
  };
}

/**
 * Starts argv with its standard input open (see HostAccess.hold): resolves
 * once a line of its stdout is `ready`; if it ends before, rejects with what
 * `failed` makes of its result.
 */
export function spawnHeld(
  argv: readonly string[],
  ready: string,
  failed: (result: RunResult) => Error,
): Promise<Held> {
  const [file, ...args] = argv;
  const child = execa(file, args, {
    stdin: "pipe",
    reject: false,
    stripFinalNewline: false,
    env: COMMAND_LOCALE,
    extendEnv: true,
  });
  let running = true;
  const ended = child.then((r): RunResult => {
    running = false;
    return { exitCode: r.exitCode ?? 127, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  });
  const held: Held = {
    isHeld: () => running,
    release: async () => {
      child.stdin?.end();
      await ended;
    },
  };
  return new Promise((resolve, reject) => {
    let seen = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString("utf8");
      if (seen.split("\n").slice(0, -1).includes(ready)) resolve(held);
    });
    // After resolve() this changes nothing: a promise settles once.
    void ended.then((r) => reject(failed(r)));
  });
}

/** What a connection holds, released together when it ends. */
export class HeldSet {
  private readonly held = new Set<Held>();

  async add(start: Promise<Held>): Promise<Held> {
    const h = await start;
    this.held.add(h);
    return {
      isHeld: () => h.isHeld(),
      release: async () => {
        this.held.delete(h);
        await h.release();
      },
    };
  }

  async releaseAll(): Promise<void> {
    const all = [...this.held];
    this.held.clear();
    await Promise.all(all.map((h) => h.release()));
  }
}

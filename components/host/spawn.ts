import execa = require("execa");
import { COMMAND_LOCALE, RunOptions, RunResult } from "./access";

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

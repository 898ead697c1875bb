import execa from "execa";
import { previewArgv } from "./args";

/** Where and how the engine runs the preview. */
export interface PreviewRun {
  readonly stack: string;
  /** The Pulumi project's folder. */
  readonly workDir: string;
  /** Added to this process's environment (backend, passphrase, PULUMI_HOME). */
  readonly env?: Readonly<Record<string, string>>;
  /** @default "pulumi" (from PATH) */
  readonly pulumi?: string;
}

/**
 * Runs `pulumi preview --json` and returns what it printed. A failed preview
 * (a bad config value, a host check) still prints its digest, with the
 * errors in it; only output that is not JSON is an error here.
 */
export async function runPreview(run: PreviewRun): Promise<string> {
  const r = await execa(run.pulumi ?? "pulumi", previewArgv(run.stack), {
    cwd: run.workDir,
    env: { ...run.env },
    reject: false,
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.exitCode !== 0 && !r.stdout.trimStart().startsWith("{")) {
    throw new Error(
      `\`pulumi ${previewArgv(run.stack).join(" ")}\` exited with ${r.exitCode}:\n${(r.stderr || r.stdout).trim().split("\n").slice(-20).join("\n")}`,
    );
  }
  return r.stdout;
}

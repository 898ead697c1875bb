import { randomBytes } from "crypto";
import { promises as fs } from "fs";
import * as path from "path";
import { CommandError } from "../core/errors";
import { Held, HostAccess, RunOptions, RunResult } from "./access";
import { HeldSet, spawnCollect, spawnHeld } from "./spawn";

/** This machine. File paths are taken below `rootDir` (tests use prepared trees). */
export class LocalHost implements HostAccess {
  readonly label = "this machine";
  private readonly held = new HeldSet();

  constructor(private readonly rootDir = "") {}

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const result = await spawnCollect(argv, options);
    if (result.exitCode !== 0 && !options.allowFailure) {
      throw new CommandError(argv, result.exitCode, result.stderr || result.stdout, this.label);
    }
    return result;
  }

  async readFile(file: string): Promise<string | undefined> {
    try {
      return await fs.readFile(this.at(file), "utf8");
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async writeFileAtomic(file: string, content: string, mode = 0o644): Promise<void> {
    const target = this.at(file);
    const dir = path.dirname(target);
    // A random name, created exclusively ("wx": never a file or link someone
    // planted) with mode 0600: nobody else can open it while the content
    // arrives. The final mode once complete, exact whatever the umask.
    const tmp = path.join(
      dir,
      `.${path.basename(target)}.nestlab-${randomBytes(6).toString("hex")}`,
    );
    const handle = await fs.open(tmp, "wx", 0o600);
    try {
      try {
        await handle.writeFile(content);
        await handle.chmod(mode);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, target);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
    // The new name survives a power cut only once the folder is synced.
    const folder = await fs.open(dir, "r");
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  }

  async removeFile(file: string): Promise<void> {
    await fs.rm(this.at(file), { force: true });
  }

  async listDir(dir: string): Promise<string[]> {
    try {
      return (await fs.readdir(this.at(dir))).sort();
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
  }

  async hasCommand(name: string): Promise<boolean> {
    for (const dir of (process.env.PATH ?? "").split(":").filter(Boolean)) {
      try {
        await fs.access(path.join(dir, name), fs.constants.X_OK);
        return true;
      } catch {
        // not in this folder
      }
    }
    return false;
  }

  hold(argv: readonly string[], ready: string): Promise<Held> {
    return this.held.add(
      spawnHeld(argv, ready, (r) => new CommandError(argv, r.exitCode, r.stderr, this.label)),
    );
  }

  /** Releases whatever hold() still holds. */
  releaseHeld(): Promise<void> {
    return this.held.releaseAll();
  }

  private at(file: string): string {
    return this.rootDir ? path.join(this.rootDir, file) : file;
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

import { promises as fs } from "fs";
import * as path from "path";
import { CommandError } from "../core/errors";
import { HostAccess, RunOptions, RunResult } from "./access";
import { spawnCollect } from "./spawn";

/** This machine. File paths are taken below `rootDir` (tests use prepared trees). */
export class LocalHost implements HostAccess {
  readonly label = "this machine";

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
    const tmp = path.join(
      path.dirname(target),
      `.${path.basename(target)}.nestlab-${process.pid}.tmp`,
    );
    try {
      await fs.writeFile(tmp, content, { mode, flag: "w" });
      const handle = await fs.open(tmp, "r");
      await handle.sync();
      await handle.close();
      await fs.rename(tmp, target);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
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

  private at(file: string): string {
    return this.rootDir ? path.join(this.rootDir, file) : file;
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

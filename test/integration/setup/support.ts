/**
 * For the set-up scripts' tests: a scratch folder with an empty home, a copy
 * of the project's scripts and stack files, and a PATH of this machine's
 * programs in which some can be hidden or replaced. The engine and Node that
 * `npm test` provides stand in for what the scripts would otherwise build or
 * download (they use whatever is on PATH, as on a machine that has them).
 */
import execa = require("execa");
import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";

export const PROJECT_DIR = path.resolve(__dirname, "../../..");

export interface Scratch {
  readonly root: string;
  /** An empty home folder. */
  readonly home: string;
  /** A copy of Pulumi.yaml, stacks/ and the set-up's scripts. */
  readonly project: string;
  /** A folder of links to this machine's programs (see `machineBin`). */
  readonly bin: string;
  remove(): Promise<void>;
}

export async function scratch(options: { hide?: readonly string[] } = {}): Promise<Scratch> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "nlt-setup-"));
  const home = path.join(root, "home");
  const project = path.join(root, "project");
  await fs.mkdir(home, { mode: 0o700 });
  await fs.mkdir(path.join(project, "stacks"), { recursive: true });
  await fs.copyFile(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
  for (const name of ["Pulumi.dev.yaml", "Pulumi.lab.yaml"]) {
    await fs.copyFile(path.join(PROJECT_DIR, "stacks", name), path.join(project, "stacks", name));
  }
  for (const name of ["setup", "setup.sh", "pulumi.sh", "up.sh"]) {
    await fs.cp(path.join(PROJECT_DIR, "scripts", name), path.join(project, "scripts", name), {
      recursive: true,
    });
  }
  const bin = await machineBin(path.join(root, "bin"), options.hide ?? []);
  return { root, home, project, bin, remove: () => fs.rm(root, { recursive: true, force: true }) };
}

/**
 * `dir` filled with links to every program in /usr/bin except `hide`, then
 * the Node.js running this test and the engine of NESTLAB_ENGINE_ROOT: a PATH
 * of this machine where the hidden programs are missing. `dir` must end in
 * /bin: engine.sh reports the folder above `pulumi`'s as the engine's root.
 */
export async function machineBin(dir: string, hide: readonly string[]): Promise<string> {
  const engine = process.env.NESTLAB_ENGINE_ROOT;
  if (!engine) {
    throw new Error(
      "NESTLAB_ENGINE_ROOT is not set: run the tests through `npm test` (scripts/test.sh), which provides the Pulumi engine",
    );
  }
  await fs.mkdir(dir, { recursive: true });
  const links = new Map<string, string>();
  for (const name of await fs.readdir("/usr/bin")) {
    if (!hide.includes(name)) links.set(name, path.join("/usr/bin", name));
  }
  links.set("node", process.execPath);
  for (const name of await fs.readdir(path.join(engine, "bin"))) {
    links.set(name, path.join(engine, "bin", name));
  }
  for (const [name, target] of links) await fs.symlink(target, path.join(dir, name));
  return dir;
}

/** Writes an executable shell script (a stand-in for a program) into `dir`. */
export async function fakeProgram(dir: string, name: string, script: string): Promise<void> {
  const file = path.join(dir, name);
  await fs.rm(file, { force: true });
  await fs.writeFile(file, `#!/bin/sh\n${script}`, { mode: 0o755 });
}

export interface Run {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs argv in `cwd` with exactly `env` (nothing of this process's
 * environment leaks in: no NESTLAB_CACHE, no PULUMI_*).
 */
export async function runClean(
  argv: readonly string[],
  options: { cwd: string; env: Record<string, string>; input?: string },
): Promise<Run> {
  const [file, ...args] = argv;
  const r = await execa(file, args, {
    cwd: options.cwd,
    env: { LANG: "C.UTF-8", ...options.env },
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
    input: options.input ?? "",
    timeout: 5 * 60 * 1000,
  });
  return { exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Every file, folder and link below `dir`, as relative paths with a trailing
 * "/" for folders, sorted; `depth` limits how far down it looks.
 */
export async function tree(dir: string, depth = Infinity): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string, level: number): Promise<void> => {
    const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out.push(`${r}/`);
        if (level + 1 < depth) await walk(r, level + 1);
      } else out.push(r);
    }
  };
  await walk("", 0);
  return out.sort();
}

/** The permission bits of a file or folder, as octal text ("700"). */
export async function modeOf(file: string): Promise<string> {
  return ((await fs.stat(file)).mode & 0o777).toString(8);
}

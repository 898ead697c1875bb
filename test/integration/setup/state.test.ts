/**
 * The stacks' state and Pulumi's home (logins, selected stacks) live in
 * ~/.local/state/nestlab, not in the cache. A state that earlier versions kept
 * in ~/.cache/nestlab is moved there once, with a line that says so; a state
 * in both places is refused, never merged or overwritten. About 5 s.
 */
import { promises as fs } from "fs";
import * as path from "path";
import { modeOf, runClean, scratch, Scratch, tree } from "./support";

// Each test runs the scripts and the CLI several times, a second or two each.
jest.setTimeout(120_000);

let s: Scratch;
let oldState: string;
let oldHome: string;
let newState: string;
let newHome: string;

const CHECKPOINT = '{"version":3,"checkpoint":{"stack":"organization/nestlab/dev"}}\n';

beforeEach(async () => {
  s = await scratch();
  oldState = path.join(s.home, ".cache/nestlab/state");
  oldHome = path.join(s.home, ".cache/nestlab/pulumi-home");
  newState = path.join(s.home, ".local/state/nestlab/backend");
  newHome = path.join(s.home, ".local/state/nestlab/pulumi-home");
});

afterEach(() => s.remove());

/** Sources env.sh as every script does; prints the backend and Pulumi's home. */
function sourceEnv(extra: Record<string, string> = {}) {
  return runClean(
    [
      "bash",
      "-c",
      '. scripts/setup/env.sh || exit 1; printf "%s\\n" "$PULUMI_BACKEND_URL" "$PULUMI_HOME"',
    ],
    { cwd: s.project, env: { HOME: s.home, PATH: s.bin, ...extra } },
  );
}

async function writeFile(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
}

it("moves a state from the cache once, saying so, and then leaves it alone", async () => {
  await writeFile(path.join(oldState, ".pulumi/stacks/nestlab/dev.json"), CHECKPOINT);
  await writeFile(path.join(oldHome, "workspaces/nestlab-workspace.json"), '{"stack":"dev"}\n');

  const first = await sourceEnv();
  expect(first.stderr).toBe(
    `setup: moved the stacks' state from ${oldState} to ${newState} (a cache folder is emptied by cache cleaners)\n` +
      `setup: moved Pulumi's home (logins, selected stacks) from ${oldHome} to ${newHome} (a cache folder is emptied by cache cleaners)\n`,
  );
  expect(first.exitCode).toBe(0);
  expect(first.stdout).toBe(`file://${newState}\n${newHome}\n`);
  expect(await fs.readFile(path.join(newState, ".pulumi/stacks/nestlab/dev.json"), "utf8")).toBe(
    CHECKPOINT,
  );
  expect(await fs.readFile(path.join(newHome, "workspaces/nestlab-workspace.json"), "utf8")).toBe(
    '{"stack":"dev"}\n',
  );
  expect(await tree(path.join(s.home, ".cache"))).toEqual(["nestlab/"]);
  expect(await modeOf(path.dirname(newState))).toBe("700");

  const second = await sourceEnv();
  expect(second.stderr).toBe("");
  expect(second.exitCode).toBe(0);
  expect(await tree(path.dirname(newState))).toEqual([
    "backend/",
    "backend/.pulumi/",
    "backend/.pulumi/stacks/",
    "backend/.pulumi/stacks/nestlab/",
    "backend/.pulumi/stacks/nestlab/dev.json",
    "pulumi-home/",
    "pulumi-home/workspaces/",
    "pulumi-home/workspaces/nestlab-workspace.json",
  ]);
});

it("refuses a state in both places, naming both, and changes neither", async () => {
  await writeFile(path.join(oldState, ".pulumi/stacks/nestlab/dev.json"), CHECKPOINT);
  await writeFile(path.join(newState, ".pulumi/stacks/nestlab/lab.json"), "{}\n");

  const r = await sourceEnv();
  expect(r.stderr).toBe(
    `setup: error: the stacks' state is in two places: ${oldState} (where earlier versions kept it, in the cache) and ${newState}. Keep the one that holds your stacks: move the other out of the way, then run again.\n`,
  );
  expect(r.exitCode).toBe(1);
  expect(await tree(oldState)).toEqual([
    ".pulumi/",
    ".pulumi/stacks/",
    ".pulumi/stacks/nestlab/",
    ".pulumi/stacks/nestlab/dev.json",
  ]);
  expect(await tree(newState)).toEqual([
    ".pulumi/",
    ".pulumi/stacks/",
    ".pulumi/stacks/nestlab/",
    ".pulumi/stacks/nestlab/lab.json",
  ]);
});

it("removes an empty state folder of earlier versions without a word", async () => {
  await fs.mkdir(oldState, { recursive: true });
  await fs.mkdir(oldHome, { recursive: true });
  const r = await sourceEnv();
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  expect(await tree(path.join(s.home, ".cache"))).toEqual(["nestlab/"]);
});

it("drops a Pulumi home of earlier versions that holds only logs, saying so, beside one in use", async () => {
  // An older checkout run once (even `pulumi version`) leaves a log there.
  await writeFile(path.join(oldHome, "logs/pulumi-version.log"), "log\n");
  await writeFile(path.join(newHome, "workspaces/nestlab-workspace.json"), '{"stack":"dev"}\n');

  const r = await sourceEnv();
  expect(r.stderr).toBe(
    `setup: removed ${oldHome}: earlier versions kept Pulumi's home (logins, selected stacks) there, and it held only logs\n`,
  );
  expect(r.exitCode).toBe(0);
  expect(await tree(path.join(s.home, ".cache"))).toEqual(["nestlab/"]);
  expect(await tree(newHome)).toEqual(["workspaces/", "workspaces/nestlab-workspace.json"]);
});

it("moves nothing when PULUMI_BACKEND_URL and PULUMI_HOME name other places", async () => {
  await writeFile(path.join(oldState, ".pulumi/stacks/nestlab/dev.json"), CHECKPOINT);
  await writeFile(path.join(oldHome, "credentials.json"), "{}\n");
  const backend = path.join(s.root, "elsewhere");
  const r = await sourceEnv({
    PULUMI_BACKEND_URL: `file://${backend}`,
    PULUMI_HOME: path.join(s.root, "pulumi-home"),
  });
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toBe(`file://${backend}\n${path.join(s.root, "pulumi-home")}\n`);
  expect(await tree(path.join(s.home, ".cache/nestlab"))).toEqual([
    "pulumi-home/",
    "pulumi-home/credentials.json",
    "state/",
    "state/.pulumi/",
    "state/.pulumi/stacks/",
    "state/.pulumi/stacks/nestlab/",
    "state/.pulumi/stacks/nestlab/dev.json",
  ]);
});

it("follows XDG_STATE_HOME and NESTLAB_CACHE", async () => {
  const cache = path.join(s.root, "cache");
  const xdg = path.join(s.root, "xdg-state");
  await writeFile(path.join(cache, "state/.pulumi/stacks/nestlab/dev.json"), CHECKPOINT);
  const r = await sourceEnv({ NESTLAB_CACHE: cache, XDG_STATE_HOME: xdg });
  expect(r.stderr).toBe(
    `setup: moved the stacks' state from ${cache}/state to ${xdg}/nestlab/backend (a cache folder is emptied by cache cleaners)\n`,
  );
  expect(r.stdout).toBe(`file://${xdg}/nestlab/backend\n${xdg}/nestlab/pulumi-home\n`);
  expect(
    await fs.readFile(path.join(xdg, "nestlab/backend/.pulumi/stacks/nestlab/dev.json"), "utf8"),
  ).toBe(CHECKPOINT);
});

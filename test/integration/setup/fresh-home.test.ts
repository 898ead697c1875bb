/**
 * The set-up on a machine whose home is empty (no ~/.cache, no ~/.local):
 * every folder a script writes into is made first, and each thing lands where
 * it belongs (the cache in ~/.cache/nestlab, the stacks' state in
 * ~/.local/state/nestlab), with nothing else written in the home. qemu-img is
 * hidden and apt-get replaced by a recorder, so host.sh really takes its
 * install path. About 5 s.
 */
import { promises as fs } from "fs";
import * as path from "path";
import { fakeProgram, modeOf, runClean, scratch, Scratch, tree } from "./support";

// Each test runs the scripts and the CLI several times, a second or two each.
jest.setTimeout(120_000);

let s: Scratch;
let aptCalls: string;

beforeEach(async () => {
  s = await scratch({ hide: ["qemu-img"] });
  aptCalls = path.join(s.root, "apt-calls");
  await fakeProgram(
    s.bin,
    "apt-get",
    `echo "$*" >>'${aptCalls}'\necho "Setting up qemu-utils (recorded, not installed)"\n`,
  );
});

afterEach(() => s.remove());

const env = (): Record<string, string> => ({ HOME: s.home, PATH: s.bin });

it("installs a missing package with its apt log inside the cache folder", async () => {
  const r = await runClean(["bash", "scripts/setup/host.sh"], { cwd: s.project, env: env() });

  expect(r.stderr).toBe(
    "setup: installing qemu-utils\nsetup: libvirtd answers at qemu:///system\n",
  );
  expect(r.exitCode).toBe(0);
  expect(await fs.readFile(aptCalls, "utf8")).toBe(
    "update -qq\ninstall -y -qq --no-install-recommends qemu-utils\n",
  );
  expect(await tree(s.home)).toEqual([".cache/", ".cache/nestlab/", ".cache/nestlab/apt.log"]);
  expect(await fs.readFile(path.join(s.home, ".cache/nestlab/apt.log"), "utf8")).toBe(
    "Setting up qemu-utils (recorded, not installed)\n",
  );
});

it("env.sh puts the state and Pulumi's home in ~/.local/state/nestlab, readable only by the user", async () => {
  const r = await runClean(
    ["bash", "-c", '. scripts/setup/env.sh && printf "%s\\n" "$PULUMI_BACKEND_URL" "$PULUMI_HOME"'],
    { cwd: s.project, env: env() },
  );

  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  const state = path.join(s.home, ".local/state/nestlab");
  expect(r.stdout).toBe(`file://${state}/backend\n${state}/pulumi-home\n`);
  expect(await tree(s.home)).toEqual([
    ".local/",
    ".local/state/",
    ".local/state/nestlab/",
    ".local/state/nestlab/backend/",
    ".local/state/nestlab/pulumi-home/",
  ]);
  expect(await modeOf(state)).toBe("700");
});

it("npm run pulumi makes the dev stack in that state, and writes nowhere else in the home", async () => {
  const devConfig = await fs.readFile(path.join(s.project, "stacks/Pulumi.dev.yaml"));

  const select = await runClean(
    ["bash", "scripts/pulumi.sh", "stack", "select", "--create", "dev"],
    {
      cwd: s.project,
      env: env(),
    },
  );
  expect(select.stderr).toBe("Created stack 'dev'\n");
  expect(select.exitCode).toBe(0);
  const ls = await runClean(["bash", "scripts/pulumi.sh", "stack", "ls", "--json"], {
    cwd: s.project,
    env: env(),
  });
  expect(ls.exitCode).toBe(0);
  expect(JSON.parse(ls.stdout)).toEqual([expect.objectContaining({ name: "dev", current: true })]);

  const state = path.join(s.home, ".local/state/nestlab");
  expect(await tree(s.home, 3)).toEqual([".local/", ".local/state/", ".local/state/nestlab/"]);
  expect(await tree(state, 1)).toEqual(["backend/", "pulumi-home/"]);
  expect(
    (await fs.stat(path.join(state, "backend/.pulumi/stacks/nestlab/dev.json"))).isFile(),
  ).toBe(true);
  // The committed stack file is used as it is.
  expect(await fs.readFile(path.join(s.project, "stacks/Pulumi.dev.yaml"))).toEqual(devConfig);
});

/**
 * The dev stack's public passphrase is used for the dev stack only: every
 * other way of naming a stack (the --stack flag in each spelling, the name
 * given to `stack init`/`stack select`, PULUMI_STACK, the selected stack,
 * NESTLAB_STACK for `npm run up`) stops without a passphrase of the user's
 * own, before anything is encrypted. The real CLI in a backend under an empty
 * home; about 40 s.
 */
import { promises as fs } from "fs";
import * as path from "path";
import { runClean, scratch, Scratch } from "./support";

// Each test runs the scripts and the CLI several times, a second or two each.
jest.setTimeout(120_000);

const refusal = (stack: string): string =>
  `setup: error: the stack "${stack}" needs a passphrase of its own for its secrets (SSH keys, VNC password): "nestlab-dev" is public and is for the dev stack only, and an empty one protects nothing. Set yours and run again, e.g. export PULUMI_CONFIG_PASSPHRASE_FILE=~/.config/nestlab/${stack.split("/").pop()}.passphrase (a file only you can read), or export PULUMI_CONFIG_PASSPHRASE=...\n`;

let s: Scratch;

beforeAll(async () => {
  s = await scratch();
});

afterAll(() => s?.remove());

function npmRunPulumi(args: readonly string[], extra: Record<string, string> = {}) {
  return runClean(["bash", "scripts/pulumi.sh", ...args], {
    cwd: s.project,
    env: { HOME: s.home, PATH: s.bin, ...extra },
  });
}

/** The stacks in the backend, read with a passphrase-free command. */
async function stacks(): Promise<string[]> {
  const r = await npmRunPulumi(["stack", "ls", "--json"]);
  expect(r.stderr).toBe("");
  return (JSON.parse(r.stdout) as { name: string }[]).map((x) => x.name).sort();
}

async function stackFiles(): Promise<string[]> {
  return (await fs.readdir(path.join(s.project, "stacks"))).sort();
}

describe("without a passphrase, a stack other than dev is never made", () => {
  it.each([
    [["stack", "init", "staging"]],
    [["stack", "select", "--create", "staging"]],
    [["stack", "init", "--stack", "staging"]],
    [["stack", "init", "--stack=staging"]],
    [["stack", "init", "-s", "staging"]],
    [["stack", "init", "-sstaging"]],
    [["stack", "init", "-s=staging"]],
    [["--color", "never", "stack", "init", "--secrets-provider", "passphrase", "staging"]],
    [["stack", "select", "-c", "organization/nestlab/staging"]],
  ])("npm run pulumi -- %j stops and says how to set one", async (args) => {
    const r = await npmRunPulumi(args);
    expect(r.stderr).toBe(
      refusal(
        args.includes("organization/nestlab/staging") ? "organization/nestlab/staging" : "staging",
      ),
    );
    expect(r.exitCode).toBe(1);
    expect(await stacks()).toEqual([]);
    expect(await stackFiles()).toEqual(["Pulumi.dev.yaml", "Pulumi.lab.yaml"]);
  });

  it.each([
    ["the dev stack's public one", { PULUMI_CONFIG_PASSPHRASE: "nestlab-dev" }],
    ["an empty one", { PULUMI_CONFIG_PASSPHRASE: "" }],
    ["the public one in a file", { PULUMI_CONFIG_PASSPHRASE_FILE: "dev.passphrase" }],
  ])("nor with %s", async (_what, env) => {
    await fs.writeFile(path.join(s.project, "dev.passphrase"), "nestlab-dev\n");
    const r = await npmRunPulumi(["stack", "init", "staging"], env);
    expect(r.stderr).toBe(refusal("staging"));
    expect(r.exitCode).toBe(1);
    expect(await stacks()).toEqual([]);
  });

  it("short flags run together (-cs staging) are left to the CLI, which asks for the passphrase itself", async () => {
    const r = await npmRunPulumi(["stack", "select", "-cs", "staging"]);
    expect(r.stderr).toMatch(
      /passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables/,
    );
    expect(r.exitCode).toBe(1);
    expect(await stacks()).toEqual([]);
  });

  it("NESTLAB_STACK=staging npm run up stops at once, before the set-up", async () => {
    const started = Date.now();
    const r = await runClean(["bash", "scripts/up.sh"], {
      cwd: s.project,
      env: { HOME: s.home, PATH: s.bin, NESTLAB_STACK: "staging" },
    });
    expect(r.stderr).toBe(refusal("staging"));
    expect(r.exitCode).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await stacks()).toEqual([]);
  });
});

describe("a stack made with the user's own passphrase", () => {
  const own = { PULUMI_CONFIG_PASSPHRASE: "correct horse battery staple" };

  beforeAll(async () => {
    const r = await npmRunPulumi(["stack", "init", "staging"], own);
    expect(r.stderr).toBe("Created stack 'staging'\n");
    expect(r.exitCode).toBe(0);
  });

  it("is selected, and a command on the selected stack needs that passphrase", async () => {
    const r = await npmRunPulumi(["config", "set", "--secret", "nestlab:probe", "x"]);
    expect(r.stderr).toBe(refusal("staging"));
    expect(r.exitCode).toBe(1);
  });

  it("PULUMI_STACK names it too", async () => {
    await expect(npmRunPulumi(["stack", "select", "dev", "--create"])).resolves.toMatchObject({
      exitCode: 0,
    });
    const r = await npmRunPulumi(["config", "set", "--secret", "nestlab:probe", "x"], {
      PULUMI_STACK: "staging",
    });
    expect(r.stderr).toBe(refusal("staging"));
    expect(r.exitCode).toBe(1);
  });

  it("works with it, from a file", async () => {
    await fs.writeFile(path.join(s.project, "own.passphrase"), `${own.PULUMI_CONFIG_PASSPHRASE}\n`);
    const r = await npmRunPulumi(
      ["config", "set", "--secret", "nestlab:probe", "x", "--stack", "staging"],
      { PULUMI_CONFIG_PASSPHRASE_FILE: "own.passphrase" },
    );
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const back = await npmRunPulumi(["config", "get", "nestlab:probe", "-s", "staging"], own);
    expect(back.stdout).toBe("x\n");
    // The public passphrase does not open it.
    const publicOne = await npmRunPulumi(["config", "get", "nestlab:probe", "-s", "staging"], {
      PULUMI_CONFIG_PASSPHRASE: "nestlab-dev",
    });
    expect(publicOne.exitCode).not.toBe(0);
  });

  it("the dev stack keeps its public passphrase by default, named or selected", async () => {
    const named = await npmRunPulumi([
      "config",
      "set",
      "--secret",
      "nestlab:probe",
      "d",
      "-s",
      "dev",
    ]);
    expect(named.stderr).toBe("");
    expect(named.exitCode).toBe(0);
    const selected = await npmRunPulumi(["config", "get", "nestlab:probe"]);
    expect(selected.stdout).toBe("d\n");
    expect(selected.exitCode).toBe(0);
    const plain = await runClean(
      ["pulumi", "config", "get", "nestlab:probe", "--stack", "dev", "--non-interactive"],
      {
        cwd: s.project,
        env: {
          HOME: s.home,
          PATH: s.bin,
          PULUMI_CONFIG_PASSPHRASE: "nestlab-dev",
          PULUMI_HOME: path.join(s.home, ".local/state/nestlab/pulumi-home"),
          PULUMI_BACKEND_URL: `file://${path.join(s.home, ".local/state/nestlab/backend")}`,
        },
      },
    );
    expect(plain.stdout).toBe("d\n");
    expect(await stacks()).toEqual(["dev", "staging"]);
  });
});

it("the lab stack's committed settings take the user's own passphrase", async () => {
  const r = await npmRunPulumi(["stack", "init", "lab"], {
    PULUMI_CONFIG_PASSPHRASE: "correct horse battery staple",
  });
  expect(r.stderr).toBe("Created stack 'lab'\n");
  expect(r.exitCode).toBe(0);
  expect(await stacks()).toEqual(["dev", "lab", "staging"]);
});

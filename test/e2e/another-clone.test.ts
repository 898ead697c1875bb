import { execFileSync } from "child_process";
import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
} from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_DIR, throwawayStack, ThrowawayStack } from "./harness";
import { makeDirPool, poolVolumes } from "../support/virsh";
import { makeVmdkChainSync } from "../support/vmdk-chain";

// Where the providers' code is loaded from: a volume made by one clone of the
// project is refreshed and destroyed by a second clone at another path, the
// first one deleted by then. The state names no folder of either.

jest.setTimeout(600_000);

const work = mkdtempSync(path.join(os.tmpdir(), "nlt-clones-"));
const first = path.join(work, "first", "nestlab");
const second = path.join(work, "elsewhere", "checkout", "nestlab");
const program = (clone: string) => path.join(clone, "test", "e2e", "volume", "program");
const src = path.join(work, "src");
const poolPath = path.join(work, "pool");
let pool: { name: string; remove(): void };
let stack: ThrowawayStack;

/**
 * A copy of the project's files as they are in the working tree (tracked and
 * new ones, not the ignored ones), with node_modules linked from this one.
 */
function cloneProject(to: string): void {
  const files = execFileSync(
    "git",
    ["-C", PROJECT_DIR, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    { encoding: "utf8" },
  )
    .split("\0")
    .filter((f) => f && lstatSync(path.join(PROJECT_DIR, f), { throwIfNoEntry: false })?.isFile());
  for (const f of files) {
    mkdirSync(path.dirname(path.join(to, f)), { recursive: true });
    cpSync(path.join(PROJECT_DIR, f), path.join(to, f));
  }
  symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(to, "node_modules"));
}

/** The resources of the stack's state, as `pulumi stack export` gives them. */
async function stateResources(): Promise<{ type: string; outputs?: Record<string, unknown> }[]> {
  const exported = await stack.stack.exportStack();
  return exported.deployment.resources ?? [];
}

beforeAll(async () => {
  mkdirSync(src);
  makeVmdkChainSync(src);
  pool = makeDirPool(`nlt-clones-${process.pid}`, poolPath);
  cloneProject(first);
  cloneProject(second);
});

afterAll(async () => {
  try {
    await stack?.dispose();
  } finally {
    pool?.remove();
    rmSync(work, { recursive: true, force: true });
  }
});

test("up from one clone; refresh, preview and destroy from another at another path, the first deleted", async () => {
  stack = await throwawayStack({
    workDir: program(first),
    config: {
      source: path.join(src, "RHEL7_Server-000002.vmdk"),
      pool: pool.name,
      volumeName: "clone.qcow2",
    },
  });
  const up = await stack.stack.up({ onOutput: () => undefined });
  expect(up.summary.result).toBe("succeeded");
  expect(poolVolumes(pool.name)).toEqual(["clone.qcow2"]);
  // The state holds the provider's id, no folder of this clone or of the project.
  const volume = (await stateResources()).find(
    (r) => r.type === "pulumi-nodejs:dynamic/nestlab:ConvertedVolume",
  );
  const forwarder = String(volume?.outputs?.__provider);
  expect(forwarder).toContain('"components/volume/provider"');
  expect(forwarder).not.toContain(first);
  expect(forwarder).not.toContain(PROJECT_DIR);

  // The second clone has the stack's settings file, as a committed one would be.
  const settings = `Pulumi.${stack.stack.name}.yaml`;
  copyFileSync(path.join(program(first), settings), path.join(program(second), settings));
  rmSync(path.join(work, "first"), { recursive: true, force: true });
  await stack.moveTo(program(second));

  const refresh = await stack.stack.refresh({ onOutput: () => undefined });
  expect(refresh.summary.result).toBe("succeeded");
  const preview = await stack.stack.preview({ onOutput: () => undefined });
  expect(preview.changeSummary).toEqual({ same: 3 });

  const destroy = await stack.stack.destroy({ onOutput: () => undefined });
  expect(destroy.summary.result).toBe("succeeded");
  expect(poolVolumes(pool.name)).toEqual([]);
  expect(existsSync(path.join(poolPath, "clone.qcow2"))).toBe(false);
  expect(await stateResources()).toEqual([]);
});

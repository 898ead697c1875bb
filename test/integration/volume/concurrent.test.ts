import { chmodSync, existsSync, readdirSync, writeFileSync } from "fs";
import * as path from "path";
import { provider } from "../../../components/volume/provider";
import {
  checkAndCreate,
  HOST,
  identical,
  makePool,
  rmrf,
  seedChain,
  sh,
  volumes,
  workDir,
} from "./helpers";

// Two conversions of one volume name into one pool at once (two stacks, two
// terminals). The first is held inside its `qemu-img convert` by a wrapper
// found first on PATH, so the second always arrives while the first writes.

jest.setTimeout(120_000);

const dir = workDir("concurrent");
const pool = makePool(dir, "concurrent");
const src = path.join(dir, "src");
const bin = path.join(dir, "bin");
const gate = path.join(dir, "gate");
sh(["mkdir", "-p", src, bin]);
const savedPath = process.env.PATH;

beforeAll(() => {
  // The first `qemu-img convert` says it started, then waits for the gate to open.
  const real = sh(["sh", "-c", "command -v qemu-img"]).trim();
  writeFileSync(
    path.join(bin, "qemu-img"),
    `#!/bin/sh
if [ "$1" = convert ] && mkdir "${gate}.first" 2>/dev/null; then
  : > "${gate}.waiting"
  while [ ! -e "${gate}.open" ]; do sleep 0.1; done
fi
exec "${real}" "$@"
`,
  );
  chmodSync(path.join(bin, "qemu-img"), 0o755);
  process.env.PATH = `${bin}:${savedPath}`;
});

afterAll(() => {
  process.env.PATH = savedPath;
  writeFileSync(`${gate}.open`, "");
  pool.remove();
  rmrf(dir);
});

async function until(what: string, test: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const partials = () => readdirSync(pool.path).filter((n) => n.includes(".nestlab-partial-"));

test("the second conversion of a volume name fails clearly, and neither removes the other's file in flight", async () => {
  const { top } = seedChain(src, 64);
  const first = checkAndCreate({ source: top, pool: pool.name, volumeName: "same.qcow2" });
  first.catch(() => undefined); // awaited below
  await until("the first conversion to start writing", () => existsSync(`${gate}.waiting`));
  const inFlight = partials();
  expect(inFlight).toHaveLength(1);

  const lockFile = path.join(pool.path, ".same.qcow2.nestlab-lock");
  const [second, deleted] = await Promise.allSettled([
    checkAndCreate({ source: top, pool: pool.name, volumeName: "same.qcow2" }),
    // A volume of that name made earlier and deleted now: its leftovers are removed, never a file in flight.
    provider.delete("id", {
      host: HOST,
      resourceName: "old",
      source: top,
      pool: pool.name,
      volumeName: "same.qcow2",
      path: path.join(pool.path, "same.qcow2"),
      fileId: "1:2:3",
    } as never),
  ]);
  expect(second).toEqual({
    status: "rejected",
    reason: expect.objectContaining({
      message:
        `volumeName: another conversion is writing "same.qcow2" into pool "${pool.name}" on this machine right now ` +
        `(it holds ${lockFile}). Wait until it has ended, then run again: a volume it made is never overwritten.`,
    }),
  });
  expect(deleted).toEqual({ status: "fulfilled", value: undefined });
  expect(partials()).toEqual(inFlight);

  writeFileSync(`${gate}.open`, "");
  const made = await first;
  expect(identical(top, "vmdk", made.outs.path as string, "qcow2")).toBe(true);
  // Nothing left beside the volume: no partial file, no lock file.
  expect(readdirSync(pool.path)).toEqual(["same.qcow2"]);
  expect(volumes(pool.name)).toEqual(["same.qcow2"]);
});

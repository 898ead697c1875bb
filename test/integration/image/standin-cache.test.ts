/**
 * The stand-in build's cache: a second call finds the image in seconds, and a
 * failed build leaves no image in the cache and names the step that failed
 * with the tool's last lines.
 */
import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { spawnCollect } from "../../../components/host/spawn";
import { ensureStandinImage } from "../../support/standin";

const SCRIPTS = path.resolve(__dirname, "../../../scripts/image");
const MINUTE = 60 * 1000;

let workDir: string;

beforeAll(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "nlt-image-cache-"));
});

afterAll(async () => {
  if (workDir) await fs.rm(workDir, { recursive: true, force: true });
});

it(
  "finds a built image in the cache within seconds",
  async () => {
    const image = await ensureStandinImage();
    const started = Date.now();
    const result = await spawnCollect(["bash", path.join(SCRIPTS, "standin.sh")]);
    const seconds = (Date.now() - started) / 1000;
    console.log(`stand-in cache hit in ${seconds.toFixed(2)} s`);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim().split("\n").pop()).toBe(image.dir);
    expect(result.stderr).toMatch(/^standin: cached: /m);
    expect(seconds).toBeLessThan(10);
  },
  50 * MINUTE,
);

it(
  "leaves no image in the cache when a step fails, and names the step and the tool's last lines",
  async () => {
    // A copy of the build whose package list names a package Debian lacks.
    const scripts = path.join(workDir, "scripts");
    await fs.cp(SCRIPTS, scripts, { recursive: true });
    await fs.appendFile(path.join(scripts, "packages.txt"), "nlt-image-no-such-package\n");
    const cache = path.join(workDir, "cache");

    const result = await spawnCollect(["bash", path.join(scripts, "standin.sh")], {
      env: { NESTLAB_CACHE: cache },
      timeoutMs: 15 * MINUTE,
    });

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      /^standin: step rootfs failed \(exit \d+\); last lines of its log:$/m,
    );
    expect(result.stderr).toMatch(/nlt-image-no-such-package/);
    const entries = await fs.readdir(cache);
    // The deb cache, the lock and the failed step's log; no image folder, no build folder.
    const kept = entries.filter((name) => name.startsWith("standin-") && !name.endsWith(".lock"));
    expect(kept).toHaveLength(2);
    expect(kept).toContain("standin-debs");
    expect(kept).toContainEqual(expect.stringMatching(/^standin-[0-9a-f]{16}\.failed\.log$/));
    expect(entries.filter((name) => name.startsWith(".standin-"))).toEqual([]);
    const failedLog = entries.find((name) => name.endsWith(".failed.log"));
    expect(await fs.readFile(path.join(cache, failedLog!), "utf8")).toMatch(
      /nlt-image-no-such-package/,
    );
  },
  15 * MINUTE,
);

it(
  "removes images of older inputs an hour old, and keeps the package cache and the newest",
  async () => {
    const { key } = await ensureStandinImage();
    const cache = path.join(workDir, "publish");
    const newest = path.join(cache, `standin-${key}`);
    await fs.mkdir(newest, { recursive: true });
    await fs.writeFile(path.join(newest, "build.env"), `key=${key}\n`);
    const debs = path.join(cache, "standin-debs");
    const older = path.join(cache, "standin-0123456789abcdef");
    await fs.mkdir(debs);
    await fs.writeFile(path.join(debs, "xfsprogs_6.1.0-1_amd64.deb"), "deb");
    await fs.mkdir(older);
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * MINUTE);
    for (const dir of [debs, older, newest]) await fs.utimes(dir, twoHoursAgo, twoHoursAgo);

    const result = await spawnCollect(["bash", path.join(SCRIPTS, "standin.sh")], {
      env: { NESTLAB_CACHE: cache },
    });

    expect(result.stderr).toBe(`standin: cached: ${newest}\n`);
    expect(result.exitCode).toBe(0);
    expect((await fs.readdir(cache)).sort()).toEqual(
      [`standin-${key}`, "standin", "standin-debs"].sort(),
    );
    expect(await fs.readdir(debs)).toEqual(["xfsprogs_6.1.0-1_amd64.deb"]);
    expect(await fs.readlink(path.join(cache, "standin/current"))).toBe(newest);
  },
  50 * MINUTE,
);

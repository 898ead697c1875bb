import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "fs";
import * as os from "os";
import * as path from "path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { throwawayStack, ThrowawayStack } from "../harness";
import { startS3Server, S3Server } from "../../support/s3-server";
import { makeDirPool, poolVolumes } from "../../support/virsh";
import { makeVmdkChainSync } from "../../support/vmdk-chain";

// A team's shared state: a stack (the volume e2e program, one ConvertedVolume)
// on a real S3-compatible server started here (SeaweedFS), through the real
// engine. The state is an object in the bucket; a second `up` of the same
// stack while one runs is refused by the backend's lock, and the first goes on.

jest.setTimeout(300_000);

const PROJECT = "nestlab-volume-e2e";
const dir = mkdtempSync(path.join(os.tmpdir(), "nlt-s3-e2e-"));
const poolName = `nlt-s3-e2e-${process.pid}`;
let s3: S3Server;
let pool: { remove(): void };
let stack: ThrowawayStack | undefined;
let top: string;

beforeAll(async () => {
  ({ top } = makeVmdkChainSync(dir));
  pool = makeDirPool(poolName, path.join(dir, "pool"));
  s3 = await startS3Server();
  process.stdout.write(
    `S3 server (SeaweedFS) started, bucket made: ${s3.startSeconds.toFixed(1)} s\n`,
  );
}, 600_000);

afterAll(async () => {
  await stack?.dispose();
  pool?.remove();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function objectText(key: string): Promise<string> {
  const r = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return r.Body!.transformToString();
}

test("up on an S3 backend, the state in the bucket; a second up at the same time is refused by the lock; destroy", async () => {
  stack = await throwawayStack({
    workDir: path.join(__dirname, "../volume/program"),
    config: { source: top, pool: poolName, volumeName: "s3.qcow2" },
    backend: { url: s3.backendUrl, env: s3.env },
  });
  const { name } = stack.stack;
  const stateKey = `.pulumi/stacks/${PROJECT}/${name}.json`;
  const lockDir = `.pulumi/locks/organization/${PROJECT}/${name}/`;

  const first = await stack.stack.up({ onOutput: () => undefined });
  expect(first.summary.result).toBe("succeeded");
  expect(poolVolumes(poolName)).toEqual(["s3.qcow2"]);
  // The state is the bucket's object, and names the volume.
  // (the engine keeps the state before the last write beside it)
  expect(await s3.keys(`.pulumi/stacks/`)).toEqual([stateKey, `${stateKey}.bak`]);
  const state = JSON.parse(await objectText(stateKey));
  const urns: string[] = state.checkpoint.latest.resources.map((r: { urn: string }) => r.urn);
  expect(urns).toContain(
    `urn:pulumi:${name}::${PROJECT}::nestlab:volume:ConvertedVolume$pulumi-nodejs:dynamic/nestlab:ConvertedVolume::e2e-disk`,
  );
  expect(await s3.keys(lockDir)).toEqual([]);

  // Two ups of the same stack: the second starts while the first holds the lock.
  await stack.stack.setConfig("volumeName", { value: "s3-second.qcow2" });
  const other = await stack.another();
  const running = stack.stack.up({ onOutput: () => undefined });
  const deadline = Date.now() + 60_000;
  let locks: string[] = [];
  while (locks.length === 0 && Date.now() < deadline) {
    locks = await s3.keys(lockDir);
    if (locks.length === 0) await new Promise((r) => setTimeout(r, 50));
  }
  expect(locks).toHaveLength(1);
  const refused = await other.up({ onOutput: () => undefined }).then(
    () => undefined,
    (e: Error) => e,
  );
  const done = await running;
  expect(done.summary.result).toBe("succeeded");
  expect(refused).toBeDefined();
  const message = String(refused?.message);
  expect(message).toContain(
    "the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.",
  );
  expect(message).toContain(`s3://${s3.bucket}/${locks[0]}`);
  // Only the first changed the lab, and the lock is gone with it.
  expect(poolVolumes(poolName)).toEqual(["s3-second.qcow2"]);
  expect(await s3.keys(lockDir)).toEqual([]);

  const destroyed = await stack.stack.destroy({ onOutput: () => undefined });
  expect(destroyed.summary.result).toBe("succeeded");
  expect(poolVolumes(poolName)).toEqual([]);
  // The stack removed: its state and history gone from the bucket (`stack rm` keeps one backup).
  await stack.dispose();
  stack = undefined;
  expect(await s3.keys(`.pulumi/stacks/`)).toEqual([`${stateKey}.bak`]);
  expect(await s3.keys(`.pulumi/history/`)).toEqual([]);

  // The server stops leaving nothing: no process, folder, socket or listener.
  const seconds = await s3.stop();
  process.stdout.write(`S3 server stopped in ${seconds.toFixed(1)} s\n`);
  expect(existsSync(`/proc/${s3.pid}`)).toBe(false);
  expect(existsSync(s3.dir)).toBe(false);
  expect(
    readdirSync("/tmp").filter(
      (f) => /^seaweedfs-/.test(f) && s3.ports.some((p) => f.includes(String(p))),
    ),
  ).toEqual([]);
  const listening = readFileSync("/proc/net/tcp", "utf8");
  for (const port of s3.ports) {
    expect(listening).not.toMatch(
      new RegExp(`:${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 0A`),
    );
  }
});

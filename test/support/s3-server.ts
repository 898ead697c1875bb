/**
 * A real S3-compatible server on this machine for tests of a shared state
 * backend: SeaweedFS (`weed server -s3`), built once from the Go module proxy
 * by scripts/setup/seaweedfs.sh and cached, started on 127.0.0.1 with free
 * ports, a temporary data folder and S3 credentials of its own, with one
 * bucket made through the S3 API.
 *
 * ```ts
 * const s3 = await startS3Server();          // a few seconds
 * // the engine: PULUMI_BACKEND_URL = s3.backendUrl, with s3.env (the credentials)
 * await s3.keys(".pulumi/");                 // what the engine wrote, read through S3
 * await s3.stop();                           // in afterAll: no process, no folder left
 * ```
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import { existsSync, promises as fs, readFileSync } from "fs";
import * as os from "os";
import * as path from "path";
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  ListObjectsV2CommandOutput,
  S3Client,
} from "@aws-sdk/client-s3";
import { freePort } from "./ports";

const SETUP = path.resolve(__dirname, "../../scripts/setup/seaweedfs.sh");
const REGION = "us-east-1";
const READY_TIMEOUT_MS = 60_000;
/** Its data is thrown away: no need to wait long for a clean shutdown. */
const STOP_GRACE_MS = 3000;

export interface S3Server {
  /** http://127.0.0.1:PORT, the S3 API. */
  readonly endpoint: string;
  /** The bucket made for the test. */
  readonly bucket: string;
  /** The S3 credentials and region, as the engine reads them from its environment. */
  readonly env: {
    readonly AWS_ACCESS_KEY_ID: string;
    readonly AWS_SECRET_ACCESS_KEY: string;
    readonly AWS_REGION: string;
  };
  /** The Pulumi backend URL of the bucket (gocloud.dev's s3 URL, path-style, plain HTTP). */
  readonly backendUrl: string;
  /** An S3 client with the credentials. */
  readonly client: S3Client;
  /** The weed process id, and the seconds from its start to the bucket made. */
  readonly pid: number;
  readonly startSeconds: number;
  /** The temporary folder (data, configuration, log). */
  readonly dir: string;
  /** Every TCP port it listens on (127.0.0.1 only). */
  readonly ports: readonly number[];
  /** The bucket's object keys under `prefix`, sorted, read through the S3 API. */
  keys(prefix?: string): Promise<string[]>;
  /** Stops the server (TERM, then KILL after 3 s) and removes its folder; idempotent; returns the seconds it took. */
  stop(): Promise<number>;
}

/** The cached `weed` binary, built first if needed (minutes, once per machine). */
export function ensureSeaweedFs(): string {
  const r = spawnSync("bash", [SETUP], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`scripts/setup/seaweedfs.sh failed: ${r.stderr.trim()}`);
  const bin = r.stdout.trim();
  if (!existsSync(bin))
    throw new Error(`scripts/setup/seaweedfs.sh printed no binary: ${r.stdout}`);
  return bin;
}

/** The Pulumi backend URL of a bucket on an S3-compatible server at `endpoint` (http://host:port). */
export function s3BackendUrl(bucket: string, endpoint: string, region = REGION): string {
  // Servers other than AWS may send no response checksum: the SDK then warns on every read.
  const q = new URLSearchParams({
    endpoint,
    region,
    use_path_style: "true",
    response_checksum_validation: "when_required",
  });
  return `s3://${bucket}?${q.toString()}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts SeaweedFS with S3 on 127.0.0.1 and makes a bucket; see the module's comment. */
export async function startS3Server(options: { bucket?: string } = {}): Promise<S3Server> {
  const weed = ensureSeaweedFs();
  const started = Date.now();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "nlt-s3-"));
  const bucket = options.bucket ?? `nlt-state-${process.pid}`;
  const env = {
    AWS_ACCESS_KEY_ID: `nlt${randomBytes(8).toString("hex")}`,
    AWS_SECRET_ACCESS_KEY: randomBytes(24).toString("hex"),
    AWS_REGION: REGION,
  };
  // Only these credentials may use the S3 API (no anonymous access).
  await fs.writeFile(
    path.join(dir, "s3.json"),
    JSON.stringify({
      identities: [
        {
          name: "nestlab-test",
          credentials: [{ accessKey: env.AWS_ACCESS_KEY_ID, secretKey: env.AWS_SECRET_ACCESS_KEY }],
          actions: ["Admin", "Read", "List", "Tagging", "Write"],
        },
      ],
    }),
    { mode: 0o600 },
  );
  await fs.mkdir(path.join(dir, "data"));
  const ports: number[] = [];
  while (ports.length < 8) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = ports;
  const grpcSockets: [string, number][] = [
    ["master", masterGrpc],
    ["volume", volumeGrpc],
    ["filer", filerGrpc],
    ["s3", s3Grpc],
  ];
  const log = await fs.open(path.join(dir, "weed.log"), "a");
  const child: ChildProcess = spawn(
    weed,
    [
      // Its log to weed.log in its folder, not to files of its own in /tmp.
      "-logtostderr",
      "server",
      `-dir=${path.join(dir, "data")}`,
      "-ip=127.0.0.1",
      "-ip.bind=127.0.0.1",
      `-master.port=${master}`,
      `-master.port.grpc=${masterGrpc}`,
      // Small volumes: the state is kilobytes, and each volume is a file of its own.
      "-master.volumeSizeLimitMB=64",
      `-volume.port=${volume}`,
      `-volume.port.grpc=${volumeGrpc}`,
      "-volume.max=8",
      "-filer",
      `-filer.port=${filer}`,
      `-filer.port.grpc=${filerGrpc}`,
      "-s3",
      `-s3.port=${s3}`,
      `-s3.port.grpc=${s3Grpc}`,
      `-s3.config=${path.join(dir, "s3.json")}`,
      // Nothing more listens: no Iceberg or Lance catalogue; the local sockets in its folder.
      "-s3.port.iceberg=0",
      "-s3.port.lance=0",
      `-filer.localSocket=${path.join(dir, "filer.sock")}`,
      `-s3.localSocket=${path.join(dir, "s3.sock")}`,
    ],
    { cwd: dir, stdio: ["ignore", log.fd, log.fd] },
  );
  await log.close();
  let stopped = false;
  const stop = async (): Promise<number> => {
    if (stopped) return 0;
    stopped = true;
    const t0 = Date.now();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    client.destroy();
    await fs.rm(dir, { recursive: true, force: true });
    // Its gRPC services also listen on sockets of fixed names in /tmp.
    for (const [name, port] of grpcSockets) {
      await fs.rm(`/tmp/seaweedfs-${name}-grpc-${port}.sock`, { force: true });
    }
    return (Date.now() - t0) / 1000;
  };

  const endpoint = `http://127.0.0.1:${s3}`;
  const client = new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
  try {
    // Ready: the bucket is made (the S3 gateway answers once the filer does).
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`weed server ended at start (exit ${child.exitCode ?? child.signalCode})`);
      }
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        break;
      } catch (e) {
        if (Date.now() > deadline) {
          throw new Error(
            `the S3 server made no bucket within ${READY_TIMEOUT_MS / 1000} s: ${String(e)}`,
          );
        }
        await sleep(200);
      }
    }
  } catch (e) {
    const text = readFileSync(path.join(dir, "weed.log"), "utf8").slice(-3000);
    await stop();
    throw new Error(`${(e as Error).message}\n--- weed's log ---\n${text}`);
  }

  return {
    endpoint,
    bucket,
    env,
    backendUrl: s3BackendUrl(bucket, endpoint),
    client,
    pid: child.pid!,
    startSeconds: (Date.now() - started) / 1000,
    dir,
    ports,
    async keys(prefix = "") {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page: ListObjectsV2CommandOutput = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        keys.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    stop,
  };
}

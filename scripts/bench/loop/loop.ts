/**
 * `npm run bench:loop`: the everyday loop of this project (create, no-op
 * preview, destroy; one conversion through `up`) next to terraform with
 * terraform-provider-libvirt (built by peer.sh), in one run, same inputs,
 * medians of N rounds, and the ratios.
 *
 * Each round runs, under the shared libvirt lock:
 *   domain   the program's NestedDomain and the peer's libvirt_domain
 *            (program/, terraform/domain/): create, no-op preview/plan, destroy;
 *   volume   one vmdk chain: `pulumi up` of a ConvertedVolume, the peer's
 *            upload of the chain's files as they are, and the plain
 *            `qemu-img convert` + sync it is measured against;
 *   empty    `pulumi preview` of a program with no resource: the engine's
 *            and the language runtime's own floor.
 * The two sides alternate which goes first. Every step is checked against
 * libvirt afterwards (running, no changes, gone), so a fast failure never
 * counts as a fast step. `--dev` also times the dev stack's no-op preview and
 * destroy (a copy with names and ports of its own; its `up` is not timed).
 *
 *   npm run bench:loop [-- --runs 4 --dev --dev-runs 1]
 */
import { spawn, spawnSync } from "child_process";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  cpSync,
  existsSync,
} from "fs";
import * as os from "os";
import * as path from "path";
import { freePort } from "../../../test/support/ports";
import { virshOk, virsh } from "../../../test/support/virsh";
import {
  DELTA_VMDK,
  BASE_VMDK,
  makeVmdkChainSync,
  mibWrites,
  MiB,
} from "../../../test/support/vmdk-chain";

const ROOT = path.resolve(__dirname, "../../..");
const LOCK = "/tmp/nestlab-libvirt.lock";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const RUNS = arg("runs", 4);
const DEV = process.argv.includes("--dev");
const DEV_RUNS = arg("dev-runs", 1);

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through \`npm run bench:loop\``);
  return v;
}
const PEER = need("NESTLAB_BENCH_PEER");
const CACHE = process.env.NESTLAB_CACHE ?? path.join(os.homedir(), ".cache", "nestlab");

const id = `nlbench-${process.pid.toString(36)}`;
const work = mkdtempSync(path.join(os.tmpdir(), "nestlab-bench-loop-"));
const logDir = path.join(work, "logs");
mkdirSync(logDir);
let logCount = 0;

const env = {
  ...process.env,
  PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
  PULUMI_CONFIG_PASSPHRASE: "bench-loop",
  PULUMI_SKIP_UPDATE_CHECK: "true",
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  TF_CLI_CONFIG_FILE: path.join(work, "terraformrc"),
  TF_IN_AUTOMATION: "1",
  TF_INPUT: "0",
};
mkdirSync(path.join(work, "state"));

interface Run {
  readonly seconds: number;
  readonly status: number;
  readonly log: string;
}

/** Runs argv in cwd, output to a log file; the wall time of the whole command. */
function timed(label: string, argv: readonly string[], cwd: string): Run {
  const log = path.join(logDir, `${String(++logCount).padStart(3, "0")}-${label}.log`);
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { cwd, env, encoding: "utf8", maxBuffer: 1 << 28 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  writeFileSync(log, `$ ${argv.join(" ")}\n${r.stdout ?? ""}\n--- stderr\n${r.stderr ?? ""}`);
  if (r.error) throw r.error;
  return { seconds, status: r.status ?? -1, log };
}

/** Like timed, but a non-zero exit is a failed benchmark (the log says why). */
function must(label: string, argv: readonly string[], cwd: string, ok = [0]): number {
  const r = timed(label, argv, cwd);
  if (!ok.includes(r.status)) {
    throw new Error(`${label}: ${argv.join(" ")} exited with ${r.status}; see ${r.log}`);
  }
  return r.seconds;
}

function check(what: string, ok: boolean): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

/** Holds the shared libvirt lock while body runs (flock in a child holds it). */
async function locked<T>(body: () => T): Promise<T> {
  const holder = spawn("flock", [LOCK, "sh", "-c", "echo locked; exec cat"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    holder.once("error", reject);
    holder.stdout.once("data", () => resolve());
  });
  try {
    return body();
  } finally {
    holder.stdin.end();
    await new Promise((r) => holder.once("exit", r));
  }
}

// ---- the two sides ----------------------------------------------------------

const pulumiBin = "pulumi";
const terraformBin = path.join(PEER, "bin", "terraform");

/** A stack of a program folder whose settings live in the work folder, not beside the program. */
class PulumiStack {
  readonly configFile: string;
  /**
   * `config`: the settings, either a map (keys get the project's prefix) or
   * the `config:` block of a settings file as is. `settingsDir`: where `stack
   * init` writes the settings file (the program's folder, or its stackConfigDir).
   */
  constructor(
    readonly name: string,
    readonly programDir: string,
    config: Record<string, string | number> | string,
    projectName: string,
    settingsDir = programDir,
  ) {
    this.configFile = path.join(work, `Pulumi.${name}.yaml`);
    const block =
      typeof config === "string"
        ? config
        : `config:\n${Object.entries(config)
            .map(([k, v]) => `  ${projectName}:${k}: ${JSON.stringify(String(v))}`)
            .join("\n")}\n`;
    // `stack init` writes the settings file (with the passphrase's salt) there:
    // it moves into the work folder, with the settings added.
    must(`${name}-init`, [pulumiBin, "stack", "init", name, "--non-interactive"], programDir);
    const written = path.join(settingsDir, `Pulumi.${name}.yaml`);
    const salt = readFileSync(written, "utf8");
    rmSync(written);
    writeFileSync(this.configFile, `${salt.trimEnd()}\n${block}`);
  }
  flags(): string[] {
    return ["--stack", this.name, "--config-file", this.configFile, "--non-interactive"];
  }
  up(label: string): number {
    return must(label, [pulumiBin, "up", "--yes", ...this.flags()], this.programDir);
  }
  preview(label: string): number {
    return must(
      label,
      [pulumiBin, "preview", "--expect-no-changes", ...this.flags()],
      this.programDir,
    );
  }
  destroy(label: string): number {
    return must(label, [pulumiBin, "destroy", "--yes", ...this.flags()], this.programDir);
  }
  remove(): void {
    timed(
      `${this.name}-rm`,
      [pulumiBin, "stack", "rm", "--yes", "--force", ...this.flags()],
      this.programDir,
    );
  }
}

/** A copy of one of the peer's configurations in the work folder, initialised once. */
class TerraformConfig {
  readonly dir: string;
  constructor(
    readonly name: string,
    readonly vars: Record<string, string | number>,
  ) {
    const hcl = path.join(work, "terraform");
    if (!existsSync(hcl)) cpSync(path.join(__dirname, "terraform"), hcl, { recursive: true });
    this.dir = path.join(hcl, name);
    must(`tf-${name}-init`, [terraformBin, "init", "-no-color"], this.dir);
  }
  varFlags(): string[] {
    return Object.entries(this.vars).flatMap(([k, v]) => ["-var", `${k}=${v}`]);
  }
  apply(label: string): number {
    return must(
      label,
      [terraformBin, "apply", "-auto-approve", "-no-color", ...this.varFlags()],
      this.dir,
    );
  }
  plan(label: string): number {
    // -detailed-exitcode: 0 no changes, 2 changes (a failure here).
    return must(
      label,
      [terraformBin, "plan", "-detailed-exitcode", "-no-color", ...this.varFlags()],
      this.dir,
    );
  }
  destroy(label: string): number {
    return must(
      label,
      [terraformBin, "destroy", "-auto-approve", "-no-color", ...this.varFlags()],
      this.dir,
    );
  }
}

// ---- fixtures -----------------------------------------------------------------

/**
 * The chain converted by the volume step, built once into the cache: 2 GiB
 * virtual, 192 MiB of data in the base over 48 places, 16 MiB in the delta.
 */
function chainFixture(): { base: string; top: string } {
  const dir = path.join(CACHE, "bench", "loop-chain-v1");
  const files = { base: path.join(dir, BASE_VMDK), top: path.join(dir, DELTA_VMDK) };
  if (existsSync(path.join(dir, "complete"))) return files;
  mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  const spread = (n: number, step: number, from: number) =>
    Array.from({ length: n }, (_, i) => from + i * step);
  makeVmdkChainSync(tmp, {
    virtualBytes: 2048 * MiB,
    base: mibWrites(0x31, spread(48, 40, 0), 4),
    delta: mibWrites(0x41, spread(8, 160, 18), 2),
  });
  writeFileSync(path.join(tmp, "complete"), "");
  rmSync(dir, { recursive: true, force: true });
  require("fs").renameSync(tmp, dir);
  return files;
}

function terraformrc(): void {
  writeFileSync(
    env.TF_CLI_CONFIG_FILE,
    [
      "provider_installation {",
      "  filesystem_mirror {",
      `    path    = ${JSON.stringify(path.join(PEER, "plugins"))}`,
      '    include = ["registry.terraform.io/dmacvicar/libvirt"]',
      "  }",
      '  direct { exclude = ["registry.terraform.io/dmacvicar/libvirt"] }',
      "}",
      "",
    ].join("\n"),
  );
}

// ---- the table ------------------------------------------------------------------

const times = new Map<string, number[]>();
function record(step: string, seconds: number): void {
  times.set(step, [...(times.get(step) ?? []), seconds]);
  console.log(`  ${step.padEnd(34)} ${seconds.toFixed(2)} s`);
}
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const fmt = (xs: readonly number[] | undefined) =>
  xs?.length ? `${median(xs).toFixed(1)} s` : "-";

function table(): void {
  const rows: [string, string, string, string?][] = [
    [
      "one domain (256 MiB, qemu64 + svm, VNC, serial): create",
      "domain create: ours",
      "domain create: peer",
    ],
    ["no-op preview / plan of it", "domain preview: ours", "domain plan: peer"],
    ["destroy it (a guest with no OS)", "domain destroy: ours", "domain destroy: peer"],
    [
      "one vmdk chain → volume: `up` / peer upload",
      "volume up: ours",
      "volume apply: peer",
      "volume convert: plain",
    ],
    ["empty program: preview (the engine's floor)", "empty preview: ours", ""],
    ["dev stack: no-op preview", "dev preview: ours", ""],
    ["dev stack: destroy", "dev destroy: ours", ""],
  ];
  console.log(
    `\nmedians of ${RUNS} rounds (seconds, wall clock), load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}\n`,
  );
  console.log("| step | this project | terraform + provider-libvirt | ratio |");
  console.log("| --- | --- | --- | --- |");
  for (const [title, ours, peer, plain] of rows) {
    const o = times.get(ours);
    if (!o) continue;
    const p = peer ? times.get(peer) : undefined;
    const ratio = p?.length ? `${(median(o) / median(p)).toFixed(1)}×` : "";
    const extra =
      plain && times.get(plain)
        ? ` (plain \`qemu-img convert\` + sync: ${fmt(times.get(plain))}; up − convert: ${(median(o) - median(times.get(plain)!)).toFixed(1)} s)`
        : "";
    console.log(`| ${title} | ${fmt(o)} | ${p ? fmt(p) : "-"} | ${ratio}${extra} |`);
  }
  console.log("\nevery run:");
  for (const [step, ts] of times)
    console.log(`  ${step.padEnd(34)} ${ts.map((t) => t.toFixed(2)).join(" ")}`);
}

// ---- the rounds -------------------------------------------------------------------

const domainName = (side: string) => `${id}-${side}`;

async function main(): Promise<void> {
  console.log(`work folder ${work} (logs in logs/); peer ${PEER}`);
  terraformrc();
  const chain = chainFixture();
  const poolDir = path.join(work, "pool");
  mkdirSync(poolDir);
  const pool = `${id}-pool`;
  const ports = {
    ours: [await freePort(), await freePort()],
    peer: [await freePort(), await freePort()],
  };
  const program = path.join(__dirname, "program");
  const project = "nestlab-bench-loop";

  const oursDomain = new PulumiStack(
    `${id}-domain`,
    program,
    {
      what: "domain",
      domainName: domainName("ours"),
      vncPort: 5900 + (ports.ours[0] % 1000),
      serialPort: ports.ours[1],
    },
    project,
  );
  const oursVolume = new PulumiStack(
    `${id}-volume`,
    program,
    { what: "volume", source: chain.top, pool, volumeName: `${id}.qcow2` },
    project,
  );
  const empty = new PulumiStack(`${id}-empty`, program, { what: "empty" }, project);
  const peerDomain = new TerraformConfig("domain", {
    name: domainName("peer"),
    vnc_port: 5900 + (ports.peer[0] % 1000),
    serial_port: ports.peer[1],
  });
  const peerVolume = new TerraformConfig("volume", {
    pool,
    prefix: id,
    base: chain.base,
    delta: chain.top,
  });

  try {
    await locked(() => {
      virsh("pool-create-as", pool, "dir", "--target", poolDir);
    });
    // The empty program's stack exists once up: its previews then change nothing.
    empty.up("empty-up");
    for (let round = 0; round < RUNS; round++) {
      console.log(`round ${round + 1} of ${RUNS}`);
      await locked(() => {
        const sides = [
          () => {
            record("domain create: ours", oursDomain.up("ours-create"));
            check("our domain runs", virsh("domstate", domainName("ours")) === "running");
            record("domain preview: ours", oursDomain.preview("ours-preview"));
            record("domain destroy: ours", oursDomain.destroy("ours-destroy"));
            check("our domain is gone", !virshOk("dominfo", domainName("ours")));
          },
          () => {
            record("domain create: peer", peerDomain.apply("peer-apply"));
            check("the peer's domain runs", virsh("domstate", domainName("peer")) === "running");
            record("domain plan: peer", peerDomain.plan("peer-plan"));
            record("domain destroy: peer", peerDomain.destroy("peer-destroy"));
            check("the peer's domain is gone", !virshOk("dominfo", domainName("peer")));
          },
        ];
        for (const side of round % 2 ? sides.reverse() : sides) side();

        const volumes = [
          () => {
            record("volume up: ours", oursVolume.up("ours-volume-up"));
            check("our volume exists", virshOk("vol-info", "--pool", pool, `${id}.qcow2`));
            if (round === 0) {
              const vol = virsh("vol-path", "--pool", pool, `${id}.qcow2`);
              must(
                "compare",
                ["qemu-img", "compare", "-f", "vmdk", "-F", "qcow2", chain.top, vol],
                work,
              );
            }
            oursVolume.destroy("ours-volume-destroy");
          },
          () => {
            record("volume apply: peer", peerVolume.apply("peer-volume-apply"));
            check(
              "the peer's volumes exist",
              virshOk("vol-info", "--pool", pool, `${id}-delta.vmdk`),
            );
            peerVolume.destroy("peer-volume-destroy");
          },
          () => {
            const out = path.join(work, "plain.qcow2");
            const t = must(
              "plain-convert",
              [
                "sh",
                "-c",
                'qemu-img convert -f vmdk -O qcow2 "$1" "$2" && sync -- "$2"',
                "sh",
                chain.top,
                out,
              ],
              work,
            );
            record("volume convert: plain", t);
            rmSync(out);
          },
        ];
        for (const v of round % 2 ? volumes.reverse() : volumes) v();
      });
      record("empty preview: ours", empty.preview("empty-preview"));
    }
    if (DEV) await devStack();
  } finally {
    await locked(() => {
      oursDomain.destroy("cleanup");
      oursVolume.destroy("cleanup");
      timed(
        "cleanup",
        [terraformBin, "destroy", "-auto-approve", "-no-color", ...peerDomain.varFlags()],
        peerDomain.dir,
      );
      timed(
        "cleanup",
        [terraformBin, "destroy", "-auto-approve", "-no-color", ...peerVolume.varFlags()],
        peerVolume.dir,
      );
      spawnSync("virsh", ["-c", "qemu:///system", "pool-destroy", pool]);
    });
    for (const s of [oursDomain, oursVolume, empty]) s.remove();
  }
  table();
  rmSync(work, { recursive: true, force: true });
}

/**
 * The dev stack (stacks/Pulumi.dev.yaml) with names and ports of its own:
 * `up` once (not timed), then no-op previews, then destroy, timed.
 */
async function devStack(): Promise<void> {
  const dev = readFileSync(path.join(ROOT, "stacks", "Pulumi.dev.yaml"), "utf8");
  const vnc = (await freePort()) % 1000;
  // Beside the dev stack's own pool: QEMU runs as another user, who cannot enter the
  // work folder (mkdtemp makes it 0700).
  const poolPath = `/var/lib/libvirt/images/${id}-dev`;
  const own = dev
    .replace(/^encryptionsalt:.*$/m, "")
    .replace(/nestlab:pool: .*/, `nestlab:pool: ${id}-dev`)
    .replace(/nestlab:poolPath: .*/, `nestlab:poolPath: ${poolPath}`)
    .replace(/domainName: .*/, `domainName: ${id}-classroom`)
    .replace(/display: .*/, `display: ${vnc}`)
    .replace(/port: 4444/, `port: ${await freePort()}`)
    .replace(/sshPort: .*/, `sshPort: ${await freePort()}`);
  const stack = new PulumiStack(`${id}-dev`, ROOT, own, "nestlab", path.join(ROOT, "stacks"));
  await locked(() => {
    try {
      stack.up("dev-up");
      for (let i = 0; i < DEV_RUNS; i++) record("dev preview: ours", stack.preview("dev-preview"));
      record("dev destroy: ours", stack.destroy("dev-destroy"));
      check("the dev copy's classroom host is gone", !virshOk("dominfo", `${id}-classroom`));
    } finally {
      stack.destroy("dev-cleanup");
      stack.remove();
      rmSync(poolPath, { recursive: true, force: true });
    }
  });
}

main().catch((e) => {
  console.error(`bench:loop failed: ${(e as Error).message}\n(work folder kept: ${work})`);
  table();
  process.exit(1);
});

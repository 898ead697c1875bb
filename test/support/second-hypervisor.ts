/**
 * A second hypervisor on this machine for tests: a libvirtd of its own,
 * reached over SSH at an address inside a network namespace the test makes.
 *
 * ```ts
 * const hv2 = await startSecondHypervisor();   // ~1 to 2 s
 * new StoragePool("p", { host: hv2.hostConnection, ... });  // the project's own SSH path
 * hv2.virsh("pool-list", "--all");             // from this machine, over qemu+libssh, key pinned
 * await hv2.stop();                            // in afterAll: no namespace, process or mount left
 * ```
 *
 * Layout: `ip netns add nlt-hv2-<pid>`, a veth pair with a /30 of
 * 198.18.0.0/15 (the range set aside for network tests, RFC 2544; never a
 * bridge of this machine), and inside the namespace
 * `unshare --mount` running ./second-hypervisor.sh: libvirtd with /run/libvirt,
 * /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt and /etc/libvirt bind
 * mounted from this hypervisor's folder (so sockets, state and definitions are
 * its own, and the first daemon's objects do not show), and dropbear on the
 * namespace's address only, with a host key and authorized key of its own.
 * Everything else (binaries, /tmp, the images) is this machine's: a path made
 * here is a path there too. QEMU runs as on the first daemon (TCG).
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from "fs";
import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { PlainHostConnection } from "../../components/host/connection";

export interface SecondHypervisor {
  /** The network namespace's name (`nlt-hv2-<pid>`). */
  readonly netns: string;
  /** The hypervisor's address (inside the namespace) and this machine's end of the veth pair. */
  readonly address: string;
  readonly peerAddress: string;
  /** Its SSH client key (OpenSSH format) and its host key as a known_hosts line (`ADDRESS ssh-ed25519 AAAA…`). */
  readonly privateKey: string;
  readonly knownHostsLine: string;
  /** The connection the project's components take: SSH as root on port 22, host key pinned, `qemu:///system` there. */
  readonly hostConnection: PlainHostConnection;
  /** A libvirt URI for virsh on this machine: qemu+libssh with the key and the pinned host key. */
  readonly libvirtUri: string;
  /** A folder of this hypervisor's (e.g. for pool targets); removed by stop(). */
  readonly dir: string;
  /** Seconds from the start to libvirtd answering over SSH. */
  readonly startSeconds: number;
  /** virsh -q on this machine against the second daemon; trimmed stdout, throws with stderr on failure. */
  virsh(...args: string[]): string;
  /** Process ids inside the hypervisor's network namespace (libvirtd, dropbear, QEMU, sessions). */
  pids(): number[];
  /** The inode numbers of the namespaces its processes run in (to check for leftovers after stop). */
  readonly namespaces: { readonly net: string; readonly mnt: string };
  /**
   * Destroys its running domains, stops the daemons, kills anything left in
   * the namespace, deletes the namespace (and so the veth pair) and the
   * folder. Idempotent. Returns the seconds it took.
   */
  stop(): Promise<number>;
}

const SCRIPT = path.join(__dirname, "second-hypervisor.sh");
/** 198.18.0.0/15: 32768 /30s; one chosen from the pid, the next free on a clash. */
const RANGE_BASE = (198 << 24) | (18 << 16);
const RANGE_SLOTS = 1 << 15;
const READY_TIMEOUT_MS = 60_000;

function run(argv: readonly string[], input?: string): string {
  const [file, ...args] = argv;
  const r = spawnSync(file, args, { encoding: "utf8", input });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${argv.join(" ")} exited with ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}

const dotted = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");

/** The IPv4 prefixes this machine already uses (addresses and routes), as [network, bits]. */
function usedPrefixes(): [number, number][] {
  const out =
    run(["ip", "-4", "-o", "route", "show", "table", "all"]) + run(["ip", "-4", "-o", "addr"]);
  const used: [number, number][] = [];
  for (const m of out.matchAll(/(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?/g)) {
    const n = ((+m[1] << 24) | (+m[2] << 16) | (+m[3] << 8) | +m[4]) >>> 0;
    used.push([n, m[5] === undefined ? 32 : +m[5]]);
  }
  return used;
}

function overlaps(a: number, aBits: number, b: number, bBits: number): boolean {
  const bits = Math.min(aBits, bBits);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

/** A /30 of 198.18.0.0/15 that no address or route here touches: [peer (.1), hypervisor (.2)]. */
export function pickAddresses(pid: number, used: [number, number][]): [string, string] {
  for (let i = 0; i < RANGE_SLOTS; i++) {
    const net = (RANGE_BASE + ((pid + i) % RANGE_SLOTS) * 4) >>> 0;
    if (!used.some(([n, bits]) => overlaps(net, 30, n, bits) && bits > 15)) {
      return [dotted(net + 1), dotted(net + 2)];
    }
  }
  throw new Error("no free /30 in 198.18.0.0/15 for the second hypervisor");
}

const nsInode = (pid: number | string, kind: "net" | "mnt") => {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined; // the process has gone
  }
};

/** Every process of this machine whose `kind` namespace is `inode` (as readlink shows it: `net:[…]`). */
export function processesIn(kind: "net" | "mnt", inode: string): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => nsInode(e, kind) === inode)
    .map(Number);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let counter = 0;

/** Starts a second hypervisor; see the module's comment. Fails, with the daemons' logs, if it does not answer within a minute. */
export async function startSecondHypervisor(): Promise<SecondHypervisor> {
  const started = Date.now();
  const netns = `nlt-hv2-${process.pid}${counter ? `-${counter}` : ""}`;
  const veth = `nh2-${process.pid % 100000}${counter ? String.fromCharCode(97 + counter) : ""}`;
  counter++;
  const dir = mkdtempSync(path.join(os.tmpdir(), `${netns}-`));
  const [peerAddress, address] = pickAddresses(process.pid, usedPrefixes());
  let child: ChildProcess | undefined;
  let stopped = false;
  let namespaces = { net: "", mnt: "" };

  const stop = async (): Promise<number> => {
    if (stopped) return 0;
    stopped = true;
    const t0 = Date.now();
    // Domains first, through the daemon: their QEMU processes outlive libvirtd.
    if (child && child.exitCode === null) {
      const running = virshHereRun("list", "--name");
      for (const name of running.status === 0 ? running.stdout.split("\n").filter(Boolean) : []) {
        virshHereRun("destroy", name);
      }
      child.kill("SIGTERM");
      for (let i = 0; i < 100 && child.exitCode === null && child.signalCode === null; i++) {
        await sleep(100);
      }
    }
    // Anything still in the namespace (a session, a QEMU libvirtd did not stop): killed.
    for (let i = 0; i < 50; i++) {
      const left = namespaces.net ? processesIn("net", namespaces.net) : [];
      if (left.length === 0) break;
      for (const pid of left) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
      await sleep(100);
    }
    spawnSync("ip", ["netns", "del", netns]);
    // The root end goes with its peer; delete it by name should the namespace not have been made.
    spawnSync("ip", ["link", "del", veth], { stdio: "ignore" });
    await fs.rm(dir, { recursive: true, force: true });
    return (Date.now() - t0) / 1000;
  };

  const uriOf = () =>
    `qemu+libssh://root@${address}/system?keyfile=${path.join(dir, "client_key")}` +
    `&known_hosts=${path.join(dir, "known_hosts")}&known_hosts_verify=normal&sshauth=privkey`;
  function virshHereRun(...args: string[]) {
    return spawnSync("virsh", ["-q", "-c", uriOf(), ...args], { encoding: "utf8" });
  }
  function virshHere(...args: string[]): string {
    const r = virshHereRun(...args);
    if (r.error) throw r.error;
    if (r.status !== 0) {
      throw new Error(
        `virsh ${args.join(" ")} (second hypervisor) exited with ${r.status}: ${r.stderr.trim()}`,
      );
    }
    return r.stdout.trim();
  }

  try {
    run(["ip", "netns", "add", netns]);
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "hv2", "netns", netns]);
    run(["ip", "addr", "add", `${peerAddress}/30`, "dev", veth]);
    run(["ip", "link", "set", veth, "up"]);
    run(["ip", "-n", netns, "addr", "add", `${address}/30`, "dev", "hv2"]);
    run(["ip", "-n", netns, "link", "set", "hv2", "up"]);

    run([
      "ssh-keygen",
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-C",
      netns,
      "-f",
      path.join(dir, "client_key"),
    ]);
    run(["dropbearkey", "-t", "ed25519", "-f", path.join(dir, "host_key")]);
    const [type, key] = run(["dropbearkey", "-y", "-f", path.join(dir, "host_key")])
      .split("\n")
      .find((l) => l.startsWith("ssh-ed25519 "))!
      .split(/\s+/);
    const knownHostsLine = `${address} ${type} ${key}`;
    await fs.writeFile(path.join(dir, "known_hosts"), `${knownHostsLine}\n`, { mode: 0o600 });
    await fs.copyFile(path.join(dir, "client_key.pub"), path.join(dir, "authorized_keys"));
    const privateKey = readFileSync(path.join(dir, "client_key"), "utf8");

    const log = await fs.open(path.join(dir, "hypervisor.log"), "a");
    child = spawn(
      "ip",
      [
        "netns",
        "exec",
        netns,
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "bash",
        SCRIPT,
        dir,
        address,
      ],
      { stdio: ["ignore", log.fd, log.fd], detached: true },
    );
    await log.close();
    child.unref();

    // Ready: libvirtd answers over SSH (dropbear and the daemon's socket both up).
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `the second hypervisor ended at start (exit ${child.exitCode ?? child.signalCode})`,
        );
      }
      const r = virshHereRun("uri");
      if (r.status === 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `the second hypervisor did not answer within ${READY_TIMEOUT_MS / 1000} s: ${r.stderr.trim()}`,
        );
      }
      await sleep(100);
    }
    const libvirtd = Number(readFileSync(path.join(dir, "libvirtd.pid"), "utf8").trim());
    namespaces = { net: nsInode(libvirtd, "net")!, mnt: nsInode(libvirtd, "mnt")! };

    return {
      netns,
      address,
      peerAddress,
      privateKey,
      knownHostsLine,
      hostConnection: {
        libvirtUri: "qemu:///system",
        ssh: { host: address, port: 22, user: "root", privateKey, knownHosts: knownHostsLine },
      },
      libvirtUri: uriOf(),
      dir,
      startSeconds: (Date.now() - started) / 1000,
      namespaces,
      virsh: virshHere,
      pids: () => processesIn("net", namespaces.net),
      stop,
    };
  } catch (e) {
    const logText = existsSync(path.join(dir, "hypervisor.log"))
      ? readFileSync(path.join(dir, "hypervisor.log"), "utf8") +
        (existsSync(path.join(dir, "root/log/libvirtd.log"))
          ? readFileSync(path.join(dir, "root/log/libvirtd.log"), "utf8").slice(-2000)
          : "")
      : "";
    await stop();
    throw new Error(
      `${(e as Error).message}${logText ? `\n--- its log ---\n${logText.slice(-3000)}` : ""}`,
    );
  }
}

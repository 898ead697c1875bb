import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { resolveHost } from "../../../components/host/connection";
import { LocalHost } from "../../../components/host/local";
import { SshHost } from "../../../components/host/ssh";
import { HostAccess } from "../../../components/host/access";
import { STDIN_FILE, throughPipe } from "../../../components/libvirt/virsh";
import { startGuestVm, GuestVm } from "../../support/guest-vm";

// The same contract, checked on this machine and on a real SSH host (the
// guest kit's dropbear, reached through a 127.0.0.1 forward).
const NASTY = "a b'c\"d$(touch /tmp/pwned)`e`;f|g&h\\i";

describe.each(["local", "ssh"] as const)("%s HostAccess", (kind) => {
  let vm: GuestVm | undefined;
  let host: HostAccess & { close?: () => Promise<void> };
  let dir: string;

  beforeAll(async () => {
    if (kind === "local") {
      host = new LocalHost();
      dir = await fs.mkdtemp(path.join(os.tmpdir(), "nlt-host-"));
    } else {
      vm = await startGuestVm({ name: "nlt-host" });
      const { spec, privateKey } = resolveHost(vm.hostConnection);
      host = new SshHost(spec.ssh!, privateKey);
      dir = (await host.run(["mktemp", "-d", "/tmp/nlt-host-XXXXXX"])).stdout.trim();
    }
  }, 180_000);

  afterAll(async () => {
    await host?.close?.();
    await vm?.stop();
    if (kind === "local") await fs.rm(dir, { recursive: true, force: true });
  });

  it("passes every argument through unchanged, with no shell in between", async () => {
    const r = await host.run(["printf", "%s\\n", NASTY, "", "x  y"]);
    expect(r.stdout).toBe(`${NASTY}\n\nx  y\n`);
    expect((await host.run(["ls", "/tmp/pwned"], { allowFailure: true })).exitCode).not.toBe(0);
  });

  it("returns a non-zero exit with allowFailure and throws without it", async () => {
    const r = await host.run(["sh", "-c", "echo out; echo err >&2; exit 3"], {
      allowFailure: true,
    });
    expect(r).toEqual({ exitCode: 3, stdout: "out\n", stderr: "err\n" });
    await expect(host.run(["sh", "-c", "echo boom >&2; exit 4"])).rejects.toThrow(
      `\`sh -c echo boom >&2; exit 4\` on ${host.label} exited with 4:\nboom`,
    );
  });

  it("feeds standard input", async () => {
    expect((await host.run(["cat"], { input: "line1\nline2\n" })).stdout).toBe("line1\nline2\n");
  });

  it("hands the input, through a pipe, to a program that opens its stdin by name (how virsh define reads a document)", async () => {
    const doc = "<domain>\n  <name>x</name>\n</domain>\n";
    const r = await host.run(throughPipe(["cat", STDIN_FILE]), { input: doc });
    expect(r.stdout).toBe(doc);
  });

  it("writes atomically, reads back, lists and removes files", async () => {
    const file = path.posix.join(dir, "conf file.conf");
    expect(await host.readFile(file)).toBeUndefined();
    await host.writeFileAtomic(file, "options kvm_amd nested=1\n", 0o600);
    expect(await host.readFile(file)).toBe("options kvm_amd nested=1\n");
    expect((await host.run(["stat", "-c", "%a", file])).stdout.trim()).toBe("600");
    await host.writeFileAtomic(file, "second\n");
    expect(await host.readFile(file)).toBe("second\n");
    // No temporary file is left beside it.
    expect(await host.listDir(dir)).toEqual(["conf file.conf"]);
    await host.removeFile(file);
    await host.removeFile(file);
    expect(await host.listDir(dir)).toEqual([]);
    expect(await host.listDir(path.posix.join(dir, "missing"))).toEqual([]);
  });

  it("writes a file that only its owner may read with that mode from the start: nobody reads it mid-write", async () => {
    const file = path.posix.join(dir, "define.xml");
    const log = path.posix.join(dir, "modes.log");
    const stop = path.posix.join(dir, "stop");
    // A watcher on the host that writes down the mode of every temporary file it sees.
    await host.run([
      "sh",
      "-c",
      '"$@" >/dev/null 2>&1 </dev/null &',
      "sh",
      "sh",
      "-c",
      'while [ ! -e "$3" ]; do for f in "$1"/.*nestlab*; do stat -c "%a %n" "$f" 2>/dev/null; done; done >"$2"',
      "sh",
      dir,
      log,
      stop,
    ]);
    // Big enough that the write takes a while (seconds over SSH).
    const content = `<domain>${"x".repeat(kind === "ssh" ? 8 << 20 : 64 << 20)}</domain>\n`;
    await host.writeFileAtomic(file, content, 0o600);
    await host.run(["touch", stop]);
    const seen = ((await host.readFile(log)) ?? "").split("\n").filter(Boolean);
    // The watcher saw the temporary file (else this test proves nothing), always 0600.
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen.map((line) => line.split(" ")[0]))).toEqual(new Set(["600"]));
    expect((await host.run(["stat", "-c", "%a %s", file])).stdout).toBe(`600 ${content.length}\n`);
    await host.removeFile(file);
    await host.removeFile(log);
    await host.removeFile(stop);
  }, 120_000);

  it("does not follow a link planted at the temporary name it used to take", async () => {
    const file = path.posix.join(dir, "conf file.conf");
    const victim = path.posix.join(dir, "victim");
    const planted = path.posix.join(dir, `.conf file.conf.nestlab-${process.pid}.tmp`);
    await host.writeFileAtomic(victim, "untouched\n", 0o644);
    await host.run(["ln", "-s", victim, planted]);

    await host.writeFileAtomic(file, "secret\n", 0o600);

    expect(await host.readFile(victim)).toBe("untouched\n");
    expect((await host.run(["stat", "-c", "%a %F", victim])).stdout).toBe("644 regular file\n");
    expect(await host.readFile(file)).toBe("secret\n");
    expect((await host.run(["stat", "-c", "%a %F", file])).stdout).toBe("600 regular file\n");
    expect(await host.listDir(dir)).toEqual(
      [planted, file, victim].map((f) => path.posix.basename(f)).sort(),
    );
    for (const f of [file, victim, planted]) await host.removeFile(f);
  });

  it("knows which programs are installed", async () => {
    expect(await host.hasCommand("cat")).toBe(true);
    expect(await host.hasCommand("no-such-program-nestlab")).toBe(false);
  });

  it("holds a program until released, its input open, beside other commands", async () => {
    const file = path.posix.join(dir, "held");
    const held = await host.hold(
      ["sh", "-c", 'echo ready; cat >/dev/null; echo released > "$1"', "sh", file],
      "ready",
    );
    expect(held.isHeld()).toBe(true);
    // Other commands go on meanwhile, and the held one is still waiting.
    expect((await host.run(["echo", "beside"])).stdout).toBe("beside\n");
    expect(await host.readFile(file)).toBeUndefined();
    await held.release();
    expect(held.isHeld()).toBe(false);
    expect(await host.readFile(file)).toBe("released\n");
    await held.release();
  });

  it("refuses to hold a program that ends before it is ready", async () => {
    await expect(host.hold(["sh", "-c", "echo busy >&2; exit 75"], "ready")).rejects.toThrow(
      `\`sh -c echo busy >&2; exit 75\` on ${host.label} exited with 75:\nbusy`,
    );
  });
});

describe("SshHost failures", () => {
  let vm: GuestVm;
  beforeAll(async () => {
    vm = await startGuestVm({ name: "nlt-host-fail" });
  }, 180_000);
  afterAll(() => vm?.stop());

  it("refuses a host whose key does not match the pinned one, naming the fix", async () => {
    const { spec, privateKey } = resolveHost({
      ...vm.hostConnection,
      ssh: {
        ...vm.hostConnection.ssh!,
        knownHosts: `[127.0.0.1]:${vm.sshPort} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB`,
      },
    });
    const host = new SshHost(spec.ssh!, privateKey);
    await expect(host.run(["true"])).rejects.toThrow(
      /The host's SSH key does not match the one pinned in host.ssh.knownHosts/,
    );
    await host.close();
  });

  it("says nothing accepts SSH on a closed port", async () => {
    const { spec } = resolveHost({ ssh: { host: "127.0.0.1", port: 1, connectTimeoutSeconds: 5 } });
    const host = new SshHost(spec.ssh!, undefined);
    await expect(host.run(["true"])).rejects.toThrow(
      /Nothing accepts SSH at that address and port/,
    );
    await host.close();
  });
});

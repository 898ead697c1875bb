import { spawn } from "child_process";
import {
  chmodSync,
  copyFileSync,
  openSync,
  readdirSync,
  truncateSync,
  writeFileSync,
  writeSync,
  closeSync,
} from "fs";
import * as path from "path";
import { HostAccess, RunOptions } from "../../../components/host/access";
import { LocalHost } from "../../../components/host/local";
import { inspectSource } from "../../../components/volume/inspect";
import { provider } from "../../../components/volume/provider";
import {
  checkFailures,
  HOST,
  makePool,
  qemuImg,
  rmrf,
  seedChain,
  sh,
  sha256,
  sourceState,
  virshOut,
  volumes,
  workDir,
  writeData,
} from "./helpers";

jest.setTimeout(120_000);

const dir = workDir("bad");
chmodSync(dir, 0o755);
const pool = makePool(dir, "bad");
const src = path.join(dir, "src");
sh(["mkdir", "-p", src]);
const { base, top } = seedChain(src, 64);

afterAll(() => {
  pool.remove();
  rmrf(dir);
});

/** Nothing was written into the pool's folder and libvirt lists no volume. */
function expectPoolUntouched(existing: string[] = []): void {
  expect(readdirSync(pool.path)).toEqual(existing);
  expect(volumes(pool.name)).toEqual(existing);
}

/** check() refuses with exactly this text, and so does create() (which validates again). */
async function expectRefused(
  inputs: Record<string, unknown>,
  message: string | RegExp,
): Promise<void> {
  const all = { source: top, pool: pool.name, volumeName: "bad.qcow2", ...inputs };
  const failures = await checkFailures(all);
  expect(failures).toHaveLength(1);
  if (typeof message === "string") expect(failures[0]).toBe(message);
  else expect(failures[0]).toMatch(message);
  await expect(provider.create({ host: HOST, resourceName: "t", ...all })).rejects.toThrow(message);
  expectPoolUntouched();
}

describe("ConvertedVolume refuses bad input before writing anything", () => {
  test("a missing file", async () => {
    const f = path.join(src, "nothing-here.vmdk");
    await expectRefused(
      { source: f },
      `source: ${f} does not exist on this machine. Check the path: it is a path on the libvirt host, not on the machine that runs pulumi.`,
    );
  });

  test("an unreadable file (inspected as an unprivileged user)", async () => {
    const f = path.join(src, "secret.vmdk");
    copyFileSync(base, f);
    chmodSync(src, 0o755);
    chmodSync(f, 0o600);
    const asNobody = new AsUser(new LocalHost(), "65534");
    await expect(
      inspectSource(asNobody, { source: f, mode: "flatten" }, { verifyManifest: false }),
    ).rejects.toThrow(
      `source: ${f} cannot be read on this machine (permission denied). Give the user that runs qemu-img read access to it.`,
    );
    expectPoolUntouched();
  });

  test("a file that is not a disk image", async () => {
    const f = path.join(src, "notes.vmdk");
    writeFileSync(f, "Not a disk: the RHCE lab notes.\n");
    await expectRefused(
      { source: f },
      `source: ${f} is not a disk image: it starts with no image format's header (QEMU would only read it as raw bytes). ` +
        `Point source at the .vmdk (the descriptor or the top snapshot), the .ova, or a qcow2 image; if it really is a raw disk image, ` +
        `give it a name ending in .raw or .img, or set sourceFormat: "raw".`,
    );
  });

  test("a vmdk truncated inside its metadata", async () => {
    const f = path.join(src, "truncated-head.vmdk");
    copyFileSync(base, f);
    truncateSync(f, 10 * 1024);
    const esc = f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    await expectRefused(
      { source: f },
      new RegExp(
        `^source: ${esc} cannot be opened as a disk image: Could not open '${esc}': File truncated, expecting at least \\d+ bytes\\. ` +
          `The file is damaged or incomplete \\(an interrupted copy or download\\?\\): copy it again from the original\\.$`,
      ),
    );
  });

  test("a vmdk truncated inside its data", async () => {
    const f = path.join(src, "truncated.vmdk");
    copyFileSync(base, f);
    truncateSync(f, 100 * 1024);
    await expectRefused(
      { source: f },
      `source: ${f} is damaged: qemu-img check finds "cluster offset for sector 128 points after EOF". ` +
        `The file is truncated or damaged (an interrupted copy or download?): copy it again from the original.`,
    );
  });

  test("a qcow2 named .vmdk", async () => {
    const f = path.join(src, "actually-qcow2.vmdk");
    qemuImg("create", "-q", "-f", "qcow2", f, "64M");
    await expectRefused(
      { source: f },
      `source: ${f} is a qcow2 image, but its name says vmdk. A file whose content contradicts its name is usually ` +
        `the wrong file: check that this is the disk you mean, and rename it to match its content (e.g. .qcow2).`,
    );
  });

  test("a chain whose parent is missing", async () => {
    const d = path.join(src, "orphan");
    sh(["mkdir", "-p", d]);
    const chain = seedChain(d, 64);
    sh(["rm", chain.base]);
    await expectRefused(
      { source: chain.top },
      `source: ${chain.top} is a snapshot of ${chain.base}, which does not exist on this machine: the chain is broken. ` +
        `Keep every file of the chain (the base .vmdk and each -0000NN.vmdk delta) together in one folder, as VMware left them.`,
    );
  });

  test("a chain whose parent was written to after the snapshot (CID mismatch)", async () => {
    const d = path.join(src, "cid");
    sh(["mkdir", "-p", d]);
    const chain = seedChain(d, 64);
    const expected = JSON.parse(qemuImg("info", "--output=json", chain.top))["format-specific"]
      .data["parent-cid"] as number;
    writeData(chain.base, "vmdk", 0x77, [2]); // QEMU gives the base a new CID on its first write
    const actual = JSON.parse(qemuImg("info", "--output=json", chain.base))["format-specific"].data
      .cid as number;
    expect(actual).not.toBe(expected);
    const hex = (n: number) => `${n} (0x${n.toString(16).padStart(8, "0")})`;
    await expectRefused(
      { source: chain.top },
      `source: chain link ${chain.top} expects its parent ${chain.base} to have CID ${hex(expected)}, but the parent has CID ${hex(actual)}: ` +
        `the parent was written to after the snapshot was taken, so the chain no longer describes one disk. ` +
        `Use the files exactly as VMware left them (restore the parent from the same copy as the snapshot), or convert the base alone with mode: "base".`,
    );
  });

  test("a vmdk VMware did not close cleanly", async () => {
    const f = path.join(src, "unclean.vmdk");
    copyFileSync(base, f);
    const fd = openSync(f, "r+");
    writeSync(fd, Buffer.from([1]), 0, 1, 72);
    closeSync(fd);
    await expectRefused(
      { source: f },
      `source: ${f} was not closed cleanly: the VMware uncleanShutdown flag is set in ${f}. ` +
        `The VM is running or crashed: power it off in VMware (and let VMware repair the disk), then convert.`,
    );
  });

  test("an image another process holds open for writing", async () => {
    const f = path.join(src, "busy.vmdk");
    copyFileSync(base, f);
    const holder = spawn("qemu-io", ["-f", "vmdk", f], { stdio: ["pipe", "pipe", "pipe"] });
    try {
      await new Promise((r) => setTimeout(r, 700));
      const failures = await checkFailures({ source: f, pool: pool.name });
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatch(
        new RegExp(
          `^source: ${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is in use: another process \\(a running VM\\?\\) holds it open for writing \\(.*Failed to get shared "write" lock.*\\)\\. ` +
            `Shut that VM down before converting: a copy of a disk that is being written is torn\\.$`,
          "s",
        ),
      );
    } finally {
      holder.stdin.end("quit\n");
      await new Promise((r) => holder.on("exit", r));
    }
    expectPoolUntouched();
  });

  test("a pool that does not exist", async () => {
    const missing = `nlt-volume-missing-${process.pid}`;
    const inputs = { host: HOST, resourceName: "t", source: top, pool: missing };
    await expect(provider.create(inputs)).rejects.toThrow(
      `pool: "${missing}" is not a libvirt storage pool on this machine (qemu:///system). ` +
        `Create it (virsh pool-define-as ${missing} dir --target <folder>; virsh pool-build ${missing}; virsh pool-start ${missing}), ` +
        `or set createPool: { path: "<folder>" } to let ConvertedVolume create it.`,
    );
  });

  test("a pool without room for the converted image's worst case", async () => {
    const small = path.join(dir, "small");
    sh(["mkdir", "-p", small]);
    sh(["mount", "-t", "tmpfs", "-o", "size=4m", "nlt-volume-small", small]);
    const name = `nlt-volume-small-${process.pid}`;
    try {
      virshOut("pool-define-as", name, "dir", "--target", small);
      virshOut("pool-start", name);
      const before = sourceState([base, top]);
      await expect(
        provider.create({
          host: HOST,
          resourceName: "t",
          source: top,
          pool: name,
          volumeName: "big.qcow2",
        }),
      ).rejects.toThrow(
        new RegExp(
          `^pool "${name}" \\(${small}\\) has \\d+ bytes \\([\\d.]+ MiB\\) free on this machine, but the volume made from ${top.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} ` +
            `needs up to \\d+ bytes \\([\\d.]+ MiB\\) \\(qemu-img measure\\)\\. Free space there, or choose another pool\\.$`,
        ),
      );
      expect(readdirSync(small)).toEqual([]);
      expect(virshOut("vol-list", name).trim()).toBe("");
      expect(sourceState([base, top])).toEqual(before);
    } finally {
      sh(["virsh", "-q", "-c", "qemu:///system", "pool-destroy", name]);
      sh(["virsh", "-q", "-c", "qemu:///system", "pool-undefine", name]);
      sh(["umount", small]);
    }
  });

  test("a volume of the same name that this stack did not create is never overwritten", async () => {
    const taken = path.join(pool.path, "taken.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", taken, "1M");
    const hash = sha256(taken);
    try {
      await expect(
        provider.create({
          host: HOST,
          resourceName: "t",
          source: top,
          pool: pool.name,
          volumeName: "taken.qcow2",
        }),
      ).rejects.toThrow(
        `volumeName: "taken.qcow2" already exists in pool "${pool.name}" (${taken}), and this stack did not create it ` +
          `(or no longer tracks it, e.g. kept by retainOnDelete). ConvertedVolume never overwrites a volume: choose another volumeName, ` +
          `or delete the old volume (virsh vol-delete --pool ${pool.name} taken.qcow2) if it is not needed.`,
      );
      expect(sha256(taken)).toBe(hash);
      expectPoolUntouched(["taken.qcow2"]);
    } finally {
      sh(["rm", "-f", taken]);
      volumes(pool.name);
    }
  });
});

/** Runs every command as another user (setpriv), to see what an unprivileged qemu-img sees. */
class AsUser implements HostAccess {
  readonly label: string;
  constructor(
    private readonly inner: LocalHost,
    private readonly uid: string,
  ) {
    this.label = inner.label;
  }
  run(argv: readonly string[], options?: RunOptions) {
    return this.inner.run(
      ["setpriv", `--reuid=${this.uid}`, `--regid=${this.uid}`, "--clear-groups", "--", ...argv],
      options,
    );
  }
  readFile(p: string) {
    return this.inner.readFile(p);
  }
  writeFileAtomic(p: string, c: string, m?: number) {
    return this.inner.writeFileAtomic(p, c, m);
  }
  removeFile(p: string) {
    return this.inner.removeFile(p);
  }
  listDir(p: string) {
    return this.inner.listDir(p);
  }
  hasCommand(n: string) {
    return this.inner.hasCommand(n);
  }
  hold(argv: readonly string[], ready: string) {
    return this.inner.hold(
      ["setpriv", `--reuid=${this.uid}`, `--regid=${this.uid}`, "--clear-groups", "--", ...argv],
      ready,
    );
  }
}

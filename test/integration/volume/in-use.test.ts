import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import {
  chmodSync,
  existsSync,
  readlinkSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from "fs";
import * as path from "path";
import { FILE_HOLDERS_SCRIPT, parseFileHolders } from "../../../components/volume/holders";
import { provider } from "../../../components/volume/provider";
import {
  checkAndCreate,
  Outs,
  makePool,
  qemuImg,
  rmrf,
  sh,
  URI,
  virshOut,
  volumes,
  workDir,
  writeData,
} from "./helpers";

// A volume that a guest runs on is never deleted under it: a delete that
// finds any process holding the file (a libvirt domain's QEMU, a QEMU
// started by hand) refuses and names it. And a volume is the file this
// resource made, by device, inode and birth time: a file made later under
// the same name, even with the inode number of the old one, is not deleted.
// Costs a few seconds: one paused TCG QEMU and one tiny transient domain.

jest.setTimeout(120_000);

const dir = workDir("inuse");
chmodSync(dir, 0o755); // libvirt's QEMU opens the pool's files
const pool = makePool(dir, "inuse");
const src = path.join(dir, "src");
sh(["mkdir", "-p", src]);
const source = path.join(src, "disk.qcow2");
qemuImg("create", "-q", "-f", "qcow2", source, "16M");
writeData(source, "qcow2", 0x5a, [1]);
const domain = `nlt-volume-inuse-${process.pid}`;

afterAll(() => {
  spawnSync("virsh", ["-q", "-c", URI, "destroy", domain]);
  pool.remove();
  rmrf(dir);
});

/** Waits until process `pid` has `file` open (its /proc/<pid>/fd links). */
async function waitUntilHeld(pid: number, file: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const fds = existsSync(`/proc/${pid}/fd`) ? readdirSync(`/proc/${pid}/fd`) : [];
    const targets = fds.map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return "";
      }
    });
    if (targets.includes(file)) return;
    if (Date.now() > deadline)
      throw new Error(`pid ${pid} did not open ${file}: ${targets.join(", ")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The message delete gives for a file held by `who`. */
function inUse(file: string, who: string): string {
  return (
    `${file} is in use by ${who} on this machine: deleting it now would pull the disk from under a running guest, ` +
    `which loses everything written to it since it started. Shut the guest down first (virsh shutdown <domain>), then run again.`
  );
}

async function made(volumeName: string): Promise<{ id: string; outs: Outs }> {
  return checkAndCreate({ source, pool: pool.name, volumeName });
}

describe("the holders of a file, read from /proc in one command", () => {
  test("finds a process by the file it holds, through another name of the same file too", () => {
    const link = path.join(src, "hard-link.qcow2");
    sh(["ln", "-f", "--", source, link]);
    // A shell opens the file on descriptor 7, prints its pid, then runs the script on the other name.
    const out = execFileSync(
      "sh",
      ["-c", 'exec 7<"$1"; echo "$$"; sh -c "$2" sh "$3"', "sh", source, FILE_HOLDERS_SCRIPT, link],
      { encoding: "utf8" },
    );
    const [self, ...rest] = out.split("\n");
    const found = parseFileHolders(rest.join("\n"));
    expect(found.map((h) => h.pid)).toContain(Number(self));
    expect(found.find((h) => h.pid === Number(self))).toEqual({
      pid: Number(self),
      comm: "sh",
      cmdline: `sh\0-c\0exec 7<"$1"; echo "$$"; sh -c "$2" sh "$3"\0sh\0${source}\0${FILE_HOLDERS_SCRIPT}\0${link}\0`,
    });
    expect(
      execFileSync("sh", ["-c", FILE_HOLDERS_SCRIPT, "sh", path.join(src, "missing")], {
        encoding: "utf8",
      }),
    ).toBe("");
  });
});

describe("delete refuses while a guest holds the volume", () => {
  test("a QEMU started by hand (TCG, paused): named by its -name and pid; deleted once it is gone", async () => {
    const vol = await made("by-hand.qcow2");
    const file = vol.outs.path as string;
    const qemu: ChildProcess = spawn(
      "qemu-system-x86_64",
      [
        "-name",
        `guest=${domain}-hand`,
        "-machine",
        "none",
        "-accel",
        "tcg",
        "-nodefaults",
        "-display",
        "none",
        "-S",
        "-m",
        "16",
        "-drive",
        `file=${file},format=qcow2,if=none,id=d0`,
      ],
      { stdio: "ignore" },
    );
    try {
      await waitUntilHeld(qemu.pid!, file);
      await expect(provider.delete(vol.id, vol.outs)).rejects.toThrow(
        inUse(file, `the QEMU guest "${domain}-hand" started outside libvirt (pid ${qemu.pid})`),
      );
      expect(existsSync(file)).toBe(true);
      expect(volumes(pool.name)).toContain("by-hand.qcow2");
    } finally {
      qemu.kill("SIGKILL");
      await new Promise((r) => qemu.on("exit", r));
    }
    await provider.delete(vol.id, vol.outs);
    expect(existsSync(file)).toBe(false);
    expect(volumes(pool.name)).not.toContain("by-hand.qcow2");
  });

  test("a running libvirt domain: named by its domain name; deleted once it is off", async () => {
    const vol = await made("domain.qcow2");
    const file = vol.outs.path as string;
    const xml = path.join(dir, "domain.xml");
    writeFileSync(
      xml,
      `<domain type='qemu'><name>${domain}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>` +
        `<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>` +
        `<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>` +
        `<source pool='${pool.name}' volume='domain.qcow2'/><target dev='vda' bus='virtio'/></disk>` +
        `</devices></domain>`,
    );
    virshOut("create", xml);
    try {
      const pid = Number(sh(["cat", `/run/libvirt/qemu/${domain}.pid`]).trim());
      await waitUntilHeld(pid, file);
      await expect(provider.delete(vol.id, vol.outs)).rejects.toThrow(
        inUse(file, `the libvirt domain "${domain}" (qemu-system-x86, pid ${pid})`),
      );
      expect(existsSync(file)).toBe(true);
    } finally {
      virshOut("destroy", domain);
    }
    await provider.delete(vol.id, vol.outs);
    expect(existsSync(file)).toBe(false);
  });
});

describe("the volume is the file this resource made", () => {
  test("a file made later under its name, with the old file's inode number, is left in place", async () => {
    const vol = await made("reused.qcow2");
    const file = vol.outs.path as string;
    const inode = statSync(file).ino;
    // Someone removes the volume by hand and makes another file of that name with the same
    // inode number. The file system hands freed numbers out again, but not always the last
    // freed first (others freed before it, by this run or another process, may come first):
    // make files beside it until one gets the number, and give it the volume's name.
    sh(["rm", "-f", "--", file]);
    const tries: string[] = [];
    for (let i = 0; i < 200 && !existsSync(file); i++) {
      const next = `${file}.try${i}`;
      qemuImg("create", "-q", "-f", "qcow2", next, "1M");
      if (statSync(next).ino === inode) renameSync(next, file);
      else tries.push(next);
    }
    sh(["rm", "-f", "--", ...tries]);
    expect(statSync(file).ino).toBe(inode);
    await provider.delete(vol.id, vol.outs);
    expect(existsSync(file)).toBe(true);
    expect((await provider.read(vol.id, vol.outs)).id).toBe("");
    sh(["rm", "-f", "--", file]);
  });
});

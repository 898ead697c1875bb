import { execFileSync } from "child_process";
import { readdirSync } from "fs";
import * as path from "path";
import { generateEd25519, keyOnly } from "../../../components/host/openssh-key";
import { GuestFacts, parseProbe } from "../../../components/volume/guest-access";
import { provider } from "../../../components/volume/provider";
import { ensureStandinImage, StandinImage } from "../../support/standin";
import {
  checkAndCreate,
  HOST,
  makePool,
  Outs,
  qemuImg,
  rmrf,
  sourceState,
  volumes,
  withStderrLines,
  workDir,
} from "./helpers";

// rootAccess for real: the stand-in image (a VMware chain with LVM and XFS)
// converted with root's key written into the copy by libguestfs, then read
// back from the new volume by a guestfish of the test's own. Each guestfish
// boots libguestfs's appliance under TCG here: about 10 to 20 s a launch.

jest.setTimeout(15 * 60_000);

const dir = workDir("access");
const pool = makePool(dir, "access");
let image: StandinImage;
const made: Outs[] = [];

beforeAll(async () => {
  image = await ensureStandinImage();
}, 50 * 60_000);

afterAll(async () => {
  for (const outs of made) await provider.delete(outs.path, outs);
  pool.remove();
  rmrf(dir);
});

/** This machine's /dev/kvm is no use to QEMU: the test's own guestfish runs its appliance under TCG. */
const GUESTFISH_ENV = {
  ...process.env,
  LIBGUESTFS_BACKEND: "direct",
  LIBGUESTFS_BACKEND_SETTINGS: "force_tcg",
};

/** guestfish of the test's own, read-only, on one image: the same markers as the provider's look. */
function guestLook(file: string, format: string, script: string): GuestFacts {
  const out = execFileSync("guestfish", ["--ro", `--format=${format}`, "-a", file, "-i"], {
    input: `${script}\necho @@end\n`,
    encoding: "utf8",
    env: GUESTFISH_ENV,
  });
  return parseProbe(out);
}

/** guestfish writing into a test image of the test's own. */
function guestWrite(file: string, script: string): void {
  execFileSync("guestfish", ["--rw", "--format=qcow2", "-a", file, "-i"], {
    input: script,
    env: GUESTFISH_ENV,
  });
}

const READ_BACK = [
  "echo @@stat /root/.ssh",
  "lstatns /root/.ssh",
  "echo @@stat /root/.ssh/authorized_keys",
  "lstatns /root/.ssh/authorized_keys",
  "echo @@text /root/.ssh/authorized_keys",
  "cat /root/.ssh/authorized_keys",
].join("\n");

/** Nothing was left in the pool's folder and libvirt lists no volume but these. */
function expectPoolHolds(names: string[]): void {
  expect(readdirSync(pool.path).sort()).toEqual(names.sort());
  expect(volumes(pool.name).sort()).toEqual(names.sort());
}

test("the stand-in's copy gets exactly the stack's key (0600 in 0700, root's), its host key is read back, the source is untouched", async () => {
  const key = generateEd25519("nestlab-test");
  const before = sourceState([image.baseVmdk, image.deltaVmdk]);
  const started = Date.now();
  const { result, lines } = await withStderrLines("standin.qcow2", () =>
    checkAndCreate({
      source: image.deltaVmdk,
      pool: pool.name,
      volumeName: "standin.qcow2",
      rootAccess: { authorizedKey: key.publicKey },
    }),
  );
  made.push(result.outs);
  console.log(
    `conversion with rootAccess: ${((Date.now() - started) / 1000).toFixed(1)} s\n${lines.join("\n")}`,
  );
  expect(
    lines.some((l) =>
      /: root's SSH key written in \d+ s; host key read from \/etc\/ssh\/ssh_host_ed25519_key\.pub$/.test(
        l,
      ),
    ),
  ).toBe(true);
  expect(result.outs.hostKey).toBe(keyOnly(image.hostPublicKey));
  expect(result.outs.hostKeySource).toBe("/etc/ssh/ssh_host_ed25519_key.pub");
  expect(sourceState([image.baseVmdk, image.deltaVmdk])).toEqual(before);
  expectPoolHolds(["standin.qcow2"]);

  const facts = guestLook(result.outs.path, "qcow2", READ_BACK);
  expect(facts.files["/root/.ssh"]).toEqual({ type: "directory", mode: 0o700, uid: 0, gid: 0 });
  expect(facts.files["/root/.ssh/authorized_keys"]).toEqual({
    type: "file",
    mode: 0o600,
    uid: 0,
    gid: 0,
  });
  // Only the stack's key: the stand-in's own baked key is gone from the copy.
  expect(facts.texts["/root/.ssh/authorized_keys"]).toBe(key.publicKey);
  expect(facts.texts["/root/.ssh/authorized_keys"]).not.toContain(keyOnly(image.sshPublicKey));
});

describe("an image of the test's own (the stand-in flattened into a qcow2)", () => {
  let copy: string;
  beforeAll(() => {
    copy = path.join(dir, "own.qcow2");
    qemuImg("convert", "-f", "vmdk", "-O", "qcow2", image.deltaVmdk, copy);
  });

  test("with SELinux on and no host key: the key gets ssh_home_t, a host key is made, installed and pinned", async () => {
    guestWrite(
      copy,
      [
        "rm-f /etc/ssh/ssh_host_ed25519_key",
        "rm-f /etc/ssh/ssh_host_ed25519_key.pub",
        "mkdir-p /etc/selinux",
        'write /etc/selinux/config "SELINUX=enforcing\\nSELINUXTYPE=targeted\\n"',
        "",
      ].join("\n"),
    );
    const before = sourceState([copy]);
    const key = generateEd25519("nestlab-test");
    const { outs } = await checkAndCreate({
      source: copy,
      pool: pool.name,
      volumeName: "selinux.qcow2",
      rootAccess: { authorizedKey: key.publicKey },
    });
    made.push(outs);
    expect(outs.hostKeySource).toBe("generated");
    expect(outs.hostKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}$/);
    expect(sourceState([copy])).toEqual(before);
    const facts = guestLook(
      outs.path,
      "qcow2",
      [
        READ_BACK,
        "echo @@text label",
        "lgetxattr /root/.ssh/authorized_keys security.selinux",
        // A buffer, printed without a line end.
        "echo",
        "echo @@text dirlabel",
        "lgetxattr /root/.ssh security.selinux",
        "echo",
        "echo @@stat /etc/ssh/ssh_host_ed25519_key",
        "lstatns /etc/ssh/ssh_host_ed25519_key",
        "echo @@text /etc/ssh/ssh_host_ed25519_key.pub",
        "cat /etc/ssh/ssh_host_ed25519_key.pub",
      ].join("\n"),
    );
    expect(facts.texts["/root/.ssh/authorized_keys"]).toBe(key.publicKey);
    expect(facts.texts.label).toBe("system_u:object_r:ssh_home_t:s0");
    expect(facts.texts.dirlabel).toBe("system_u:object_r:ssh_home_t:s0");
    expect(facts.files["/etc/ssh/ssh_host_ed25519_key"]).toEqual({
      type: "file",
      mode: 0o600,
      uid: 0,
      gid: 0,
    });
    expect(keyOnly(facts.texts["/etc/ssh/ssh_host_ed25519_key.pub"])).toBe(outs.hostKey);
  });

  test("no /root: refused naming what was looked for; no volume, no leftover, the source untouched", async () => {
    guestWrite(copy, "rm-rf /root\n");
    const before = sourceState([copy]);
    const held = readdirSync(pool.path);
    await expect(
      checkAndCreate({
        source: copy,
        pool: pool.name,
        volumeName: "noroot.qcow2",
        rootAccess: { authorizedKey: generateEd25519("t").publicKey },
      }),
    ).rejects.toThrow(
      /^rootAccess: \/root is missing, not a directory \(root's home, where \.ssh\/authorized_keys goes\) in \/.*\/\.noroot\.qcow2\.nestlab-partial-[^ ]+ \(the operating system libguestfs found there.*the volume was not made\.$/,
    );
    expectPoolHolds(held);
    expect(sourceState([copy])).toEqual(before);
  });
});

test("an image with no filesystem libguestfs can read: refused naming what was looked for; no volume left", async () => {
  const blank = path.join(dir, "blank.qcow2");
  qemuImg("create", "-f", "qcow2", blank, "64M");
  const held = readdirSync(pool.path);
  await expect(
    checkAndCreate({
      source: blank,
      pool: pool.name,
      volumeName: "blank.qcow2",
      rootAccess: { authorizedKey: generateEd25519("t").publicKey },
    }),
  ).rejects.toThrow(
    /^rootAccess: libguestfs found no operating system in \/.*\/\.blank\.qcow2\.nestlab-partial-\S+: it looked on every partition and LVM volume for a root filesystem/,
  );
  expectPoolHolds(held);
  expect(HOST.libvirtUri).toBe("qemu:///system");
});

import { PreconditionError } from "../../../components/core/errors";
import { generateEd25519, keyOnly } from "../../../components/host/openssh-key";
import {
  checkWritten,
  GuestFacts,
  launchFailed,
  parseProbe,
  planAccess,
  probeScript,
  quote,
  selinuxOn,
  validateRootAccess,
  writeScript,
} from "../../../components/volume/guest-access";
import { guestfishArgv } from "../../../components/volume/guest-access-ops";
import { diffVolume } from "../../../components/volume/diff";

const KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb nestlab-rhce";
const HOST = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICcccccccccccccccccccccccccccccccccccccccccc";

/** guestfish's lstatns answer for a mode (other fields as it prints them). */
const stat = (mode: number, uid = 0) =>
  [
    `st_dev: 64768`,
    `st_ino: 131`,
    `st_mode: ${mode}`,
    `st_nlink: 1`,
    `st_uid: ${uid}`,
    `st_gid: ${uid}`,
  ].join("\n");
const DIR = 0o40755;
const FILE = 0o100644;
const LINK = 0o120777;

/** A look's output: each path's stat (or nothing: absent), each text. */
function look(stats: Record<string, number>, texts: Record<string, string> = {}): string {
  const out: string[] = [];
  for (const line of probeScript().split("\n")) {
    const m = /^echo (@@\w+) ?(.*)$/.exec(line);
    if (!m) continue;
    out.push(`${m[1]}${m[2] ? ` ${m[2]}` : ""}`);
    if (m[1] === "@@stat" && stats[m[2]] !== undefined) out.push(stat(stats[m[2]]));
    if (m[1] === "@@text" && texts[m[2]] !== undefined) out.push(texts[m[2]]);
  }
  return `${out.join("\n")}\n`;
}

const RHEL = { "/root": 0o40550, "/etc/ssh": DIR, "/etc/ssh/ssh_host_ed25519_key.pub": FILE };
const RHEL_TEXTS = {
  "/etc/ssh/ssh_host_ed25519_key.pub": `${HOST} root@classroom\n`,
  "/etc/selinux/config": "# comment\nSELINUX=enforcing\nSELINUXTYPE=targeted\n",
};
const never = () => {
  throw new Error("no key should be generated");
};

describe("the look", () => {
  it("runs read-only commands only, each path after a marker, to its end", () => {
    const script = probeScript();
    const commands = new Set(
      script
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(" ")[0]),
    );
    expect([...commands].sort()).toEqual(["-head-n", "-lstatns", "echo"]);
    expect(script).toContain("echo @@stat /root/.ssh\n-lstatns /root/.ssh\n");
    expect(script.endsWith("echo @@end\n")).toBe(true);
  });

  it("reads types, modes and owners; a path with no answer is absent", () => {
    const facts = parseProbe(look({ ...RHEL, "/root/.ssh": LINK }, RHEL_TEXTS));
    expect(facts.files["/root"]).toEqual({ type: "directory", mode: 0o550, uid: 0, gid: 0 });
    expect(facts.files["/root/.ssh"]).toEqual({ type: "symlink", mode: 0o777, uid: 0, gid: 0 });
    expect(facts.files["/root/.ssh/authorized_keys"]).toEqual({ type: "absent" });
    expect(facts.texts["/etc/ssh/ssh_host_ed25519_key.pub"]).toBe(`${HOST} root@classroom`);
    expect(facts.texts["/etc/ssh/ssh_host_rsa_key.pub"]).toBeUndefined();
  });

  it("refuses output that stops before its end (the appliance died)", () => {
    expect(() => parseProbe("@@stat /root\n")).toThrow(/^the guest's look ended early/);
  });
});

describe("planAccess", () => {
  it("pins the image's ed25519 host key (no comment) and sees SELinux on", () => {
    expect(planAccess(parseProbe(look(RHEL, RHEL_TEXTS)), "/p/.v", never)).toEqual({
      makeSshDir: true,
      hostKey: HOST,
      hostKeySource: "/etc/ssh/ssh_host_ed25519_key.pub",
      selinux: true,
    });
  });

  it("falls back to ecdsa, then rsa; a file that holds no key is refused", () => {
    const blob = Buffer.concat([
      Buffer.from([0, 0, 0, 7]),
      Buffer.from("ssh-rsa"),
      Buffer.from([0, 0, 0, 1, 3]),
    ]);
    const rsa = `ssh-rsa ${blob.toString("base64")}`;
    const noEd = { "/root": 0o40550, "/etc/ssh": DIR };
    const facts = parseProbe(
      look(
        { ...noEd, "/etc/ssh/ssh_host_rsa_key.pub": FILE },
        { "/etc/ssh/ssh_host_rsa_key.pub": `${rsa} root@x` },
      ),
    );
    expect(planAccess(facts, "v", never)).toMatchObject({
      hostKey: rsa,
      hostKeySource: "/etc/ssh/ssh_host_rsa_key.pub",
    });
    const bad = parseProbe(
      look(
        { ...noEd, "/etc/ssh/ssh_host_ecdsa_key.pub": FILE },
        { "/etc/ssh/ssh_host_ecdsa_key.pub": "garbage" },
      ),
    );
    expect(() => planAccess(bad, "v", never)).toThrow(
      'rootAccess: /etc/ssh/ssh_host_ecdsa_key.pub holds no public key ("garbage") in v',
    );
  });

  it("generates a host key when the image has none, and says so", () => {
    const gen = generateEd25519("root@nestlab");
    const facts = parseProbe(look({ "/root": DIR, "/root/.ssh": DIR, "/etc/ssh": DIR }));
    const plan = planAccess(facts, "v", () => gen);
    expect(plan).toEqual({
      makeSshDir: false,
      hostKey: keyOnly(gen.publicKey),
      hostKeySource: "generated",
      selinux: false,
    });
  });

  it.each([
    [
      "no /root",
      { "/etc/ssh": DIR },
      "/root is missing, not a directory (root's home, where .ssh/authorized_keys goes)",
    ],
    [
      "/root a link",
      { "/root": LINK, "/etc/ssh": DIR },
      "/root is a symlink, not a directory (root's home, where .ssh/authorized_keys goes)",
    ],
    [
      "/root/.ssh a link",
      { "/root": DIR, "/root/.ssh": LINK, "/etc/ssh": DIR },
      "/root/.ssh is a symlink, not a directory (a link could lead the key elsewhere)",
    ],
    [
      "authorized_keys a link",
      { "/root": DIR, "/root/.ssh": DIR, "/root/.ssh/authorized_keys": LINK, "/etc/ssh": DIR },
      "/root/.ssh/authorized_keys is a symlink, not a regular file",
    ],
    [
      "no /etc/ssh",
      { "/root": DIR },
      "/etc/ssh is missing: the image has no OpenSSH server configuration",
    ],
    [
      "a private host key without its public half",
      { "/root": DIR, "/etc/ssh": DIR, "/etc/ssh/ssh_host_ed25519_key": 0o100600 },
      "/etc/ssh/ssh_host_ed25519_key exists without a readable /etc/ssh/ssh_host_ed25519_key.pub",
    ],
  ])("refuses %s, naming what it looked for, before writing anything", (_what, stats, what) => {
    const facts = parseProbe(look(stats as Record<string, number>));
    const run = () => planAccess(facts, "/pool/.v.qcow2.nestlab-partial-1", never);
    expect(run).toThrow(PreconditionError);
    expect(run).toThrow(`rootAccess: ${what} in /pool/.v.qcow2.nestlab-partial-1 (`);
  });

  it("reads SELinux's mode from its config", () => {
    expect(selinuxOn("SELINUX=permissive\n")).toBe(true);
    expect(selinuxOn("SELINUX=disabled\n")).toBe(false);
    expect(selinuxOn("#SELINUX=enforcing\nSELINUX=disabled")).toBe(false);
    expect(selinuxOn(undefined)).toBe(false);
  });
});

describe("writeScript", () => {
  const access = { authorizedKey: KEY };

  it("makes authorized_keys anew with exactly the key, modes, owner, SELinux labels, then reads back", () => {
    const plan = planAccess(parseProbe(look(RHEL, RHEL_TEXTS)), "v", never);
    expect(writeScript(access, plan).split("\n")).toEqual([
      "mkdir-mode /root/.ssh 0700",
      "chmod 0700 /root/.ssh",
      "chown 0 0 /root/.ssh",
      "rm-f /root/.ssh/authorized_keys",
      `write /root/.ssh/authorized_keys "${KEY}\\n"`,
      "chmod 0600 /root/.ssh/authorized_keys",
      "chown 0 0 /root/.ssh/authorized_keys",
      'lsetxattr security.selinux "system_u:object_r:ssh_home_t:s0" 31 /root/.ssh',
      'lsetxattr security.selinux "system_u:object_r:ssh_home_t:s0" 31 /root/.ssh/authorized_keys',
      "echo @@stat /root/.ssh",
      "lstatns /root/.ssh",
      "echo @@stat /root/.ssh/authorized_keys",
      "lstatns /root/.ssh/authorized_keys",
      "echo @@text /root/.ssh/authorized_keys",
      "cat /root/.ssh/authorized_keys",
      "echo @@end",
      "",
    ]);
  });

  it("writes a generated host key's two halves, 0600 and 0644", () => {
    const gen = generateEd25519("root@nestlab");
    const plan = planAccess(parseProbe(look({ "/root": DIR, "/etc/ssh": DIR })), "v", () => gen);
    const script = writeScript(access, plan, gen);
    expect(script).toContain(
      `write /etc/ssh/ssh_host_ed25519_key ${quote(gen.privateKey)}\nchmod 0600 /etc/ssh/ssh_host_ed25519_key\nchown 0 0 /etc/ssh/ssh_host_ed25519_key\n`,
    );
    expect(script).toContain(
      `write /etc/ssh/ssh_host_ed25519_key.pub "${gen.publicKey}\\n"\nchmod 0644 /etc/ssh/ssh_host_ed25519_key.pub\n`,
    );
    expect(script).not.toContain("lsetxattr");
  });

  it("quotes only what keys and labels hold", () => {
    expect(quote("a b\nc")).toBe('"a b\\nc"');
    expect(() => quote('x"\nrm-rf /')).toThrow(/outside keys and labels/);
    expect(() => quote("x\\y")).toThrow(/outside keys and labels/);
  });
});

describe("checkWritten", () => {
  const facts = (mode: number, text: string): GuestFacts => ({
    files: {
      "/root/.ssh": { type: "directory", mode: 0o700, uid: 0, gid: 0 },
      "/root/.ssh/authorized_keys": { type: "file", mode, uid: 0, gid: 0 },
    },
    texts: { "/root/.ssh/authorized_keys": text },
  });
  it("accepts exactly the key, 0600, root's", () => {
    expect(() => checkWritten(facts(0o600, KEY), { authorizedKey: KEY }, "v")).not.toThrow();
  });
  it("refuses another mode or content", () => {
    expect(() => checkWritten(facts(0o644, KEY), { authorizedKey: KEY }, "v")).toThrow(
      /^rootAccess: after writing v, \/root\/\.ssh\/authorized_keys reads back as \{"type":"file","mode":420/,
    );
    expect(() => checkWritten(facts(0o600, `${KEY}\nother`), { authorizedKey: KEY }, "v")).toThrow(
      "/root/.ssh/authorized_keys does not hold exactly the key",
    );
  });
});

describe("launchFailed", () => {
  it("tells an appliance that never started from a command that failed", () => {
    expect(
      launchFailed(
        "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nlibguestfs: error: guestfs_launch failed.\n",
      ),
    ).toBe(true);
    expect(
      launchFailed("libguestfs: error: write: /root/.ssh/authorized_keys: Permission denied\n"),
    ).toBe(false);
  });
});

describe("the argument and the plan", () => {
  it("validates rootAccess", () => {
    expect(validateRootAccess(undefined)).toBeUndefined();
    expect(validateRootAccess({ authorizedKey: KEY })).toEqual({ authorizedKey: KEY });
    expect(() => validateRootAccess({ authorizedKey: "AAAA" })).toThrow(
      /^rootAccess\.authorizedKey: "AAAA" is not valid; expected one public key line/,
    );
    expect(() => validateRootAccess("ssh-ed25519 AAAA")).toThrow(
      /^rootAccess: "ssh-ed25519 AAAA" is not valid/,
    );
  });

  it("runs guestfish on the one file, its format pinned, the OS mounted", () => {
    expect(guestfishArgv("/pool/.v.partial", "qcow2", "ro")).toEqual([
      "guestfish",
      "--ro",
      "--format=qcow2",
      "-a",
      "/pool/.v.partial",
      "-i",
    ]);
  });

  it("replaces the volume when the key changes, and only then", () => {
    const state = {
      host: { libvirtUri: "qemu:///system", rootDir: "" },
      source: "/s.vmdk",
      pool: "p",
      volumeName: "v.qcow2",
      rootAccess: { authorizedKey: KEY },
    };
    expect(diffVolume(state, { ...state }).replaces).toEqual([]);
    expect(diffVolume(state, { ...state, rootAccess: { authorizedKey: HOST } })).toEqual({
      changes: true,
      replaces: ["rootAccess"],
      deleteBeforeReplace: true,
    });
    expect(diffVolume({ ...state, rootAccess: undefined }, state).replaces).toEqual(["rootAccess"]);
  });
});

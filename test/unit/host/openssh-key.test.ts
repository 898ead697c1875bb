import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import * as os from "os";
import * as path from "path";
import {
  ed25519FromParts,
  generateEd25519,
  keyOnly,
  publicKeyOf,
  validatePublicKeyLine,
} from "../../../components/host/openssh-key";

// The keys are checked by OpenSSH's own ssh-keygen: what it reads back from
// the private key must be the public line made beside it.
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "nlt-sshkey-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keygenPublic(privateKey: string): string {
  const file = path.join(dir, `k${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, privateKey, { mode: 0o600 });
  return execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).trim();
}

describe("generateEd25519", () => {
  it("makes a key ssh-keygen reads, whose public half is the public line", () => {
    const pair = generateEd25519("nestlab-rhce");
    expect(pair.privateKey).toMatch(
      /^-----BEGIN OPENSSH PRIVATE KEY-----\n([A-Za-z0-9+/=]{70}\n)+[A-Za-z0-9+/=]{1,70}\n-----END OPENSSH PRIVATE KEY-----\n$/,
    );
    expect(pair.publicKey).toMatch(
      /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} nestlab-rhce$/,
    );
    expect(keygenPublic(pair.privateKey)).toBe(pair.publicKey);
    expect(publicKeyOf(pair.privateKey, "k")).toBe(keyOnly(pair.publicKey));
  });

  it("makes a new key each time", () => {
    expect(generateEd25519("a").publicKey).not.toBe(generateEd25519("a").publicKey);
  });

  it("serialises the same parts to the same bytes (the layout of openssh-key-v1)", () => {
    const seed = Buffer.alloc(32, 1);
    const pub = Buffer.alloc(32, 2);
    const pair = ed25519FromParts(seed, pub, "c", Buffer.from([9, 9, 9, 9]));
    const body = Buffer.from(
      pair.privateKey.replace(/-----[A-Z ]+-----/g, "").replace(/\s/g, ""),
      "base64",
    );
    // magic, "none", "none", "", 1 key, its public blob (4+11+4+32 bytes in a string)
    expect(body.subarray(0, 15).toString("latin1")).toBe("openssh-key-v1\0");
    expect(body.readUInt32BE(15)).toBe(4);
    expect(body.subarray(19, 23).toString()).toBe("none");
    expect(body.readUInt32BE(31)).toBe(0);
    expect(body.readUInt32BE(35)).toBe(1);
    expect(body.readUInt32BE(39)).toBe(51);
    // private section: checkints, type, pub, seed||pub, comment, padding 1..n to 8
    const section = body.subarray(39 + 4 + 51 + 4);
    expect(section.length % 8).toBe(0);
    expect([...section.subarray(0, 8)]).toEqual([9, 9, 9, 9, 9, 9, 9, 9]);
    // 8 + 15 + 36 + 68 + 5 = 132 bytes: padded with 1, 2, 3, 4.
    expect(section.length).toBe(136);
    expect(section.subarray(-4).toString("hex")).toBe("01020304");
  });

  it("refuses a comment that could break a line", () => {
    expect(() => generateEd25519('a"b')).toThrow(
      'comment: "a\\"b" is not valid; expected letters, digits and @ . _ + - (at most 100).',
    );
  });
});

describe("publicKeyOf", () => {
  it.each(["rsa", "ecdsa"])("reads the public key of an %s key ssh-keygen made", (type) => {
    const file = path.join(dir, `id_${type}`);
    execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "x", "-f", file]);
    expect(publicKeyOf(readFileSync(file, "utf8"), "k")).toBe(
      keyOnly(readFileSync(`${file}.pub`, "utf8")),
    );
  });

  it("refuses a key under a passphrase, and a PEM key, naming the argument and the fix", () => {
    const enc = path.join(dir, "enc");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret-pass", "-f", enc]);
    expect(() => publicKeyOf(readFileSync(enc, "utf8"), "classroomAccess.privateKey")).toThrow(
      /^classroomAccess\.privateKey: "\[secret\]" is not valid; expected an OpenSSH private key without a passphrase .*it is encrypted with aes256-ctr: remove the passphrase with `ssh-keygen -p`\)\.$/,
    );
    const pem = path.join(dir, "pem");
    execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f", pem]);
    expect(() => publicKeyOf(readFileSync(pem, "utf8"), "k")).toThrow(
      /convert a PEM key with `ssh-keygen -p -f <file>`/,
    );
    // The key's text is never in the message.
    expect(() => publicKeyOf("garbage-key-text", "k")).toThrow(/^k: "\[secret\]" is not valid/);
  });
});

describe("validatePublicKeyLine", () => {
  const good = generateEd25519("a@b").publicKey;
  it("takes a key line with or without a comment", () => {
    expect(validatePublicKeyLine(good, "k")).toBe(good);
    expect(validatePublicKeyLine(keyOnly(good), "k")).toBe(keyOnly(good));
  });
  it.each([
    ["options before the key", `command="/bin/sh" ${good}`],
    ["two lines", `${good}\n${good}`],
    ["a type its blob does not say", good.replace("ssh-ed25519", "ssh-rsa")],
    ["a quote in the comment", `${keyOnly(good)} a"b`],
    ["no blob", "ssh-ed25519"],
  ])("refuses %s", (_what, line) => {
    expect(() => validatePublicKeyLine(line, "rootAccess.authorizedKey")).toThrow(
      /^rootAccess\.authorizedKey: .* is not valid; expected one public key line/,
    );
  });
});

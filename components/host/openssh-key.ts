import { generateKeyPairSync, randomBytes } from "crypto";
import { InvalidArgumentError } from "../core/errors";

/**
 * SSH keys as OpenSSH writes them: an ed25519 pair made with Node's crypto
 * and serialised to the `openssh-key-v1` private key format (PROTOCOL.key in
 * OpenSSH's sources) and an authorized_keys line; the public key read out of
 * a private key; an authorized_keys line checked. No processes: the tests
 * compare with `ssh-keygen -y`.
 */

export interface SshKeyPair {
  /** "-----BEGIN OPENSSH PRIVATE KEY-----\n…": a secret. */
  readonly privateKey: string;
  /** "ssh-ed25519 AAAA… comment": one authorized_keys line, no newline. */
  readonly publicKey: string;
}

const MAGIC = Buffer.from("openssh-key-v1\0", "latin1");
const PEM_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----";
const PEM_END = "-----END OPENSSH PRIVATE KEY-----";

/** The key types an authorized_keys line may name (OpenSSH 6.5 and later read all of them). */
export const PUBLIC_KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
] as const;

/** A comment that stays one word-safe line in any file it is written to. */
const COMMENT = /^[A-Za-z0-9@._+-]{0,100}$/;

/** A new ed25519 key pair; `comment` ends the public line and is kept in the private key. */
export function generateEd25519(comment: string): SshKeyPair {
  if (!COMMENT.test(comment)) {
    throw new InvalidArgumentError(
      "comment",
      comment,
      "letters, digits and @ . _ + - (at most 100)",
    );
  }
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  const seed = Buffer.from(jwk.d!, "base64url");
  const pub = Buffer.from(jwk.x!, "base64url");
  return ed25519FromParts(seed, pub, comment, randomBytes(4));
}

/** The OpenSSH serialisation of an ed25519 key from its 32-byte seed and public key (exported for tests). */
export function ed25519FromParts(
  seed: Buffer,
  pub: Buffer,
  comment: string,
  check: Buffer,
): SshKeyPair {
  const type = sshString("ssh-ed25519");
  const publicBlob = Buffer.concat([type, sshString(pub)]);
  const body = Buffer.concat([
    check,
    check,
    type,
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  // Padded 1, 2, 3, … to the cipher's block size (8 for "none").
  const pad = Buffer.from(Array.from({ length: (8 - (body.length % 8)) % 8 }, (_, i) => i + 1));
  const file = Buffer.concat([
    MAGIC,
    sshString("none"),
    sshString("none"),
    sshString(""),
    uint32(1),
    sshString(publicBlob),
    sshString(Buffer.concat([body, pad])),
  ]);
  const lines = file.toString("base64").match(/.{1,70}/g)!;
  return {
    privateKey: `${PEM_BEGIN}\n${lines.join("\n")}\n${PEM_END}\n`,
    publicKey: `ssh-ed25519 ${publicBlob.toString("base64")}${comment ? ` ${comment}` : ""}`,
  };
}

/**
 * The public key of an OpenSSH private key ("type base64", no comment): the
 * format keeps it in the clear. Refuses a key under a passphrase (the
 * providers cannot type one) and the older PEM formats, naming `argument`.
 */
export function publicKeyOf(privateKey: string, argument: string): string {
  const refuse = (why: string): never => {
    throw new InvalidArgumentError(
      argument,
      "[secret]",
      `an OpenSSH private key without a passphrase ("${PEM_BEGIN}", as ssh-keygen writes it; ${why})`,
    );
  };
  const text = privateKey.trim();
  if (!text.startsWith(PEM_BEGIN) || !text.endsWith(PEM_END)) {
    return refuse("convert a PEM key with `ssh-keygen -p -f <file>`");
  }
  const data = Buffer.from(
    text.slice(PEM_BEGIN.length, -PEM_END.length).replace(/\s+/g, ""),
    "base64",
  );
  if (!data.subarray(0, MAGIC.length).equals(MAGIC))
    return refuse("its header is not openssh-key-v1");
  const reader = new SshReader(data, MAGIC.length);
  try {
    const cipher = reader.string().toString("latin1");
    if (cipher !== "none")
      return refuse(`it is encrypted with ${cipher}: remove the passphrase with \`ssh-keygen -p\``);
    reader.string();
    reader.string();
    if (reader.uint32() !== 1) return refuse("it holds more than one key");
    const blob = reader.string();
    const type = new SshReader(blob, 0).string().toString("latin1");
    if (!(PUBLIC_KEY_TYPES as readonly string[]).includes(type))
      return refuse(`its type ${type} is not one of ${PUBLIC_KEY_TYPES.join(", ")}`);
    return `${type} ${blob.toString("base64")}`;
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    return refuse("it is cut short");
  }
}

/**
 * Checks one authorized_keys (or known_hosts key) line: a known type, its
 * base64 blob naming the same type, an optional plain comment. No options
 * (`command=…`): the line is written as it is into a guest's file.
 */
export function validatePublicKeyLine(value: unknown, argument: string): string {
  const allowed = `one public key line, "ssh-ed25519 AAAA… comment" (${PUBLIC_KEY_TYPES.join(", ")}; a comment of letters, digits and @ . _ + -)`;
  if (typeof value !== "string") throw new InvalidArgumentError(argument, value, allowed);
  const m = /^([a-z0-9-]+) ([A-Za-z0-9+/]+={0,2})(?: ([^\s]*))?$/.exec(value);
  if (!m || !(PUBLIC_KEY_TYPES as readonly string[]).includes(m[1]) || !COMMENT.test(m[3] ?? "")) {
    throw new InvalidArgumentError(argument, value, allowed);
  }
  let inner: string;
  try {
    inner = new SshReader(Buffer.from(m[2], "base64"), 0).string().toString("latin1");
  } catch {
    throw new InvalidArgumentError(argument, value, allowed);
  }
  if (inner !== m[1])
    throw new InvalidArgumentError(argument, value, `${allowed}: its blob says ${inner}`);
  return value;
}

/** "type base64" of a key line: what identifies the key, without its comment. */
export function keyOnly(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(" ");
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function sshString(value: string | Buffer): Buffer {
  const data = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  return Buffer.concat([uint32(data.length), data]);
}

/** Reads SSH wire strings; throws RangeError past the end. */
class SshReader {
  constructor(
    private readonly data: Buffer,
    private offset: number,
  ) {}

  uint32(): number {
    const n = this.data.readUInt32BE(this.offset);
    this.offset += 4;
    return n;
  }

  string(): Buffer {
    const length = this.uint32();
    if (this.offset + length > this.data.length) throw new RangeError("past the end");
    const s = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return s;
  }
}

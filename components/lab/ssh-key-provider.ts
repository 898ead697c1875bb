import { InvalidArgumentError } from "../core/errors";
import { checkFailures } from "../host/check-failures";
import { generateEd25519, validatePublicKeyLine } from "../host/openssh-key";
import { asGiven, HostProvider } from "../host/provider";

/**
 * An SSH key pair the stack makes once and keeps in its state: the private
 * key only as a secret output. Nothing on any host; `delete` forgets it.
 */
export interface SshKeyInputs {
  /** The public line's comment. */
  readonly comment: string;
}

export interface SshKeyOutputs extends SshKeyInputs {
  /** OpenSSH private key (a secret output). */
  readonly privateKey: string;
  /** "ssh-ed25519 AAAA… comment". */
  readonly publicKey: string;
}

export const provider: HostProvider<SshKeyInputs, SshKeyOutputs> = {
  async check(_olds, news) {
    try {
      validateComment(news.comment);
      return asGiven(news);
    } catch (e) {
      return asGiven(news, checkFailures(e));
    }
  },
  /** Only another comment is another key; nothing else the key depends on. */
  async diff(_id, olds, news) {
    const replaces = olds.comment === news.comment ? [] : ["comment"];
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },
  async create(inputs) {
    const pair = generateEd25519(inputs.comment);
    validatePublicKeyLine(pair.publicKey, "publicKey");
    return { id: pair.publicKey.split(" ")[1].slice(-16), outs: { ...inputs, ...pair } };
  },
  async read(id, props) {
    return { id, props };
  },
  async update(_id, olds) {
    return { outs: olds };
  },
  async delete() {},
};

function validateComment(comment: unknown): void {
  if (typeof comment !== "string" || !/^[A-Za-z0-9@._+-]{0,100}$/.test(comment)) {
    throw new InvalidArgumentError(
      "comment",
      comment,
      "letters, digits and @ . _ + - (at most 100)",
    );
  }
}

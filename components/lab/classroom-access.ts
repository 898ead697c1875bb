import * as pulumi from "@pulumi/pulumi";
import { publicKeyOf } from "../host/openssh-key";
import { SshKey } from "./ssh-key";

/**
 * How the stack gets into the classroom host of an image that lets nobody
 * in: root's key written into the converted copy (ConvertedVolume
 * `rootAccess`) and the host key read back from it.
 */
export interface ClassroomAccessArgs {
  /**
   * root's private key (OpenSSH format, no passphrase), a secret: its public
   * half is written into the classroom disk.
   * @default - an ed25519 key the stack makes (`<name>-key`) and keeps as a secret
   */
  readonly privateKey?: pulumi.Input<string>;
}

export interface ClassroomAccess {
  /** A secret. */
  readonly privateKey: pulumi.Output<string>;
  /** The authorized_keys line written into the disk. */
  readonly publicKey: pulumi.Output<string>;
  /** The stack's own key, when it made one. */
  readonly key?: SshKey;
}

/** The key: the one given, or one the stack makes (`<name>-key`). */
export function classroomAccess(
  name: string,
  args: ClassroomAccessArgs,
  opts: pulumi.CustomResourceOptions,
): ClassroomAccess {
  if (args.privateKey === undefined) {
    const key = new SshKey(`${name}-key`, { comment: `nestlab-${name}` }, opts);
    return { privateKey: pulumi.secret(key.privateKey), publicKey: key.publicKey, key };
  }
  const privateKey = pulumi.secret(args.privateKey);
  return {
    privateKey,
    // The public half is no secret: the review and the state may show it.
    publicKey: pulumi.unsecret(
      privateKey.apply((k) => publicKeyOf(k, "classroomAccess.privateKey")),
    ),
  };
}

import * as pulumi from "@pulumi/pulumi";
import { HostResource } from "../host/host-resource";
import type { ResourceInputs } from "../host/provider";
import type { SshKeyInputs } from "./ssh-key-provider";

/**
 * An ed25519 SSH key pair made by the stack (Node's crypto, OpenSSH's
 * format) and kept in its state: `privateKey` is a secret output,
 * `publicKey` a plain one. Made once; the same key on every later `up`.
 * `pulumi-nodejs:dynamic/nestlab:SshKey`.
 */
export class SshKey extends HostResource {
  declare readonly privateKey: pulumi.Output<string>;
  declare readonly publicKey: pulumi.Output<string>;

  constructor(name: string, args: { comment: string }, opts?: pulumi.CustomResourceOptions) {
    super(
      "SshKey",
      require.resolve("./ssh-key-provider"),
      name,
      {
        ...({ comment: args.comment } satisfies ResourceInputs<SshKeyInputs>),
        privateKey: undefined,
        publicKey: undefined,
      },
      { ...opts, additionalSecretOutputs: ["privateKey"] },
    );
  }
}

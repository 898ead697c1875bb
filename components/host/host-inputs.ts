import * as pulumi from "@pulumi/pulumi";
import { HostConnection, HostSpec, PlainHostConnection, resolveHost } from "./connection";

/**
 * The host part of every dynamic resource's inputs: the plain, validated
 * connection and, apart from it, the SSH key as a secret. Keeping the key in
 * a property of its own lets the resource mark exactly that output secret
 * (`additionalSecretOutputs: [SECRET_HOST_OUTPUTS]`), and lets `delete` reach
 * the host from the state alone.
 */
export interface HostInputs {
  readonly host: pulumi.Output<HostSpec>;
  readonly sshPrivateKey: pulumi.Output<string | undefined>;
}

export const SECRET_HOST_OUTPUTS = ["sshPrivateKey"];

export function hostInputs(
  conn: pulumi.Input<HostConnection> | undefined,
  argName = "host",
): HostInputs {
  const resolved = pulumi
    .output(conn ?? {})
    .apply((c) => resolveHost(c as PlainHostConnection, argName));
  return {
    host: resolved.apply((r) => r.spec),
    sshPrivateKey: pulumi.secret(resolved.apply((r) => r.privateKey)),
  };
}

import * as pulumi from "@pulumi/pulumi";
import { DYNAMIC_MODULE, providerFromModule, providerModuleId } from "./dynamic";
import { SECRET_HOST_OUTPUTS } from "./host-inputs";

/**
 * The base of every custom resource of this project: a dynamic resource
 * `pulumi-nodejs:dynamic/nestlab:<type>` whose provider is the one the module
 * file `providerModule` exports (`require.resolve("./provider")`; see
 * providerFromModule: the state records only its id), and whose host's SSH key
 * is always a secret output (SECRET_HOST_OUTPUTS), with any the caller adds.
 */
export class HostResource extends pulumi.dynamic.Resource {
  constructor(
    type: string,
    providerModule: string,
    name: string,
    props: pulumi.Inputs,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      providerFromModule(providerModuleId(providerModule)),
      name,
      props,
      {
        ...opts,
        additionalSecretOutputs: [...SECRET_HOST_OUTPUTS, ...(opts?.additionalSecretOutputs ?? [])],
      },
      DYNAMIC_MODULE,
      type,
    );
  }
}

/**
 * The options of a component's child: `{ parent }`, and the component's own
 * retainOnDelete, which the engine does not pass on to children (protect it
 * does): set on a component, it keeps everything the component made.
 */
export function childOptions(
  parent: pulumi.ComponentResource,
  opts: pulumi.ComponentResourceOptions | undefined,
  more: pulumi.CustomResourceOptions = {},
): pulumi.CustomResourceOptions {
  return opts?.retainOnDelete === undefined
    ? { ...more, parent }
    : { ...more, parent, retainOnDelete: opts.retainOnDelete };
}

import * as pulumi from "@pulumi/pulumi";
import { HostResource } from "../host/host-resource";
import { hostInputs } from "../host/host-inputs";
import { HostConnection } from "../host/connection";
import type { ResourceInputs } from "../host/provider";
import { DEFAULT_SHUTDOWN_TIMEOUT_SECONDS } from "../domain/resolve";
import type { LabMachineInputs } from "./lab-machine-provider";

export interface LabMachineArgs {
  /** The classroom host, reached over SSH; commands run on it. */
  readonly classroomHost: pulumi.Input<HostConnection>;
  /** The machine's libvirt name inside the classroom host. */
  readonly domainName: pulumi.Input<string>;
  /**
   * The classroom host's domain name, as the NestedDomain's output: the
   * machine then goes with that domain when the engine replaces it (a new
   * disk, a new name): stopped before it, started again inside the new one.
   * @default - not tied to the domain
   */
  readonly classroomDomainName?: pulumi.Input<string>;
  /** @default 300 */
  readonly bootTimeoutSeconds?: pulumi.Input<number>;
  /** @default 60 */
  readonly shutdownTimeoutSeconds?: pulumi.Input<number>;
}

/** How long the classroom host may take to answer SSH after it starts (a TCG guest boots slowly). */
const DEFAULT_BOOT_TIMEOUT_SECONDS = 300;

/**
 * One lab machine inside the classroom host, running. The image defines it;
 * this resource starts it, shows its state on refresh and stops it on
 * destroy. `pulumi-nodejs:dynamic/nestlab:LabMachine`.
 */
export class LabMachine extends HostResource {
  declare readonly domainName: pulumi.Output<string>;
  /** libvirt's state of the machine inside the classroom host. */
  declare readonly state: pulumi.Output<string>;

  constructor(name: string, args: LabMachineArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      "LabMachine",
      require.resolve("./lab-machine-provider"),
      name,
      {
        ...({
          ...hostInputs(args.classroomHost, "classroomHost"),
          domainName: args.domainName,
          classroomDomainName: args.classroomDomainName,
          bootTimeoutSeconds: args.bootTimeoutSeconds ?? DEFAULT_BOOT_TIMEOUT_SECONDS,
          shutdownTimeoutSeconds: args.shutdownTimeoutSeconds ?? DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
        } satisfies ResourceInputs<LabMachineInputs>),
        state: undefined,
      },
      opts,
    );
  }
}

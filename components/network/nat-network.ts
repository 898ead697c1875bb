import * as pulumi from "@pulumi/pulumi";
import { childOptions, HostResource } from "../host/host-resource";
import { validateKnown } from "../core/known";
import { hostInputs } from "../host/host-inputs";
import { HostConnection } from "../host/connection";
import { ForwardMode, validateNetworkSpec } from "./network-xml";
import type { NetworkGivenInputs } from "./provider";
import type { ResourceInputs } from "../host/provider";

export interface NatNetworkArgs {
  /** The libvirt host. @default - this machine, qemu:///system */
  readonly host?: pulumi.Input<HostConnection>;
  /** The libvirt network name; a domain's NIC names it (`networks: [{ network }]`). */
  readonly networkName: pulumi.Input<string>;
  /** "nat" (to the host's uplink), "route", or "isolated". @default "nat" */
  readonly mode?: pulumi.Input<ForwardMode>;
  /** The host bridge's name. @default - chosen by libvirt (virbrN) */
  readonly bridgeName?: pulumi.Input<string>;
  /** The host's IPv4 address on the network, e.g. "192.168.100.1". */
  readonly address: pulumi.Input<string>;
  /** @default 24 */
  readonly prefixLength?: pulumi.Input<number>;
  /** The DHCP range. @default - no DHCP */
  readonly dhcp?: pulumi.Input<{ start: pulumi.Input<string>; end: pulumi.Input<string> }>;
  /** Start with libvirtd. @default true */
  readonly autostart?: pulumi.Input<boolean>;
}

class NetworkResource extends HostResource {
  declare readonly uuid: pulumi.Output<string>;
  declare readonly bridge: pulumi.Output<string>;
  declare readonly networkName: pulumi.Output<string>;

  constructor(
    name: string,
    props: ResourceInputs<NetworkGivenInputs>,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      "Network",
      require.resolve("./provider"),
      name,
      { ...props, uuid: undefined, bridge: undefined, active: undefined },
      opts,
    );
  }
}

/**
 * A libvirt virtual network (NAT by default) that the stack defines, starts
 * and removes: what the classroom host's NIC plugs into when it needs no
 * host bridge. A network of that name that the stack did not make is never
 * taken over.
 */
export class NatNetwork extends pulumi.ComponentResource {
  readonly networkName: pulumi.Output<string>;
  readonly uuid: pulumi.Output<string>;
  /** The host bridge libvirt made. */
  readonly bridge: pulumi.Output<string>;
  /**
   * The network's name for a domain's NIC, known only once the network
   * exists: a domain planned in the same update as its network is not
   * checked against a network that is still to be made.
   */
  readonly ref: pulumi.Output<string>;

  constructor(name: string, args: NatNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nestlab:network:NatNetwork", name, {}, opts);
    validateKnown(this, args, validateNetworkSpec);
    const net = new NetworkResource(
      name,
      {
        ...hostInputs(args.host),
        networkName: args.networkName,
        mode: args.mode,
        bridgeName: args.bridgeName,
        address: args.address,
        prefixLength: args.prefixLength,
        dhcp: args.dhcp,
        autostart: args.autostart,
      },
      childOptions(this, opts),
    );
    this.networkName = net.networkName;
    this.uuid = net.uuid;
    this.bridge = net.bridge;
    this.ref = pulumi.all([net.networkName, net.uuid]).apply(([networkName]) => networkName);
    this.registerOutputs({ networkName: this.networkName, uuid: this.uuid, bridge: this.bridge });
  }
}

import * as pulumi from "@pulumi/pulumi";
import { isEventual, isPlainObject, knownParts, validateKnown } from "../core/known";
import { childOptions, HostResource } from "../host/host-resource";
import { hostInputs } from "../host/host-inputs";
import {
  NestedDomainArgs,
  NestedDomainDiskArgs,
  NestedDomainVncArgs,
  NestedDomainVolumeRef,
} from "./args";
import { DomainInputs } from "./inputs";
import { DOMAIN_SPEC_KEYS, DomainSpec } from "./spec";
import { validateDomainSpec, validateVncPassword } from "./validate";

export * from "./args";

/**
 * A nested-capable libvirt domain: typed arguments rendered into domain XML
 * and defined, started, updated (live, restart or replace, shown in the
 * preview as `updatePlan`), shut down and undefined by a dynamic provider
 * that runs virsh on the host.
 */
export class NestedDomain extends pulumi.ComponentResource {
  /** The domain's UUID. */
  readonly uuid: pulumi.Output<string>;
  readonly domainName: pulumi.Output<string>;
  /** The domain XML that was defined (without the VNC password). */
  readonly xml: pulumi.Output<string>;
  /** libvirt's state: "running", "shut off", … */
  readonly state: pulumi.Output<string>;
  /** host:port of the VNC server, or null (no VNC, or autoport and not running). */
  readonly vncAddress: pulumi.Output<string | null>;
  /** host:port of a TCP serial console, or the pty/socket/file path; null without one. */
  readonly serialAddress: pulumi.Output<string | null>;
  /** The NICs' MAC addresses, in the order of `networks`. */
  readonly macs: pulumi.Output<string[]>;
  /** Addresses from DHCP leases or the guest agent; empty when unknown. */
  readonly ipAddresses: pulumi.Output<string[]>;
  /** The memory the running guest has, read back (`virsh dominfo`); null when it is not running. */
  readonly liveMemoryMiB: pulumi.Output<number | null>;
  /**
   * What the running guest does not have yet ("memoryMiB", "vcpus"): the
   * definition holds it, and the guest gets it when it next starts. Memory
   * moves live only through the guest's balloon driver.
   */
  readonly pendingRestart: pulumi.Output<string[]>;

  constructor(name: string, args: NestedDomainArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nestlab:domain:NestedDomain", name, {}, opts);
    const owner = `${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
    const vncArgs = isPlainObject(args.vnc) ? (args.vnc as NestedDomainVncArgs) : undefined;
    const passwordGiven = vncArgs ? vncArgs.password !== undefined : args.vnc !== undefined;
    validateKnown(
      this,
      args,
      (known) => {
        validateDomainSpec({ ...(known as DomainSpec), owner }, { vncPasswordSet: passwordGiven });
        if (vncArgs) validateVncPassword(knownParts(vncArgs.password));
      },
      ["host", "password"],
    );
    const vnc = args.vnc === undefined ? undefined : pulumi.output(args.vnc);
    const given = Object.fromEntries(
      DOMAIN_SPEC_KEYS.filter((k) => k !== "owner").map((k) => [k, args[k]]),
    ) as Omit<NestedDomainResourceInputs, "owner" | "host" | "sshPrivateKey" | "vncPassword">;
    const domain = new NestedDomainResource(
      name,
      {
        ...given,
        ...hostInputs(args.host),
        disks: diskInputs(args.disks),
        // The password travels as its own secret property; the rest of vnc stays readable.
        vnc: vnc && pulumi.unsecret(vnc.apply(({ password: _password, ...rest }) => rest)),
        vncPassword: vnc && pulumi.secret(vnc.apply((v) => v.password)),
        owner,
      },
      childOptions(this, opts),
    );
    this.uuid = domain.uuid;
    this.domainName = domain.domainName;
    this.xml = domain.xml;
    this.state = domain.state;
    this.vncAddress = domain.vncAddress;
    this.serialAddress = domain.serialAddress;
    this.macs = domain.macs;
    this.ipAddresses = domain.ipAddresses;
    this.liveMemoryMiB = domain.liveMemoryMiB;
    this.pendingRestart = domain.pendingRestart;
    this.registerOutputs({
      uuid: this.uuid,
      domainName: this.domainName,
      xml: this.xml,
      state: this.state,
      vncAddress: this.vncAddress,
      serialAddress: this.serialAddress,
      macs: this.macs,
      ipAddresses: this.ipAddresses,
      liveMemoryMiB: this.liveMemoryMiB,
      pendingRestart: this.pendingRestart,
    });
  }
}

/** Only a volume's pool and name go to the provider (a ConvertedVolume object carries much more). */
function diskInputs(
  disks: NestedDomainArgs["disks"],
): pulumi.Input<pulumi.Input<NestedDomainDiskArgs>[]> {
  if (isEventual(disks))
    return pulumi.output(disks).apply((ds) => ds.map((d) => pickDisk(d as NestedDomainDiskArgs)));
  // One Output for the whole list: a disk whose volume is still to be made
  // then leaves the whole list unknown in a preview. The engine hands a
  // provider's check() unknown top-level inputs, but drops unknown values
  // nested inside known objects.
  return pulumi.all(
    disks.map((d) =>
      isEventual(d)
        ? pulumi.output(d).apply((x) => pickDisk(x as NestedDomainDiskArgs))
        : pulumi.output(pickDisk(d)),
    ),
  ) as pulumi.Output<NestedDomainDiskArgs[]>;
}

function pickDisk(d: NestedDomainDiskArgs): NestedDomainDiskArgs {
  const { volume, ...rest } = d;
  if (volume === undefined) return rest;
  // A ConvertedVolume itself: take its `ref`, known only once the volume exists.
  if (isVolumeWithRef(volume)) return { ...rest, volume: volume.ref };
  const ref = isEventual(volume)
    ? pulumi.output(volume).apply((v) => ({ pool: v.pool, volumeName: v.volumeName }))
    : { pool: volume.pool, volumeName: volume.volumeName };
  return { ...rest, volume: ref };
}

function isVolumeWithRef(value: unknown): value is { ref: pulumi.Output<NestedDomainVolumeRef> } {
  return (
    typeof value === "object" &&
    value !== null &&
    pulumi.Output.isInstance((value as { ref?: unknown }).ref)
  );
}

/**
 * What the component hands the provider: a key for each of the provider's
 * given inputs (DomainInputs without what check() adds), so renaming an
 * input breaks the compile here.
 */
type NestedDomainResourceInputs = {
  readonly [
    K in Exclude<
      keyof DomainInputs,
      "resolvedDomainType" | "resolvedHostVendor" | "xml" | "macs" | "updatePlan"
    >
  ]-?: unknown;
};

class NestedDomainResource extends HostResource {
  declare readonly uuid: pulumi.Output<string>;
  declare readonly domainName: pulumi.Output<string>;
  declare readonly xml: pulumi.Output<string>;
  declare readonly state: pulumi.Output<string>;
  declare readonly vncAddress: pulumi.Output<string | null>;
  declare readonly serialAddress: pulumi.Output<string | null>;
  declare readonly macs: pulumi.Output<string[]>;
  declare readonly ipAddresses: pulumi.Output<string[]>;
  declare readonly liveMemoryMiB: pulumi.Output<number | null>;
  declare readonly pendingRestart: pulumi.Output<string[]>;

  constructor(
    name: string,
    props: NestedDomainResourceInputs,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      "NestedDomain",
      require.resolve("./provider"),
      name,
      {
        ...props,
        uuid: undefined,
        xml: undefined,
        state: undefined,
        vncAddress: undefined,
        serialAddress: undefined,
        macs: undefined,
        ipAddresses: undefined,
        liveMemoryMiB: undefined,
        pendingRestart: undefined,
        updatePlan: undefined,
        resolvedDomainType: undefined,
        resolvedHostVendor: undefined,
        resolvedHostId: undefined,
      },
      { ...opts, additionalSecretOutputs: ["vncPassword"] },
    );
  }
}

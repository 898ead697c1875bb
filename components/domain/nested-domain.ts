import * as pulumi from "@pulumi/pulumi";
import { HostResource } from "../core/host-resource";
import { hostInputs } from "../host/host-inputs";
import { HostConnection } from "../host/connection";
import {
  CpuMode,
  DiskBus,
  DiskDevice,
  DiskFormat,
  DomainSpec,
  DomainType,
  FeaturePolicy,
  HostVendor,
  NicModel,
  UNKNOWN,
  XmlPatch,
} from "./spec";
import { validateDomainSpec, validateVncPassword } from "./validate";

/** The guest CPU. */
export interface NestedDomainCpuArgs {
  /**
   * `custom` (a named model plus features; what migrates and what works
   * under TCG), `host-model` (libvirt's closest model to the host CPU) or
   * `host-passthrough` (the host CPU as is; KVM only, ties migration to
   * identical hosts).
   */
  readonly mode: pulumi.Input<CpuMode>;
  /**
   * The CPU model for `custom`, e.g. "qemu64" (the seed's), "EPYC",
   * "Haswell"; `virsh domcapabilities` lists what the host can give.
   * @default - none (required for custom, refused otherwise)
   */
  readonly model?: pulumi.Input<string>;
  /**
   * CPU features with libvirt's policies (force, require, optional, disable,
   * forbid), e.g. `{ name: "pdpe1gb", policy: "require" }`.
   * @default []
   */
  readonly features?: pulumi.Input<
    pulumi.Input<{ name: pulumi.Input<string>; policy: pulumi.Input<FeaturePolicy> }>[]
  >;
  /**
   * Make the guest able to run KVM: require `vmx` on Intel hosts, `svm` on
   * AMD hosts and always under TCG (which emulates SVM only), unless
   * `features` already names vmx or svm. host-passthrough passes the host's
   * own flag.
   * @default true
   */
  readonly nested?: pulumi.Input<boolean>;
}

/** A libvirt storage volume, e.g. a ConvertedVolume (its `pool` and `volumeName` outputs). */
export interface NestedDomainVolumeRef {
  readonly pool: pulumi.Input<string>;
  readonly volumeName: pulumi.Input<string>;
}

export interface NestedDomainDiskArgs {
  /**
   * A volume in a libvirt pool: pass a ConvertedVolume itself, or
   * `{ pool, volumeName }`. Exactly one of volume and path.
   * @default - none
   */
  readonly volume?: pulumi.Input<NestedDomainVolumeRef>;
  /**
   * An image file on the libvirt host. Exactly one of volume and path.
   * @default - none
   */
  readonly path?: pulumi.Input<string>;
  /**
   * The disk bus: `virtio`, or `sata`/`ide` for guests without virtio
   * drivers (old RHEL images may be). Guest names follow: vda…, sda…, hda….
   * @default "virtio"
   */
  readonly bus?: pulumi.Input<DiskBus>;
  /** @default "disk" */
  readonly device?: pulumi.Input<DiskDevice>;
  /**
   * The image format (a ConvertedVolume is qcow2).
   * @default "qcow2" ("raw" for a cdrom)
   */
  readonly format?: pulumi.Input<DiskFormat>;
  /**
   * Read-only (virtio and ide disks, and cdroms).
   * @default false (true for a cdrom)
   */
  readonly readonly?: pulumi.Input<boolean>;
}

export interface NestedDomainPortForward {
  /** The port on the host. */
  readonly hostPort: pulumi.Input<number>;
  /** The port in the guest, e.g. 22. */
  readonly guestPort: pulumi.Input<number>;
  /**
   * The host address QEMU binds.
   * @default "127.0.0.1"
   */
  readonly hostAddress?: pulumi.Input<string>;
  /** @default "tcp" */
  readonly protocol?: pulumi.Input<"tcp" | "udp">;
}

/** One NIC: exactly one of network, bridge and user. */
export interface NestedDomainNetworkArgs {
  /**
   * A libvirt network (NAT or otherwise), e.g. "default".
   * @default - none
   */
  readonly network?: pulumi.Input<string>;
  /**
   * A host bridge, e.g. "br0": the guest joins the host's LAN.
   * @default - none
   */
  readonly bridge?: pulumi.Input<string>;
  /**
   * QEMU user-mode networking with port forwards, like Vagrant's forwarded
   * ports. Passed to QEMU directly (libvirt 9.0 has no port forwards for
   * user interfaces), so it works without root networking on the host.
   * @default - none
   */
  readonly user?: pulumi.Input<{
    forwards?: pulumi.Input<pulumi.Input<NestedDomainPortForward>[]>;
  }>;
  /**
   * The MAC address.
   * @default - derived from domainName and the NIC's position (52:54:00:…), stable across runs
   */
  readonly mac?: pulumi.Input<string>;
  /** @default "virtio" */
  readonly model?: pulumi.Input<NicModel>;
}

export interface NestedDomainVncArgs {
  /**
   * The address VNC listens on. Anything but loopback needs `password`.
   * @default "127.0.0.1"
   */
  readonly listen?: pulumi.Input<string>;
  /**
   * A fixed TCP port (5900 and up).
   * @default - autoport
   */
  readonly port?: pulumi.Input<number>;
  /**
   * A VNC display number: port 5900 + display (the seed's `:20` is 5920).
   * @default - autoport
   */
  readonly display?: pulumi.Input<number>;
  /**
   * Let libvirt pick a free port at each start (the vncAddress output says which).
   * @default true when neither port nor display is set
   */
  readonly autoport?: pulumi.Input<boolean>;
  /**
   * The VNC password (1 to 8 characters). Give it as a secret
   * (`pulumi config set --secret`); it is kept only as a secret and never
   * written into the `xml` output.
   * @default - none (only a loopback listen is allowed then)
   */
  readonly password?: pulumi.Input<string>;
}

export type NestedDomainSerialArgs =
  | {
      readonly type: "tcp";
      readonly host?: pulumi.Input<string>;
      readonly port: pulumi.Input<number>;
    }
  | { readonly type: "pty" }
  | { readonly type: "unix"; readonly path: pulumi.Input<string> }
  | { readonly type: "file"; readonly path: pulumi.Input<string> };

export interface NestedDomainArgs {
  /**
   * The libvirt host (URI, SSH details).
   * @default - this machine, qemu:///system
   */
  readonly host?: pulumi.Input<HostConnection>;
  /** The libvirt domain name. Changing it replaces the domain. */
  readonly domainName: pulumi.Input<string>;
  /**
   * `kvm`, or `qemu` (TCG emulation). Changing it replaces the domain.
   * @default - "kvm" where kvm_intel or kvm_amd is loaded, else "qemu"; kept once chosen
   */
  readonly domainType?: pulumi.Input<DomainType>;
  /**
   * The host CPU vendor, e.g. NestedVirtualization's `vendor` output. It
   * picks vmx or svm for a nested-capable KVM guest.
   * @default - read from the host's /proc/cpuinfo
   */
  readonly hostVendor?: pulumi.Input<HostVendor>;
  /** Memory in MiB. Live within maxMemoryMiB (balloon), otherwise applied with a restart. */
  readonly memoryMiB: pulumi.Input<number>;
  /**
   * The memory ceiling in MiB, for growing memoryMiB without a restart.
   * @default memoryMiB
   */
  readonly maxMemoryMiB?: pulumi.Input<number>;
  /** vCPUs. Live within maxVcpus (CPU hotplug), otherwise applied with a restart. */
  readonly vcpus: pulumi.Input<number>;
  /**
   * The vCPU ceiling, for adding vCPUs without a restart.
   * @default vcpus
   */
  readonly maxVcpus?: pulumi.Input<number>;
  /**
   * sockets × dies × cores × threads; must equal maxVcpus (the seed: 4,1,1).
   * @default - libvirt's (one socket per vCPU)
   */
  readonly topology?: pulumi.Input<{
    sockets: pulumi.Input<number>;
    dies?: pulumi.Input<number>;
    cores: pulumi.Input<number>;
    threads: pulumi.Input<number>;
  }>;
  /** The guest CPU. */
  readonly cpu: pulumi.Input<NestedDomainCpuArgs>;
  /** The disks, in boot order. */
  readonly disks: pulumi.Input<pulumi.Input<NestedDomainDiskArgs>[]>;
  /** @default [] */
  readonly networks?: pulumi.Input<pulumi.Input<NestedDomainNetworkArgs>[]>;
  /** @default - no VNC */
  readonly vnc?: pulumi.Input<NestedDomainVncArgs>;
  /**
   * The serial console: a TCP server (`host` default 127.0.0.1), a pty, a
   * unix socket, or a file it writes to.
   * @default - none
   */
  readonly serial?: pulumi.Input<NestedDomainSerialArgs>;
  /**
   * Direct kernel boot from files on the host.
   * @default - boot from the first disk
   */
  readonly boot?: pulumi.Input<{
    kernel: pulumi.Input<string>;
    initrd?: pulumi.Input<string>;
    cmdline?: pulumi.Input<string>;
  }>;
  /** Start with the host's libvirtd. @default false */
  readonly autostart?: pulumi.Input<boolean>;
  /** The desired state: running, or shut off. @default true */
  readonly running?: pulumi.Input<boolean>;
  /**
   * How long an ACPI shutdown may take (restart, stop, destroy) before the domain is forced off.
   * @default 60
   */
  readonly shutdownTimeoutSeconds?: pulumi.Input<number>;
  /**
   * How long to wait for an IP address after a start (NICs on a network or bridge only).
   * @default 30
   */
  readonly ipWaitSeconds?: pulumi.Input<number>;
  /**
   * Edits of the generated XML for what the typed arguments don't cover,
   * applied in order before define and visible in the preview (`xml`):
   * `{ op: "set", xpath, attribute?, value }`, `{ op: "remove", xpath }`,
   * `{ op: "add", xpath, xml }`. The prefix `qemu:` is bound for XPath.
   * @default []
   */
  readonly xmlPatches?: pulumi.Input<pulumi.Input<XmlPatch>[]>;
}

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

  constructor(name: string, args: NestedDomainArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nestlab:domain:NestedDomain", name, {}, opts);
    const owner = `${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
    const passwordGiven = isPlainObject(args.vnc)
      ? args.vnc.password !== undefined
      : args.vnc !== undefined;
    try {
      validateDomainSpec(
        { ...(knownParts(args) as DomainSpec), owner },
        { vncPasswordSet: passwordGiven },
      );
      if (isPlainObject(args.vnc)) validateVncPassword(knownParts(args.vnc.password));
    } catch (e) {
      throw new pulumi.ResourceError((e as Error).message, this, true);
    }
    const vnc = args.vnc === undefined ? undefined : pulumi.output(args.vnc);
    const domain = new NestedDomainResource(
      name,
      {
        ...hostInputs(args.host),
        domainName: args.domainName,
        domainType: args.domainType,
        hostVendor: args.hostVendor,
        memoryMiB: args.memoryMiB,
        maxMemoryMiB: args.maxMemoryMiB,
        vcpus: args.vcpus,
        maxVcpus: args.maxVcpus,
        topology: args.topology,
        cpu: args.cpu,
        disks: diskInputs(args.disks),
        networks: args.networks,
        // The password travels as its own secret property; the rest of vnc stays readable.
        vnc: vnc && pulumi.unsecret(vnc.apply(({ password: _password, ...rest }) => rest)),
        vncPassword: vnc && pulumi.secret(vnc.apply((v) => v.password)),
        serial: args.serial,
        boot: args.boot,
        autostart: args.autostart,
        running: args.running,
        shutdownTimeoutSeconds: args.shutdownTimeoutSeconds,
        ipWaitSeconds: args.ipWaitSeconds,
        xmlPatches: args.xmlPatches,
        owner,
      },
      { parent: this },
    );
    this.uuid = domain.uuid;
    this.domainName = domain.domainName;
    this.xml = domain.xml;
    this.state = domain.state;
    this.vncAddress = domain.vncAddress;
    this.serialAddress = domain.serialAddress;
    this.macs = domain.macs;
    this.ipAddresses = domain.ipAddresses;
    this.registerOutputs({
      uuid: this.uuid,
      domainName: this.domainName,
      xml: this.xml,
      state: this.state,
      vncAddress: this.vncAddress,
      serialAddress: this.serialAddress,
      macs: this.macs,
      ipAddresses: this.ipAddresses,
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

function isEventual(value: unknown): value is pulumi.Output<unknown> | Promise<unknown> {
  return pulumi.Output.isInstance(value) || value instanceof Promise;
}

type NestedDomainResourceInputs = { [K in keyof Omit<DomainSpec, "disks">]: unknown } & {
  readonly host: unknown;
  readonly sshPrivateKey: unknown;
  readonly disks: unknown;
  readonly vncPassword: unknown;
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
        updatePlan: undefined,
        resolvedDomainType: undefined,
        resolvedHostVendor: undefined,
      },
      { ...opts, additionalSecretOutputs: ["vncPassword"] },
    );
  }
}

/** A copy of plain argument values with every Output or Promise replaced by UNKNOWN (validated later, in check). */
function knownParts(value: unknown): unknown {
  if (isEventual(value)) return UNKNOWN;
  if (Array.isArray(value)) return value.map(knownParts);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      if (k !== "host" && k !== "password") out[k] = knownParts(v);
    return out;
  }
  // A resource (e.g. a ConvertedVolume as a disk's volume): its outputs are known later.
  if (value !== null && typeof value === "object") return UNKNOWN;
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> & NestedDomainVncArgs {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

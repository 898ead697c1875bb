/**
 * The plain shape of a NestedDomain, as the provider receives it (no
 * Pulumi Inputs), and the helpers that deal with values that are not known
 * yet during a preview. No Pulumi, no processes.
 */
import type { CpuVendor, DomainType } from "../libvirt/cpu";

/** How the guest CPU is made (libvirt `<cpu mode>`). */
export type CpuMode = "host-passthrough" | "host-model" | "custom";

/** libvirt's `<feature policy>` values. */
export type FeaturePolicy = "force" | "require" | "optional" | "disable" | "forbid";

export interface CpuFeature {
  readonly name: string;
  readonly policy: FeaturePolicy;
}

export interface CpuSpec {
  readonly mode: CpuMode;
  /** The CPU model (custom mode only), e.g. "qemu64", "EPYC", "Haswell". */
  readonly model?: string;
  readonly features?: readonly CpuFeature[];
  /**
   * Add the virtualization feature (vmx or svm) so the guest can run KVM.
   * @default true
   */
  readonly nested?: boolean;
}

export interface Topology {
  readonly sockets: number;
  readonly dies?: number;
  readonly cores: number;
  readonly threads: number;
}

export type DiskBus = "virtio" | "sata" | "ide";
export type DiskDevice = "disk" | "cdrom";
export type DiskFormat = "qcow2" | "raw";

export interface VolumeRef {
  readonly pool: string;
  readonly volumeName: string;
}

export interface DiskSpec {
  readonly volume?: VolumeRef;
  readonly path?: string;
  readonly bus?: DiskBus;
  readonly device?: DiskDevice;
  readonly format?: DiskFormat;
  readonly readonly?: boolean;
}

export type NicModel = "virtio" | "e1000" | "rtl8139";

export interface PortForward {
  readonly hostPort: number;
  readonly guestPort: number;
  readonly hostAddress?: string;
  readonly protocol?: "tcp" | "udp";
}

export interface NetworkSpec {
  readonly network?: string;
  readonly bridge?: string;
  readonly user?: { readonly forwards?: readonly PortForward[] };
  readonly mac?: string;
  readonly model?: NicModel;
}

export interface VncSpec {
  readonly listen?: string;
  readonly port?: number;
  readonly display?: number;
  readonly autoport?: boolean;
}

export type SerialSpec =
  | {
      readonly type: "tcp";
      readonly host?: string;
      readonly port: number;
      /** A non-loopback `host` needs this: the console has no authentication. */
      readonly allowRemote?: boolean;
    }
  | { readonly type: "pty" }
  | { readonly type: "unix"; readonly path: string }
  | { readonly type: "file"; readonly path: string };

export interface BootSpec {
  readonly kernel: string;
  readonly initrd?: string;
  readonly cmdline?: string;
}

export type XmlPatch =
  | {
      readonly op: "set";
      readonly xpath: string;
      readonly attribute?: string;
      readonly value: string;
    }
  | { readonly op: "remove"; readonly xpath: string }
  | { readonly op: "add"; readonly xpath: string; readonly xml: string };

/** The host CPU's vendor: which virtualization extension a KVM guest gets (libvirt/cpu.ts). */
export type HostVendor = CpuVendor;

/** What the provider's inputs hold, apart from the host connection. */
export interface DomainSpec {
  readonly domainName: string;
  readonly domainType?: DomainType;
  readonly hostVendor?: HostVendor;
  readonly memoryMiB: number;
  readonly maxMemoryMiB?: number;
  readonly vcpus: number;
  readonly maxVcpus?: number;
  readonly topology?: Topology;
  readonly cpu: CpuSpec;
  readonly disks: readonly DiskSpec[];
  readonly networks?: readonly NetworkSpec[];
  readonly vnc?: VncSpec;
  readonly serial?: SerialSpec;
  readonly boot?: BootSpec;
  readonly autostart?: boolean;
  readonly running?: boolean;
  readonly shutdownTimeoutSeconds?: number;
  readonly ipWaitSeconds?: number;
  readonly xmlPatches?: readonly XmlPatch[];
  /** Who made the domain: written into its `<metadata>`, checked before it is changed. */
  readonly owner: string;
}

/**
 * DomainSpec's keys, written once: the provider's specOf, the component's
 * inputs and the update classes derive from this list.
 */
export const DOMAIN_SPEC_KEYS = [
  "domainName",
  "domainType",
  "hostVendor",
  "memoryMiB",
  "maxMemoryMiB",
  "vcpus",
  "maxVcpus",
  "topology",
  "cpu",
  "disks",
  "networks",
  "vnc",
  "serial",
  "boot",
  "autostart",
  "running",
  "shutdownTimeoutSeconds",
  "ipWaitSeconds",
  "xmlPatches",
  "owner",
] as const satisfies readonly (keyof DomainSpec)[];

export type DomainSpecKey = (typeof DOMAIN_SPEC_KEYS)[number];

/** Compiles only while DOMAIN_SPEC_KEYS names every key of DomainSpec. */
export const EVERY_SPEC_KEY_LISTED: [Exclude<keyof DomainSpec, DomainSpecKey>] extends [never]
  ? true
  : never = true;

/**
 * The spec with every default filled in and every host fact decided: what
 * the XML is rendered from. Rendering it twice gives the same bytes.
 */
export interface ResolvedDomainSpec extends DomainSpec {
  readonly domainType: DomainType;
  readonly hostVendor: HostVendor;
  readonly maxMemoryMiB: number;
  readonly maxVcpus: number;
  readonly cpu: Required<Pick<CpuSpec, "mode" | "nested">> &
    CpuSpec & { readonly features: readonly CpuFeature[] };
  readonly disks: readonly ResolvedDisk[];
  readonly networks: readonly ResolvedNetwork[];
  readonly vnc?: Required<Pick<VncSpec, "listen">> & VncSpec;
  readonly autostart: boolean;
  readonly running: boolean;
  readonly shutdownTimeoutSeconds: number;
  readonly ipWaitSeconds: number;
  readonly xmlPatches: readonly XmlPatch[];
  /** Whether a VNC password is set (the password itself never enters the XML kept in state). */
  readonly vncPasswordSet: boolean;
}

export interface ResolvedDisk extends DiskSpec {
  readonly bus: DiskBus;
  readonly device: DiskDevice;
  readonly format: DiskFormat;
  readonly readonly: boolean;
  /** The guest device name, e.g. vda, sdb, hdc. */
  readonly target: string;
}

export interface ResolvedNetwork extends NetworkSpec {
  readonly mac: string;
  readonly model: NicModel;
}

export { UNKNOWN, isUnknown, hasUnknown } from "../core/unknown";
export type { DomainType };

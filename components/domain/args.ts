import type * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "../host/connection";
import {
  CpuMode,
  DiskBus,
  DiskDevice,
  DiskFormat,
  DomainType,
  FeaturePolicy,
  HostVendor,
  NicModel,
  XmlPatch,
} from "./spec";

/** NestedDomain's arguments, as a program writes them (Pulumi Inputs). */

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
      /** @default "127.0.0.1" */
      readonly host?: pulumi.Input<string>;
      readonly port: pulumi.Input<number>;
      /**
       * Required (true) for a `host` other than loopback: the serial console has
       * no authentication, so whoever reaches the port gets the guest's console.
       * @default false
       */
      readonly allowRemote?: pulumi.Input<boolean>;
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
   * The serial console: a TCP server (`host` default 127.0.0.1; another
   * address only with `allowRemote: true`, as it has no authentication), a
   * pty, a unix socket, or a file it writes to.
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

import * as pulumi from "@pulumi/pulumi";
import { NestedDomain, NestedDomainArgs } from "../domain/nested-domain";
import { HostConnection } from "../host/connection";
import { childOptions } from "../host/host-resource";
import { NestedVirtualization } from "../nested/nested-virtualization";
import { SourceChange } from "../volume/args";
import { ConvertedVolume } from "../volume/converted-volume";
import { HostNestedMode, HOST_NESTED_MODES } from "./config";
import { InvalidArgumentError } from "../core/errors";
import { validateKnown } from "../core/known";
import { LabMachine } from "./lab-machine";
import { NatNetwork, NatNetworkArgs } from "../network/nat-network";
import { RHCE_LAB_MACHINES, validateLabMachines } from "./lab-machines";
import { classroomAccess, ClassroomAccessArgs } from "./classroom-access";

/** The classroom host ("jiaoshiji"): the seed's qemu-kvm line, as typed settings. */
export interface ClassroomArgs {
  /** @default "jiaoshiji" */
  readonly domainName?: pulumi.Input<string>;
  /** @default 8096 (the seed's `-m 8096`) */
  readonly memoryMiB?: pulumi.Input<number>;
  /** @default 4 (the seed's `-smp 4`) */
  readonly vcpus?: pulumi.Input<number>;
  /** The memory ceiling: memoryMiB changes below it apply live. @default memoryMiB */
  readonly maxMemoryMiB?: pulumi.Input<number>;
  /** The vCPU ceiling: vcpus changes below it apply live. @default vcpus */
  readonly maxVcpus?: pulumi.Input<number>;
  /** @default - one socket per vCPU, as the seed's `sockets=4,cores=1,threads=1` */
  readonly topology?: NestedDomainArgs["topology"];
  /**
   * The guest CPU; the virtualization feature (vmx or svm) is added to match the host.
   * @default { mode: "host-model" }
   */
  readonly cpu?: NestedDomainArgs["cpu"];
  /** @default - chosen from the host: "kvm" with kvm_intel/kvm_amd, else "qemu" (TCG) */
  readonly domainType?: NestedDomainArgs["domainType"];
  /** The disk bus: "virtio", or "sata"/"ide" for images without virtio drivers. @default "virtio" */
  readonly diskBus?: pulumi.Input<"virtio" | "sata" | "ide">;
  /** @default { listen: "127.0.0.1", display: 20 } (the seed's `-vnc :20`, on loopback) */
  readonly vnc?: NestedDomainArgs["vnc"];
  /** @default { type: "tcp", host: "127.0.0.1", port: 4444 } (the seed's `-serial tcp::4444`, on loopback) */
  readonly serial?: NestedDomainArgs["serial"];
  /**
   * Forward 127.0.0.1:sshPort on the libvirt host to the classroom host's SSH
   * (QEMU user-mode networking), the way in that needs no bridge.
   * @default - no forward
   */
  readonly sshPort?: pulumi.Input<number>;
  /** More NICs: a libvirt network or a host bridge (the seed's bridge). @default [] */
  readonly networks?: NestedDomainArgs["networks"];
  /** @default true */
  readonly running?: pulumi.Input<boolean>;
  /** How long an ACPI shutdown may take before the host is forced off. @default 60 */
  readonly shutdownTimeoutSeconds?: pulumi.Input<number>;
}

/** How the stack reaches the classroom host to start the lab machines inside it. */
export interface LabMachinesArgs {
  /**
   * The machines' libvirt names inside the classroom host.
   * @default ["classroom", "server", "desktop"]
   */
  readonly names?: readonly string[];
  /** The classroom host's root SSH key (a secret). @default - classroomAccess's key */
  readonly sshPrivateKey?: pulumi.Input<string>;
  /**
   * The classroom host's public host key ("ssh-ed25519 AAAA…"), pinned.
   * @default - the one classroomAccess read from the classroom disk
   */
  readonly sshHostPublicKey?: pulumi.Input<string>;
  /** @default 300 */
  readonly bootTimeoutSeconds?: pulumi.Input<number>;
}

export interface RhceLabArgs {
  /** The libvirt host. @default - this machine, qemu:///system */
  readonly host?: pulumi.Input<HostConnection>;
  /** The image on the host: the top .vmdk of the VMware chain, an .ova, qcow2 or raw. */
  readonly source: pulumi.Input<string>;
  /** The storage pool for the converted volume. */
  readonly pool: pulumi.Input<string>;
  /**
   * Create the pool as a directory pool at this path (and remove it on destroy).
   * @default - the pool exists already
   */
  readonly poolPath?: pulumi.Input<string>;
  /** @default "<classroom.domainName>.qcow2" */
  readonly volumeName?: pulumi.Input<string>;
  /**
   * What a change of the image's content does: "replace" makes the volume
   * again and replaces the classroom host with it (the state inside it is
   * lost, and the preview says so); "keep" keeps the volume as it is.
   * @default "replace"
   */
  readonly onSourceChange?: pulumi.Input<SourceChange>;
  /**
   * The host's KVM nested setting: "enable" (now and after reboot), "persist",
   * "check", "disable", or "skip" on a host without KVM, where the classroom
   * host runs under TCG and needs no host setting.
   * @default "enable"
   */
  readonly hostNested?: HostNestedMode;
  /** @default - the seed's classroom host */
  readonly classroom?: ClassroomArgs;
  /**
   * A libvirt NAT network the stack makes for the classroom host, which gets
   * a NIC on it (the seed's "bridge" way in, without touching the host's own
   * interfaces).
   * @default - none
   */
  readonly natNetwork?: Omit<NatNetworkArgs, "host">;
  /**
   * Start the lab machines inside the classroom host (through its SSH
   * forward, `classroom.sshPort`), as `rht-vmctl start` would.
   * @default - not started by the stack
   */
  readonly labMachines?: LabMachinesArgs;
  /**
   * Let the stack in: root's authorized_keys in the classroom disk gets this
   * key (or one the stack makes) before the classroom host first boots, and
   * its SSH host key is read back and pinned (ConvertedVolume `rootAccess`).
   * The lab machines then need no key of their own. Another key replaces the
   * disk (and the classroom host on it: the state inside is lost).
   * @default - the image is used as it is
   */
  readonly classroomAccess?: ClassroomAccessArgs;
}

/**
 * The RHCE classroom lab: the host's nested setting, the VMware image
 * converted into a volume, and the classroom host that runs the lab machines
 * (classroom, server, desktop) under KVM inside itself.
 */
export class RhceLab extends pulumi.ComponentResource {
  readonly nested?: NestedVirtualization;
  readonly volume: ConvertedVolume;
  readonly network?: NatNetwork;
  readonly classroom: NestedDomain;
  /** Where the classroom host's VNC server listens, e.g. "127.0.0.1:5920". */
  readonly vncAddress: pulumi.Output<string | null>;
  /** Where its serial console listens, e.g. "127.0.0.1:4444". */
  readonly serialAddress: pulumi.Output<string | null>;
  /** "127.0.0.1:<sshPort>" when a forward was asked for, else null. */
  readonly sshAddress: pulumi.Output<string | null>;
  /** The lab machines inside the classroom host, by name. */
  readonly labMachines: Readonly<Record<string, LabMachine>> = {};
  /** With classroomAccess: root's private key into the classroom host (a secret). */
  readonly classroomPrivateKey?: pulumi.Output<string>;
  /** With classroomAccess: its public line, as written into the disk. */
  readonly classroomPublicKey?: pulumi.Output<string>;
  /** With classroomAccess: the classroom host's SSH host key, read from its disk. */
  readonly classroomHostKey?: pulumi.Output<string | undefined>;

  constructor(name: string, args: RhceLabArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nestlab:lab:RhceLab", name, {}, opts);
    const hostNested = args.hostNested ?? "enable";
    validateKnown(this, args, () => {
      if (!HOST_NESTED_MODES.includes(hostNested))
        throw new InvalidArgumentError("hostNested", hostNested, HOST_NESTED_MODES.join(", "));
    });
    const c = args.classroom ?? {};
    const labNames = args.labMachines ? this.labMachineNames(args, c) : [];
    const domainName = pulumi.output(c.domainName ?? "jiaoshiji");

    if (hostNested !== "skip") {
      this.nested = new NestedVirtualization(
        `${name}-nested`,
        { host: args.host, mode: hostNested },
        childOptions(this, opts),
      );
    }
    const access =
      args.classroomAccess && classroomAccess(name, args.classroomAccess, childOptions(this, opts));
    this.volume = new ConvertedVolume(
      `${name}-disk`,
      {
        host: args.host,
        source: args.source,
        pool: args.pool,
        volumeName: args.volumeName ?? pulumi.interpolate`${domainName}.qcow2`,
        onSourceChange: args.onSourceChange,
        createPool: args.poolPath === undefined ? undefined : { path: args.poolPath },
        rootAccess: access && { authorizedKey: access.publicKey },
      },
      childOptions(this, opts),
    );
    if (args.natNetwork) {
      this.network = new NatNetwork(
        `${name}-network`,
        { ...args.natNetwork, host: args.host },
        childOptions(this, opts),
      );
    }
    const sshForward =
      c.sshPort === undefined
        ? []
        : [
            {
              user: {
                forwards: [{ hostPort: c.sshPort, guestPort: 22, hostAddress: "127.0.0.1" }],
              },
            },
          ];
    this.classroom = new NestedDomain(
      `${name}-classroom`,
      {
        host: args.host,
        domainName,
        domainType: c.domainType,
        hostVendor: this.nested?.vendor,
        memoryMiB: c.memoryMiB ?? 8096,
        maxMemoryMiB: c.maxMemoryMiB,
        vcpus: c.vcpus ?? 4,
        maxVcpus: c.maxVcpus,
        topology: c.topology,
        cpu: c.cpu ?? { mode: "host-model" },
        disks: [
          {
            volume: this.volume,
            bus: c.diskBus ?? "virtio",
          },
        ],
        networks: pulumi
          .all([pulumi.output(c.networks ?? []), this.network?.ref])
          .apply(([extra, net]) => [...sshForward, ...(net ? [{ network: net }] : []), ...extra]),
        vnc: c.vnc ?? { listen: "127.0.0.1", display: 20 },
        serial: c.serial ?? { type: "tcp", host: "127.0.0.1", port: 4444 },
        running: c.running,
        shutdownTimeoutSeconds: c.shutdownTimeoutSeconds,
      },
      // The host's nested setting first: a domain started before it would hold
      // /dev/kvm and make the module reload impossible.
      childOptions(this, opts, { dependsOn: this.nested ? [this.nested] : [] }),
    );
    const machines: Record<string, LabMachine> = {};
    if (args.labMachines && c.sshPort !== undefined) {
      const m = args.labMachines;
      const port = c.sshPort;
      const hostKey = m.sshHostPublicKey ?? this.volume.hostKey;
      const classroomHost = pulumi.all([port, hostKey]).apply(([p, key]) => ({
        libvirtUri: "qemu:///system",
        ssh: {
          host: "127.0.0.1",
          port: p,
          user: "root",
          privateKey: m.sshPrivateKey ?? access!.privateKey,
          knownHosts: `[127.0.0.1]:${p} ${key}`,
        },
      }));
      for (const machine of labNames) {
        machines[machine] = new LabMachine(
          `${name}-lab-${machine}`,
          {
            classroomHost,
            domainName: machine,
            // Replaced with the classroom host (a new disk): started again inside the new one.
            classroomDomainName: this.classroom.domainName,
            bootTimeoutSeconds: m.bootTimeoutSeconds,
          },
          // Inside the classroom host: started after it, stopped before it.
          childOptions(this, opts, { dependsOn: [this.classroom] }),
        );
      }
    }
    this.labMachines = machines;
    this.classroomPrivateKey = access?.privateKey;
    this.classroomPublicKey = access?.publicKey;
    this.classroomHostKey = access && this.volume.hostKey;
    this.vncAddress = this.classroom.vncAddress;
    this.serialAddress = this.classroom.serialAddress;
    this.sshAddress =
      c.sshPort === undefined ? pulumi.output(null) : pulumi.interpolate`127.0.0.1:${c.sshPort}`;
    this.registerOutputs({
      vncAddress: this.vncAddress,
      serialAddress: this.serialAddress,
      sshAddress: this.sshAddress,
    });
  }

  /** The lab machines to start; refuses what cannot work before anything is registered. */
  private labMachineNames(args: RhceLabArgs, c: ClassroomArgs): string[] {
    return validateKnown(this, args, () => {
      if (c.sshPort === undefined) {
        throw new InvalidArgumentError(
          "classroom.sshPort",
          c.sshPort,
          "a port: the lab machines are reached through the classroom host's SSH forward",
        );
      }
      if (
        args.host !== undefined &&
        pulumi.Output.isInstance(args.host) === false &&
        (args.host as HostConnection).ssh
      ) {
        throw new InvalidArgumentError(
          "labMachines",
          "(with an SSH host)",
          "a local libvirt host: the classroom host's forward listens on the hypervisor's 127.0.0.1",
        );
      }
      const m = args.labMachines;
      if (
        !args.classroomAccess &&
        (m?.sshPrivateKey === undefined || m.sshHostPublicKey === undefined)
      ) {
        throw new InvalidArgumentError(
          "labMachines.sshPrivateKey",
          "(not given)",
          "root's key into the classroom host and labMachines.sshHostPublicKey, or classroomAccess: {} to write a key the stack makes into the disk",
        );
      }
      return validateLabMachines(
        args.labMachines?.names ?? [...RHCE_LAB_MACHINES],
        "labMachines.names",
      );
    });
  }
}

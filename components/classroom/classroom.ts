import * as pulumi from "@pulumi/pulumi";
import { InvalidArgumentError } from "../core/errors";
import { validateKnown } from "../core/known";
import { NestedDomain, NestedDomainArgs } from "../domain/nested-domain";
import { HostConnection } from "../host/connection";
import { hostInputs } from "../host/host-inputs";
import { childOptions } from "../host/host-resource";
import { HOST_NESTED_MODES, HostNestedMode } from "../lab/config";
import { NestedVirtualization } from "../nested/nested-virtualization";
import { SourceChange } from "../volume/args";
import { ConvertedVolume } from "../volume/converted-volume";
import { OverlayVolume } from "../volume/overlay-volume";
import {
  AddressingOptions,
  addressStudents,
  resolveAddressing,
  StudentAddress,
} from "./addressing";
import { placeStudents, Seat } from "./placement";
import { RosterRow, sshCommandLine } from "./roster";

/** A KVM hypervisor of the classroom and what it may give to labs. */
export interface ClassroomHypervisorArgs {
  /** Its name in the classroom: part of resource names and of the roster. */
  readonly name: string;
  /** How to reach its libvirt. @default - this machine, `qemu:///system` */
  readonly host?: pulumi.Input<HostConnection>;
  /** Memory it may give to labs, in MiB. */
  readonly memoryMiB: number;
  /** vCPUs it may give to labs. */
  readonly vcpus: number;
  /** This hypervisor's pool, instead of `lab.pool`. @default - `lab.pool` */
  readonly pool?: pulumi.Input<string>;
  /**
   * This hypervisor's pool folder, instead of `lab.poolPath` (hypervisors
   * that share a file system need folders of their own).
   * @default - `lab.poolPath`
   */
  readonly poolPath?: pulumi.Input<string>;
}

export interface ClassroomStudentArgs {
  /** The student's id ("s07"): part of the lab's domain, volume and resource names. */
  readonly id: string;
  /** Put this student's lab on this hypervisor. @default - placed (see placement.ts) */
  readonly hypervisor?: string;
  /**
   * Raise by one to reset the lab: its disk is made anew from the base and
   * the classroom host restarted on it (everything the student did is lost,
   * and the preview says so).
   * @default 0
   */
  readonly generation?: number;
}

/** What every student's lab is. */
export interface ClassroomLabArgs {
  /** The image on every hypervisor (the same path on each): the top .vmdk, an .ova, qcow2 or raw. */
  readonly source: pulumi.Input<string>;
  /** The storage pool on every hypervisor, for the base and the students' disks. */
  readonly pool: pulumi.Input<string>;
  /** Create the pool as a directory pool at this path on every hypervisor. @default - it exists */
  readonly poolPath?: pulumi.Input<string>;
  /** What a change of the image's content does to the bases. @default "replace" */
  readonly onSourceChange?: pulumi.Input<SourceChange>;
  /** Each classroom host's memory. @default 8096 */
  readonly memoryMiB?: number;
  /** Each classroom host's vCPUs. @default 4 */
  readonly vcpus?: number;
  /** @default { mode: "host-model" } */
  readonly cpu?: NestedDomainArgs["cpu"];
  /** @default - chosen from the host */
  readonly domainType?: NestedDomainArgs["domainType"];
  /** @default "virtio" */
  readonly diskBus?: pulumi.Input<"virtio" | "sata" | "ide">;
  /** @default true */
  readonly running?: pulumi.Input<boolean>;
  /** @default 60 */
  readonly shutdownTimeoutSeconds?: pulumi.Input<number>;
  /** The user of the roster's ssh command line. @default "root" */
  readonly loginUser?: string;
}

export interface StudentClassroomArgs {
  readonly hypervisors: readonly ClassroomHypervisorArgs[];
  readonly students: readonly ClassroomStudentArgs[];
  readonly lab: ClassroomLabArgs;
  /** Domain name prefix, port bases and slots per hypervisor (see addressing.ts). @default - their defaults */
  readonly addressing?: AddressingOptions;
  /**
   * The seats of the last deployment: its `roster` output as it was. With
   * them no student's lab moves when others are added or removed; without,
   * only while no hypervisor is full.
   * @default []
   */
  readonly previous?: readonly Seat[];
  /** Every hypervisor's KVM nested setting, as RhceLab's `hostNested`. @default "enable" */
  readonly hostNested?: HostNestedMode;
}

/**
 * A classroom: every student's own lab, spread over several hypervisors.
 * One conversion of the image per hypervisor (`<name>-<hypervisor>-base`),
 * then per student a copy-on-write overlay of it (`<name>-<id>-disk`) and a
 * classroom host on that (`<name>-<id>-classroom`), with a VNC display,
 * serial port and SSH forward of its own on its hypervisor.
 */
export class Classroom extends pulumi.ComponentResource {
  /** Where each student's lab is, and its slot there. */
  readonly seats: readonly StudentAddress[];
  readonly bases: Readonly<Record<string, ConvertedVolume>>;
  readonly nested: Readonly<Record<string, NestedVirtualization>>;
  readonly disks: Readonly<Record<string, OverlayVolume>>;
  readonly classroomHosts: Readonly<Record<string, NestedDomain>>;
  /** One row per student, in the order given. */
  readonly roster: pulumi.Output<RosterRow[]>;

  constructor(name: string, args: StudentClassroomArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nestlab:classroom:Classroom", name, {}, opts);
    const lab = args.lab;
    const memoryMiB = lab.memoryMiB ?? 8096;
    const vcpus = lab.vcpus ?? 4;
    const hostNested = args.hostNested ?? "enable";
    // Everything is placed, and refused, before any resource is registered.
    const { seats, prefix } = validateKnown(this, args, () => {
      if (!HOST_NESTED_MODES.includes(hostNested))
        throw new InvalidArgumentError("hostNested", hostNested, HOST_NESTED_MODES.join(", "));
      const addressing = resolveAddressing(args.addressing);
      const placed = placeStudents({
        students: args.students,
        hypervisors: args.hypervisors,
        demand: { memoryMiB, vcpus },
        previous: args.previous,
        slots: addressing.slots,
      });
      return { seats: addressStudents(placed, addressing), prefix: addressing.domainPrefix };
    });
    this.seats = seats;

    const bases: Record<string, ConvertedVolume> = {};
    const nested: Record<string, NestedVirtualization> = {};
    const hypervisorOf = new Map(args.hypervisors.map((h) => [h.name, h]));
    for (const hv of args.hypervisors) {
      if (hostNested !== "skip") {
        nested[hv.name] = new NestedVirtualization(
          `${name}-${hv.name}-nested`,
          { host: hv.host, mode: hostNested },
          childOptions(this, opts),
        );
      }
      bases[hv.name] = new ConvertedVolume(
        `${name}-${hv.name}-base`,
        {
          host: hv.host,
          source: lab.source,
          pool: hv.pool ?? lab.pool,
          volumeName: `${prefix}-base.qcow2`,
          onSourceChange: lab.onSourceChange,
          createPool:
            (hv.poolPath ?? lab.poolPath) === undefined
              ? undefined
              : { path: (hv.poolPath ?? lab.poolPath) as pulumi.Input<string> },
        },
        childOptions(this, opts),
      );
    }

    const disks: Record<string, OverlayVolume> = {};
    const hosts: Record<string, NestedDomain> = {};
    const generations = new Map(args.students.map((s) => [s.id, s.generation ?? 0]));
    const rows: pulumi.Output<RosterRow>[] = [];
    for (const seat of seats) {
      const hv = hypervisorOf.get(seat.hypervisor) as ClassroomHypervisorArgs;
      const base = bases[seat.hypervisor];
      const generation = generations.get(seat.student) ?? 0;
      const disk = new OverlayVolume(
        `${name}-${seat.student}-disk`,
        {
          host: hv.host,
          backingPath: base.path,
          backingFormat: base.format,
          pool: base.pool,
          volumeName: seat.volumeName,
          generation,
          label: `lab of student ${seat.student}`,
        },
        childOptions(this, opts),
      );
      const machine = new NestedDomain(
        `${name}-${seat.student}-classroom`,
        {
          host: hv.host,
          domainName: seat.domainName,
          domainType: lab.domainType,
          hostVendor: nested[seat.hypervisor]?.vendor,
          memoryMiB,
          vcpus,
          cpu: lab.cpu ?? { mode: "host-model" },
          disks: [{ volume: disk, bus: lab.diskBus ?? "virtio" }],
          networks: [
            {
              user: {
                forwards: [{ hostPort: seat.sshPort, guestPort: 22, hostAddress: "127.0.0.1" }],
              },
            },
          ],
          vnc: { listen: "127.0.0.1", display: seat.vncDisplay },
          serial: { type: "tcp", host: "127.0.0.1", port: seat.serialPort },
          running: lab.running,
          shutdownTimeoutSeconds: lab.shutdownTimeoutSeconds,
        },
        // The nested setting first: a running guest would block the module reload.
        childOptions(this, opts, {
          dependsOn: nested[seat.hypervisor] ? [nested[seat.hypervisor]] : [],
        }),
      );
      disks[seat.student] = disk;
      hosts[seat.student] = machine;
      // The line names the hypervisor's address and user, never its key: not a secret.
      const ssh = pulumi.unsecret(
        hostInputs(hv.host).host.apply((spec) =>
          sshCommandLine(spec, seat.sshPort, lab.loginUser ?? "root"),
        ),
      );
      rows.push(
        pulumi
          .all([machine.vncAddress, machine.serialAddress, machine.state, ssh])
          .apply(([vncAddress, serialAddress, state, line]): RosterRow => ({
            student: seat.student,
            hypervisor: seat.hypervisor,
            slot: seat.slot,
            domainName: seat.domainName,
            vncAddress,
            serialAddress,
            ssh: line,
            state,
            generation,
          })),
      );
    }
    this.bases = bases;
    this.nested = nested;
    this.disks = disks;
    this.classroomHosts = hosts;
    this.roster = pulumi.all(rows);
    this.registerOutputs({ roster: this.roster });
  }
}

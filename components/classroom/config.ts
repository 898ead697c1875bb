import { InvalidArgumentError } from "../core/errors";
import { isPlainObject } from "../core/known";
import { HOST_NESTED_MODES, HostNestedMode } from "../lab/config";
import { AddressingOptions } from "./addressing";
import { Seat } from "./placement";

/**
 * The classroom stack's configuration (`stacks/Pulumi.classroom.yaml`),
 * read once and checked in one place. Values the components check
 * themselves (ids, capacities, ports, the lab's settings) are passed on as
 * they are. No Pulumi, no processes.
 */

/** The raw values of the classroom's `nestlab:*` keys. */
export interface RawClassroomConfig {
  readonly hypervisors?: unknown;
  readonly students?: unknown;
  readonly lab?: unknown;
  readonly addressing?: unknown;
  readonly hostNested?: unknown;
}

export interface ClassroomHypervisorConfig {
  readonly name: string;
  readonly memoryMiB: number;
  readonly vcpus: number;
  readonly libvirtUri?: string;
  /** SSH details but the key, which is the stack's secret `nestlab:hypervisorSshKey`. */
  readonly ssh?: {
    readonly host: string;
    readonly port?: number;
    readonly user?: string;
    readonly knownHosts?: string;
  };
}

export interface ClassroomConfig {
  readonly hypervisors: ClassroomHypervisorConfig[];
  readonly students: {
    readonly id: string;
    readonly hypervisor?: string;
    readonly generation?: number;
  }[];
  readonly lab: Record<string, unknown> & { readonly source: string; readonly pool: string };
  readonly addressing?: AddressingOptions;
  readonly hostNested: HostNestedMode;
}

/** Whether the stack is a classroom (it names its hypervisors) rather than one lab. */
export function isClassroomConfig(raw: RawClassroomConfig): boolean {
  return raw.hypervisors !== undefined;
}

export function parseClassroomConfig(raw: RawClassroomConfig): ClassroomConfig {
  const hypervisors = raw.hypervisors;
  if (
    !Array.isArray(hypervisors) ||
    hypervisors.length === 0 ||
    !hypervisors.every(isPlainObject)
  ) {
    throw new InvalidArgumentError(
      "nestlab:hypervisors",
      hypervisors,
      "a list of { name, memoryMiB, vcpus, libvirtUri?, ssh?: { host, port?, user?, knownHosts? } }",
    );
  }
  hypervisors.forEach((h, i) => {
    if (h.ssh !== undefined && (!isPlainObject(h.ssh) || typeof h.ssh.host !== "string"))
      throw new InvalidArgumentError(
        `nestlab:hypervisors[${i}].ssh`,
        h.ssh,
        "{ host, port?, user?, knownHosts? }",
      );
    if (h.ssh !== undefined && "privateKey" in h.ssh) {
      throw new InvalidArgumentError(
        `nestlab:hypervisors[${i}].ssh.privateKey`,
        "(a key in plain configuration)",
        "no key here: set the key as a secret, `pulumi config set --secret hypervisorSshKey < key`",
      );
    }
  });
  const students = raw.students;
  if (!Array.isArray(students)) {
    throw new InvalidArgumentError(
      "nestlab:students",
      students,
      'a list of student ids ("s01") or { id, hypervisor?, generation? }',
    );
  }
  const lab = raw.lab;
  if (!isPlainObject(lab) || typeof lab.source !== "string" || typeof lab.pool !== "string") {
    throw new InvalidArgumentError(
      "nestlab:lab",
      lab,
      "{ source, pool, poolPath?, memoryMiB?, vcpus?, cpu?, domainType? }: the image's path on every hypervisor and the pool there",
    );
  }
  if (raw.addressing !== undefined && !isPlainObject(raw.addressing))
    throw new InvalidArgumentError(
      "nestlab:addressing",
      raw.addressing,
      "{ domainPrefix?, vncDisplayBase?, serialPortBase?, sshPortBase?, slots? }",
    );
  const hostNested = raw.hostNested ?? "enable";
  if (!HOST_NESTED_MODES.includes(hostNested as HostNestedMode))
    throw new InvalidArgumentError("nestlab:hostNested", hostNested, HOST_NESTED_MODES.join(", "));
  return {
    hypervisors: hypervisors as unknown as ClassroomHypervisorConfig[],
    students: students.map((s) =>
      typeof s === "string" ? { id: s } : (s as ClassroomConfig["students"][number]),
    ),
    lab: lab as ClassroomConfig["lab"],
    ...(raw.addressing === undefined ? {} : { addressing: raw.addressing as AddressingOptions }),
    hostNested: hostNested as HostNestedMode,
  };
}

/** The seats in a stack's last `roster` output, or none when it has none (a new stack). */
export function seatsOfRoster(roster: unknown): Seat[] {
  if (!Array.isArray(roster)) return [];
  return roster
    .filter(
      (r): r is { student: string; hypervisor: string; slot: number } =>
        isPlainObject(r) &&
        typeof r.student === "string" &&
        typeof r.hypervisor === "string" &&
        typeof r.slot === "number",
    )
    .map((r) => ({ student: r.student, hypervisor: r.hypervisor, slot: r.slot }));
}

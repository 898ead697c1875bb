import { InvalidArgumentError } from "../core/errors";
import { wholeNumber } from "../core/checks";
import { domainNameProblem } from "../libvirt/names";
import { ID_PATTERN, ID_RULE, Seat } from "./placement";

/**
 * Each student's names and ports on its hypervisor, from its seat alone:
 * slot k gets VNC display vncDisplayBase + k, serial port serialPortBase + k
 * and SSH forward sshPortBase + k, and its domain is `<domainPrefix>-<id>`.
 * Nothing depends on the other students, so adding or removing one changes
 * no other's addresses, and two labs on one hypervisor never share a port
 * (slots are unique there, and the three ranges are kept apart). Pure.
 */

export interface AddressingOptions {
  /** Domain names are `<domainPrefix>-<student id>`. @default "jiaoshiji" */
  readonly domainPrefix?: string;
  /** Slot k's VNC display (port 5900 + display). @default 20 (the seed's :20, port 5920) */
  readonly vncDisplayBase?: number;
  /** Slot k's serial console TCP port. @default 4444 (the seed's) */
  readonly serialPortBase?: number;
  /** Slot k's SSH forward, 127.0.0.1 on the hypervisor to the classroom host's port 22. @default 2222 */
  readonly sshPortBase?: number;
  /** Slots per hypervisor: the length of each port range. @default 100 */
  readonly slots?: number;
}

export type ResolvedAddressing = Required<AddressingOptions>;

export const ADDRESSING_DEFAULTS: ResolvedAddressing = {
  domainPrefix: "jiaoshiji",
  vncDisplayBase: 20,
  serialPortBase: 4444,
  sshPortBase: 2222,
  slots: 100,
};

/** One student's lab on its hypervisor. */
export interface StudentAddress extends Seat {
  readonly domainName: string;
  /** The overlay volume's file name in the hypervisor's pool. */
  readonly volumeName: string;
  readonly vncDisplay: number;
  readonly vncPort: number;
  readonly serialPort: number;
  readonly sshPort: number;
}

/** Checks the options and fills in the defaults; the port ranges must not overlap. */
export function resolveAddressing(options: AddressingOptions = {}): ResolvedAddressing {
  const o = { ...ADDRESSING_DEFAULTS, ...definedOnly(options) };
  if (typeof o.domainPrefix !== "string" || !ID_PATTERN.test(o.domainPrefix))
    throw new InvalidArgumentError("domainPrefix", o.domainPrefix, ID_RULE);
  wholeNumber("slots", o.slots, 1, 1000);
  wholeNumber("vncDisplayBase", o.vncDisplayBase, 0, 65535 - 5900 - o.slots + 1);
  wholeNumber("serialPortBase", o.serialPortBase, 1024, 65535 - o.slots + 1);
  wholeNumber("sshPortBase", o.sshPortBase, 1024, 65535 - o.slots + 1);
  const ranges: [string, number][] = [
    ["vncDisplayBase", 5900 + o.vncDisplayBase],
    ["serialPortBase", o.serialPortBase],
    ["sshPortBase", o.sshPortBase],
  ];
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const [a, from] = ranges[i];
      const [b, other] = ranges[j];
      if (from < other + o.slots && other < from + o.slots) {
        throw new InvalidArgumentError(
          b,
          other,
          `a port range of ${o.slots} ports (slots) apart from ${a}'s ${from}-${from + o.slots - 1}`,
        );
      }
    }
  }
  return o;
}

/** Every student's domain name, volume name and ports, in the seats' order. */
export function addressStudents(
  seats: readonly Seat[],
  options: AddressingOptions = {},
): StudentAddress[] {
  const o = resolveAddressing(options);
  return seats.map((seat, i) => {
    if (!ID_PATTERN.test(seat.student))
      throw new InvalidArgumentError(`students[${i}].id`, seat.student, ID_RULE);
    const domainName = `${o.domainPrefix}-${seat.student}`;
    const problem = domainNameProblem(domainName);
    if (problem !== undefined) {
      throw new InvalidArgumentError(
        `students[${i}].id`,
        seat.student,
        `an id that makes "${o.domainPrefix}-<id>" ${problem}`,
      );
    }
    if (seat.slot >= o.slots) {
      throw new InvalidArgumentError(`students[${i}]`, seat.slot, `a slot below ${o.slots}`);
    }
    const vncDisplay = o.vncDisplayBase + seat.slot;
    return {
      ...seat,
      domainName,
      volumeName: `${domainName}.qcow2`,
      vncDisplay,
      vncPort: 5900 + vncDisplay,
      serialPort: o.serialPortBase + seat.slot,
      sshPort: o.sshPortBase + seat.slot,
    };
  });
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Pure parts of running the lab machines inside the classroom host: which
 * machines, checked by the one libvirt name rule. No Pulumi, no processes.
 */
import { InvalidArgumentError } from "../core/errors";
import { isUnknown } from "../core/unknown";
import { isDomainName } from "../libvirt/names";

/** The RHCE lab's machines, as the classroom image defines them. */
export const RHCE_LAB_MACHINES = ["classroom", "server", "desktop"] as const;

export function validateLabMachines(names: unknown, argument = "labMachines"): string[] {
  if (!Array.isArray(names) || !names.every(isDomainName)) {
    throw new InvalidArgumentError(
      argument,
      names,
      'a list of libvirt domain names defined inside the classroom host, e.g. ["classroom", "server", "desktop"]',
    );
  }
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n))
      throw new InvalidArgumentError(
        argument,
        names,
        `a list without repeats ("${n}" is given twice)`,
      );
    seen.add(n);
  }
  return names;
}

/**
 * Whether a lab machine must be made again because the classroom host it
 * runs in is: the host's domain name, taken from the NestedDomain's output,
 * is unknown when the engine replaces that domain (it asks before deleting
 * it, with every value that comes from it unknown), or it names another
 * domain. A machine recorded before it kept the name has none: that alone
 * is no change.
 */
export function classroomHostReplaced(old: string | undefined, next: string | undefined): boolean {
  if (next === undefined) return false;
  if (isUnknown(next)) return true;
  return old !== undefined && old !== next;
}

/**
 * Pure parts of running the lab machines inside the classroom host: names,
 * what virsh says about them, what to do. No Pulumi, no processes.
 */
import { InvalidArgumentError } from "../core/errors";

/** The RHCE lab's machines, as the classroom image defines them. */
export const RHCE_LAB_MACHINES = ["classroom", "server", "desktop"] as const;

const DOMAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$/;

export function validateLabMachines(names: unknown, argument = "labMachines"): string[] {
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string" || !DOMAIN_NAME.test(n))) {
    throw new InvalidArgumentError(
      argument,
      names,
      'a list of libvirt domain names defined inside the classroom host, e.g. ["classroom", "server", "desktop"]',
    );
  }
  const seen = new Set<string>();
  for (const n of names as string[]) {
    if (seen.has(n))
      throw new InvalidArgumentError(
        argument,
        names,
        `a list without repeats ("${n}" is given twice)`,
      );
    seen.add(n);
  }
  return names as string[];
}

/** libvirt's domain states as `virsh domstate` prints them. */
export type DomainState =
  "running" | "idle" | "paused" | "in shutdown" | "shut off" | "crashed" | "pmsuspended";

/** What to do to bring an existing domain to the wanted state. */
export type StartAction = "none" | "start" | "resume" | "refuse";

export function startAction(state: string): StartAction {
  switch (state) {
    case "running":
    case "idle":
      return "none";
    case "paused":
    case "pmsuspended":
      return "resume";
    case "shut off":
    case "crashed":
      return "start";
    default:
      // "in shutdown": wait for it to finish rather than race it.
      return "refuse";
  }
}

/** `virsh list --all --name` → names, in libvirt's order. */
export function parseDomainNames(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

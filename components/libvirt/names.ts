import { InvalidArgumentError } from "../core/errors";
import { isUnknown } from "../core/unknown";

/**
 * libvirt's rule for a domain name, in one place: no "/", no newline, not
 * empty; and three of virsh's: a name that looks like a UUID or a number
 * would be taken for one by every virsh command, and one that starts with
 * "-" for an option ("--help" would answer `virsh domuuid` with its help).
 */
export const DOMAIN_NAME_RULE =
  'a libvirt domain name: 1 to 200 characters, not starting with "-", no "/", no newline or other control characters, not only digits and not shaped like a UUID';

/** Why a domain name is refused, or undefined when libvirt and virsh take it. */
export function domainNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || name.length === 0 || name.length > 200) return DOMAIN_NAME_RULE;
  // eslint-disable-next-line no-control-regex
  if (/[/\u0000-\u001f\u007f]/.test(name) || name.startsWith("-")) return DOMAIN_NAME_RULE;
  if (
    /^\d+$/.test(name) ||
    /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(name)
  ) {
    return DOMAIN_NAME_RULE;
  }
  if (name.trim() !== name) return `${DOMAIN_NAME_RULE}, without leading or trailing spaces`;
  return undefined;
}

export function isDomainName(name: unknown): name is string {
  return domainNameProblem(name) === undefined;
}

/** Throws InvalidArgumentError naming `argument` unless `name` is a domain name (UNKNOWN passes). */
export function validateDomainName(name: unknown, argument = "domainName"): void {
  if (isUnknown(name)) return;
  const problem = domainNameProblem(name);
  if (problem !== undefined) throw new InvalidArgumentError(argument, name, problem);
}

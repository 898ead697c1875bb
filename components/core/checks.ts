import { InvalidArgumentError } from "./errors";
import { isUnknown } from "./unknown";

/**
 * Generic argument checks every feature's validators share. Each names the
 * argument in its InvalidArgumentError, and each skips a value not known yet
 * (UNKNOWN): the provider's check sees it again once it is known.
 */

/** One of the allowed strings (or nothing, when optional). */
export function oneOf(
  argument: string,
  value: unknown,
  allowed: readonly string[],
  optional: boolean,
): void {
  if (isUnknown(value) || (optional && value === undefined)) return;
  if (typeof value !== "string" || !allowed.includes(value)) {
    throw new InvalidArgumentError(argument, value, oneOfPhrase(allowed));
  }
}

/** `one of "a", "b"`: the allowed values as an error message says them. */
export function oneOfPhrase(allowed: readonly string[]): string {
  return `one of ${allowed.map((a) => `"${a}"`).join(", ")}`;
}

export function wholeNumber(argument: string, value: unknown, min: number, max: number): void {
  if (isUnknown(value)) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(argument, value, `a whole number from ${min} to ${max}`);
  }
}

export function tcpPort(argument: string, value: unknown): void {
  wholeNumber(argument, value, 1, 65535);
}

export function optionalBoolean(argument: string, value: unknown): void {
  if (value === undefined || isUnknown(value)) return;
  if (typeof value !== "boolean") throw new InvalidArgumentError(argument, value, "true or false");
}

export function nonEmptyName(argument: string, value: unknown, what: string): void {
  if (isUnknown(value)) return;
  if (
    typeof value !== "string" ||
    value.length === 0 ||
    // virsh would read a leading "-" as an option, a "/" as a path.
    value.startsWith("-") ||
    // eslint-disable-next-line no-control-regex
    /[/\u0000-\u001f]/.test(value)
  ) {
    throw new InvalidArgumentError(
      argument,
      value,
      `${what} (not empty, not starting with "-", no "/" or control characters)`,
    );
  }
}

export function absolutePath(argument: string, value: unknown): void {
  if (isUnknown(value)) return;
  // eslint-disable-next-line no-control-regex
  if (typeof value !== "string" || !value.startsWith("/") || /[\u0000-\u001f]/.test(value)) {
    throw new InvalidArgumentError(argument, value, "an absolute path on the libvirt host");
  }
}

export function ipAddress(argument: string, value: unknown): void {
  if (isUnknown(value)) return;
  const v4 =
    typeof value === "string" && /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
  if (v4 && v4.slice(1).every((o) => Number(o) <= 255)) return;
  if (value === "::1" || value === "::") return;
  throw new InvalidArgumentError(
    argument,
    value,
    'an IPv4 address such as "127.0.0.1" (or "0.0.0.0" for all), "::1" or "::"',
  );
}

export function isLoopback(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address === "::1";
}

/** The `default` of an exhaustive switch: the compiler proves it unreachable. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}

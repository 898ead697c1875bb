import * as pulumi from "@pulumi/pulumi";
import { InvalidArgumentError } from "./errors";
import { UNKNOWN } from "./unknown";

/**
 * Early validation in components: the plain parts of the arguments are
 * checked when the component is constructed, so a typo fails before the
 * engine starts work; the rest is checked by the provider's check() once
 * known. One way for every component.
 */

/** An Output or a Promise: a value known only later. */
export function isEventual(value: unknown): value is pulumi.Output<unknown> | Promise<unknown> {
  return pulumi.Output.isInstance(value) || value instanceof Promise;
}

/** A value known now (not an Output or a Promise). */
export function isPlain(value: unknown): boolean {
  return !isEventual(value);
}

/**
 * A copy of plain argument values with every Output, Promise or resource
 * replaced by UNKNOWN, and the keys in `omit` left out at every level.
 */
export function knownParts(value: unknown, omit: readonly string[] = []): unknown {
  if (isEventual(value)) return UNKNOWN;
  if (Array.isArray(value)) return value.map((v) => knownParts(v, omit));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!omit.includes(k)) out[k] = knownParts(v, omit);
    return out;
  }
  // A resource (e.g. a ConvertedVolume as a disk's volume): its outputs are known later.
  if (value !== null && typeof value === "object") return UNKNOWN;
  return value;
}

/**
 * Runs a validator over the known parts of a component's arguments and
 * returns its answer; an InvalidArgumentError becomes the component's
 * ResourceError. Only the
 * project's own argument errors are caught: anything else is a bug and
 * goes up as it is.
 */
export function validateKnown<T, R>(
  resource: pulumi.Resource,
  args: T,
  validate: (known: { readonly [K in keyof T]?: unknown }) => R,
  omit: readonly string[] = ["host"],
): R {
  try {
    return validate(knownParts(args, omit) as { readonly [K in keyof T]?: unknown });
  } catch (e) {
    if (e instanceof InvalidArgumentError)
      throw new pulumi.ResourceError(e.message, resource, true);
    throw e;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

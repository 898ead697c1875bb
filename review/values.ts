import { isUnknown } from "../components/core/unknown";

/**
 * Property values as a reviewer reads them. A secret is shown as `[secret]`
 * whatever form it arrives in (the digest's "[secret]" string, or a
 * serialized secret with its signature key), and its content is never read.
 */

export const SECRET = "[secret]";
/** The key that marks a serialized secret value in Pulumi's state format. */
export const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";
/** How a value the engine knows only after `pulumi up` is shown. */
export const KNOWN_AFTER_UP = "(known after up)";
/** How an absent value is shown. */
export const NONE = "(none)";

export function isSecret(value: unknown): boolean {
  return (
    value === SECRET ||
    (value !== null &&
      typeof value === "object" &&
      Object.prototype.hasOwnProperty.call(value, SECRET_SIGNATURE))
  );
}

/** A copy with every secret replaced by "[secret]" and object keys sorted (the same value, the same text). */
export function redact(value: unknown): unknown {
  if (isSecret(value)) return SECRET;
  if (Array.isArray(value)) return value.map(redact);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, redact((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * The leaves of a value by path (`vnc.listen`, `networks[1].network`).
 * Secrets and unknowns are leaves; an empty object or list is a leaf too.
 */
export function leaves(value: unknown, prefix = ""): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (v: unknown, path: string): void => {
    if (isSecret(v) || isUnknown(v) || v === null || typeof v !== "object") {
      out.set(path, v);
      return;
    }
    const entries = Array.isArray(v)
      ? v.map((e, i) => [`${path}[${i}]`, e] as const)
      : Object.keys(v)
          .sort()
          .map((k) => [path ? `${path}.${k}` : k, (v as Record<string, unknown>)[k]] as const);
    if (entries.length === 0) out.set(path, v);
    for (const [p, e] of entries) walk(e, p);
  };
  walk(value, prefix);
  return out;
}

/** One value, short and readable: strings quoted, secrets as [secret], unknowns as (known after up). */
export function show(value: unknown): string {
  if (value === undefined) return NONE;
  if (isSecret(value)) return SECRET;
  if (isUnknown(value)) return KNOWN_AFTER_UP;
  return JSON.stringify(redact(value));
}

import { InvalidArgumentError, showValue } from "../core/errors";
import { assertNever } from "../core/checks";

/**
 * - enable: nested on now (reloading the module if needed) and after reboot;
 * - persist: only the persistent setting (modprobe.d); it takes effect at the
 *   next module load or reboot, and `pendingReboot` says so meanwhile;
 * - check: change nothing; fail unless guests on this host can use nested KVM now;
 * - disable: nested off now and after reboot.
 */
export type NestedMode = "enable" | "persist" | "check" | "disable";

export const NESTED_MODES: readonly NestedMode[] = ["enable", "persist", "check", "disable"];

/** The plain arguments the provider receives (host apart). */
export interface NestedArgs {
  readonly mode: NestedMode;
  readonly restoreOnDelete: boolean;
}

/** Validates the plain arguments; throws InvalidArgumentError naming the argument. */
export function validateNestedArgs(raw: { mode?: unknown; restoreOnDelete?: unknown }): NestedArgs {
  return {
    mode: validateMode(raw.mode),
    restoreOnDelete: validateRestoreOnDelete(raw.restoreOnDelete),
  };
}

export function validateMode(mode: unknown): NestedMode {
  if (typeof mode !== "string" || !(NESTED_MODES as readonly string[]).includes(mode)) {
    throw new InvalidArgumentError(
      "mode",
      mode,
      `one of ${NESTED_MODES.map((m) => showValue(m)).join(", ")}`,
    );
  }
  return mode as NestedMode;
}

/** @default false */
export function validateRestoreOnDelete(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean")
    throw new InvalidArgumentError("restoreOnDelete", value, "true or false");
  return value;
}

/** The `nested` value a mode aims at (check: the host must be able to nest). */
export function desiredNested(mode: NestedMode): boolean {
  switch (mode) {
    case "enable":
    case "persist":
    case "check":
      return true;
    case "disable":
      return false;
    default:
      return assertNever(mode);
  }
}

import { InvalidArgumentError } from "../core/errors";
import { oneOf, wholeNumber } from "../core/checks";
import { hasUnknown } from "../core/unknown";
import { diffHost } from "../host/connection";
import { validatePoolName, validatePoolPath, validateVolumeName } from "./args";
import { same } from "./diff";

/**
 * A copy-on-write overlay of a base volume, the pure part: its arguments,
 * what a change of them does, and how the preview names a reset. No Pulumi,
 * no processes.
 */

export type BackingFormat = "qcow2" | "raw";
export const BACKING_FORMATS: readonly BackingFormat[] = ["qcow2", "raw"];

/** The overlay's own arguments, as the provider receives them. */
export interface PlainOverlayArgs {
  readonly pool: string;
  readonly volumeName: string;
  /** The base volume's file, on the same host. */
  readonly backingPath: string;
  readonly backingFormat: BackingFormat;
  /** Raised by one to reset: a new, empty overlay replaces the old one. */
  readonly generation: number;
  /** What the overlay is, in the preview's words ("lab of student s07"). */
  readonly label: string;
}

/** Checks the overlay's arguments (names prefixed with `prefix`); unknown values pass. */
export function validateOverlayArgs(args: Partial<PlainOverlayArgs>, prefix = ""): void {
  const at = (name: string) => `${prefix}${name}`;
  if (!hasUnknown(args.pool)) validatePoolName(args.pool, at("pool"));
  if (!hasUnknown(args.volumeName)) validateVolumeName(args.volumeName, at("volumeName"));
  if (!hasUnknown(args.backingPath)) {
    const path = validatePoolPath(args.backingPath, at("backingPath"));
    if (path !== args.backingPath)
      throw new InvalidArgumentError(
        at("backingPath"),
        args.backingPath,
        "a file path without a trailing slash",
      );
  }
  oneOf(at("backingFormat"), args.backingFormat, BACKING_FORMATS, false);
  wholeNumber(at("generation"), args.generation, 0, Number.MAX_SAFE_INTEGER);
  if (!hasUnknown(args.label) && (typeof args.label !== "string" || args.label.trim() === ""))
    throw new InvalidArgumentError(
      at("label"),
      args.label,
      'what the overlay is, e.g. "lab of student s07"',
    );
}

/** Inputs whose change makes a new overlay (its content lost); the backing file is apart. */
export const OVERLAY_REPLACING = ["pool", "volumeName", "backingFormat", "generation"] as const;

/**
 * The preview's words for a reset (an `updatePlan` as the domain writes
 * it, which the review reads): "replace: generation (lab of student s07
 * reset: its state is lost)". Undefined when the generation did not change.
 */
export function resetPlan(
  olds: Partial<PlainOverlayArgs>,
  news: Partial<PlainOverlayArgs>,
): string | undefined {
  if (olds.generation === undefined || same(olds.generation, news.generation)) return undefined;
  return `replace: generation (${news.label ?? "overlay"} reset: its state is lost)`;
}

/**
 * Why an overlay may not move to another backing file: what its guest wrote
 * is a difference against the old base, meaningless on another. Undefined
 * when it may (the same file, a value not known yet, or a reset at the same time).
 */
export function backingChangeProblem(
  olds: Partial<PlainOverlayArgs>,
  news: Partial<PlainOverlayArgs>,
): string | undefined {
  if (olds.backingPath === undefined || hasUnknown(news.backingPath)) return undefined;
  if (olds.backingPath === news.backingPath || !same(olds.generation, news.generation))
    return undefined;
  return (
    `${news.label ?? "the overlay"} rests on ${olds.backingPath}; it cannot move to ${String(news.backingPath)}, ` +
    `since what was written into it only makes sense on top of its own base. Reset it (raise generation) to make it anew ` +
    `on the new base, which loses its state, or keep the base as it is (onSourceChange: "keep").`
  );
}

export interface OverlayDiff {
  readonly changes: boolean;
  readonly replaces: string[];
  readonly deleteBeforeReplace: boolean;
}

/**
 * A replacement for a reset, another name, pool or base format, another
 * hypervisor; the old overlay goes first (the name is the same). A base
 * not known yet (being made again) is no replacement: the base's delete
 * refuses while the overlay exists, so nothing is lost unannounced.
 */
export function diffOverlay(olds: object, news: object): OverlayDiff {
  const o = olds as Readonly<Record<string, unknown>>;
  const n = news as Readonly<Record<string, unknown>>;
  const replaces: string[] = OVERLAY_REPLACING.filter((k) => !same(o[k], n[k]));
  if (!hasUnknown(n.backingPath) && o.backingPath !== n.backingPath) replaces.push("backingPath");
  const host = diffHost(o, n);
  replaces.push(...host.replaces);
  const updates = host.updates.length > 0 || o.label !== n.label || hasUnknown(n.backingPath);
  return {
    changes: replaces.length > 0 || updates,
    replaces,
    deleteBeforeReplace: replaces.length > 0,
  };
}

import { isDeepStrictEqual } from "util";
import { compareHosts } from "../host/connection";
import { ResolvedDomainSpec } from "./spec";

/**
 * How a change to each argument reaches a domain:
 * - live: applied to the running domain and its definition (setmem,
 *   setvcpus, autostart, start/shutdown), no restart;
 * - restart: the definition is rewritten, then the domain is shut down
 *   (ACPI, then forced after shutdownTimeoutSeconds) and started again;
 * - replace: a new domain (the old one is shut down and undefined first).
 *
 * memoryMiB and vcpus are live within the ceiling set by maxMemoryMiB and
 * maxVcpus (default: the same values, so no headroom); changing a ceiling is
 * a restart, never a replacement.
 *
 * `host` replaces only for another hypervisor (compareHosts: "other"); the
 * same one reached another way, like a rotated `sshPrivateKey`, is live:
 * only the state changes, the domain is not touched.
 */
export type UpdateKind = "live" | "restart" | "replace";

export const UPDATE_KINDS = {
  host: "replace",
  sshPrivateKey: "live",
  domainName: "replace",
  domainType: "replace",
  memoryMiB: "live",
  vcpus: "live",
  autostart: "live",
  running: "live",
  shutdownTimeoutSeconds: "live",
  ipWaitSeconds: "live",
  owner: "live",
  maxMemoryMiB: "restart",
  maxVcpus: "restart",
  topology: "restart",
  cpu: "restart",
  disks: "restart",
  networks: "restart",
  vnc: "restart",
  vncPassword: "restart",
  serial: "restart",
  boot: "restart",
  xmlPatches: "restart",
  xml: "restart",
} as const satisfies Readonly<Record<string, UpdateKind>>;

export type ClassifiedProperty = keyof typeof UPDATE_KINDS;

/** One side of a comparison: the resolved spec and what lives beside it. */
export interface Side {
  readonly spec: ResolvedDomainSpec;
  /** The host connection (plain). */
  readonly host: unknown;
  /** A digest of the VNC password, or undefined: only whether it changed matters. */
  readonly vncPasswordDigest?: string;
  /** A digest of the SSH key, or undefined (likewise). */
  readonly sshKeyDigest?: string;
  readonly xml: string;
}

export interface UpdatePlan {
  readonly replace: readonly ClassifiedProperty[];
  readonly restart: readonly ClassifiedProperty[];
  readonly live: readonly ClassifiedProperty[];
}

/** The changed properties of a domain, sorted into live, restart and replace (in a fixed order). */
export function classifyUpdate(olds: Side, news: Side): UpdatePlan {
  const host = compareHosts(olds.host, news.host);
  const changed = (Object.keys(UPDATE_KINDS) as ClassifiedProperty[]).filter((p) =>
    p === "host" ? host !== "same" : !isDeepStrictEqual(valueOf(olds, p), valueOf(news, p)),
  );
  // The XML follows from the typed arguments: it is named only when none of them changed
  // (then the renderer itself changed, or someone edited the domain by hand).
  const props = changed.filter((p) => p !== "xml" || changed.length === 1);
  const kindOf = (p: ClassifiedProperty): UpdateKind =>
    p === "host" && host === "reconnect" ? "live" : UPDATE_KINDS[p];
  const pick = (kind: UpdateKind): ClassifiedProperty[] => props.filter((p) => kindOf(p) === kind);
  return { replace: pick("replace"), restart: pick("restart"), live: pick("live") };
}

function valueOf(side: Side, p: ClassifiedProperty): unknown {
  switch (p) {
    case "host":
      return side.host;
    case "vncPassword":
      return side.vncPasswordDigest;
    case "sshPrivateKey":
      return side.sshKeyDigest;
    case "xml":
      return side.xml;
    default:
      return (side.spec as unknown as Record<string, unknown>)[p];
  }
}

/**
 * The plan as one line for the preview, e.g. "restart: cpu, vnc; live:
 * memoryMiB". A replacement names only what forces it. Empty when nothing
 * changes.
 */
export function describePlan(plan: UpdatePlan): string {
  if (plan.replace.length > 0) return `replace: ${plan.replace.join(", ")}`;
  const parts: string[] = [];
  if (plan.restart.length > 0) parts.push(`restart: ${plan.restart.join(", ")}`);
  if (plan.live.length > 0)
    parts.push(
      `live: ${plan.live.map((p) => (p in LIVE_HOW ? `${p} (${LIVE_HOW[p]})` : p)).join(", ")}`,
    );
  return parts.join("; ");
}

/**
 * What a live change depends on, said in the plan: memory reaches a running
 * guest only through its balloon driver (a guest without one keeps what it
 * has until it next starts; the outputs liveMemoryMiB and pendingRestart say
 * what it got).
 */
const LIVE_HOW: Partial<Record<ClassifiedProperty, string>> = {
  memoryMiB: "through the guest's balloon driver",
};

/**
 * The plan of a domain replaced with a volume it runs on (the volume is made
 * again from a changed source): the guest's disk is a new one.
 */
export const DISK_REPLACED_PLAN = "replace: disks (disk replaced: the state inside it is lost)";

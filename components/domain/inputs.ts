import { createHash } from "crypto";
import { isDeepStrictEqual } from "util";
import { HostSpec } from "../host/connection";
import { classifyUpdate, Side, UpdatePlan } from "./classify";
import { comparableXml, DomainFields, fieldsFromXml, normaliseDomainXml } from "./normalise";
import { HostFacts, resolveDomainSpec } from "./resolve";
import { DOMAIN_SPEC_KEYS, DomainSpec, DomainType, HostVendor } from "./spec";

/**
 * The NestedDomain resource's inputs and outputs, and the pure decisions
 * on them: the spec they hold, the plan between two of them, the drift
 * libvirt's definition shows. No Pulumi, no processes.
 */

/** The dynamic resource's inputs: the spec, the host, and what check() adds. */
export interface DomainInputs extends DomainSpec {
  readonly host: HostSpec;
  readonly sshPrivateKey?: string;
  readonly vncPassword?: string;
  /** The domain type used (domainType, or what the host allows; kept once chosen). */
  readonly resolvedDomainType?: DomainType;
  /** The host CPU vendor used (hostVendor, or /proc/cpuinfo; kept once chosen). */
  readonly resolvedHostVendor?: HostVendor;
  /** The hypervisor's identity in default MACs (its /etc/machine-id; kept once chosen). */
  readonly resolvedHostId?: string;
  /** The domain XML that is (or will be) defined: VNC password and UUID left out. */
  readonly xml?: string;
  readonly macs?: string[];
  /** What an update will do ("restart: cpu; live: memoryMiB"), shown by `pulumi preview --diff`. */
  readonly updatePlan?: string;
}

export interface DomainOutputs extends DomainInputs {
  readonly uuid: string;
  readonly state: string;
  readonly vncAddress: string | null;
  readonly serialAddress: string | null;
  readonly ipAddresses: string[];
  /** The memory the running guest has now (read back, `virsh dominfo`); null when it is not running. */
  readonly liveMemoryMiB: number | null;
  /**
   * What the running guest does not have yet: the arguments ("memoryMiB",
   * "vcpus") whose live value differs from the definition, which the guest
   * gets when it next starts. Memory moves live only through the guest's
   * balloon driver: a guest without one keeps what it started with.
   */
  readonly pendingRestart: string[];
}

/** What the provider observes, beside the inputs. */
export type Observed = Omit<DomainOutputs, keyof DomainInputs>;

export const OUTPUT_ONLY = [
  "uuid",
  "state",
  "vncAddress",
  "serialAddress",
  "ipAddresses",
  "liveMemoryMiB",
  "pendingRestart",
] as const satisfies readonly (keyof Observed)[];

/** The spec part of the inputs (everything rendering depends on, except the facts). */
export function specOf(i: Partial<DomainInputs>): DomainSpec {
  const out: Record<string, unknown> = {};
  for (const k of DOMAIN_SPEC_KEYS) if (i[k] !== undefined) out[k] = i[k];
  return out as unknown as DomainSpec;
}

/** The host facts the inputs were checked with (the explicit values win). */
export function factsOf(i: DomainInputs): HostFacts {
  return {
    domainType: i.resolvedDomainType ?? i.domainType ?? "qemu",
    hostVendor: i.resolvedHostVendor ?? i.hostVendor ?? "none",
    ...(i.resolvedHostId !== undefined ? { hostId: i.resolvedHostId } : {}),
  };
}

/** The VNC password, if one is set (an unset secret arrives as null). */
export function passwordOf(i: Partial<DomainInputs>): string | undefined {
  return i.vncPassword ?? undefined;
}

/** One side of a comparison: the resolved spec, the host, the secrets' digests, the XML. */
export function sideOf(i: DomainInputs): Side {
  const password = passwordOf(i);
  const spec = resolveDomainSpec(specOf(i), factsOf(i), password !== undefined);
  return {
    spec,
    host: i.host,
    vncPasswordDigest: digestOf(password),
    sshKeyDigest: digestOf(i.sshPrivateKey ?? undefined),
    xml: i.xml ?? "",
  };
}

function digestOf(secret: string | undefined): string | undefined {
  return secret === undefined ? undefined : createHash("sha256").update(secret).digest("hex");
}

/** Which changed arguments are live, which need a restart, which a new domain. */
export function planBetween(olds: DomainInputs, news: DomainInputs): UpdatePlan {
  return classifyUpdate(sideOf(olds), sideOf(news));
}

/**
 * Drift: libvirt's stored definition, normalised, against what was defined.
 * Each typed argument whose value differs is returned with the observed
 * value, and `xml` with libvirt's (normalised) document, so the next preview
 * shows exactly what changed and `up` puts it back.
 */
export function driftFrom(definedXml: string, inactiveXml: string): Partial<DomainInputs> {
  const live = normaliseDomainXml(inactiveXml, definedXml);
  if (live === comparableXml(definedXml)) return {};
  const want = fieldsFromXml(definedXml);
  const have = fieldsFromXml(live);
  const out: Record<string, unknown> = { xml: live };
  for (const key of Object.keys({ ...want, ...have }) as (keyof DomainFields)[]) {
    if (isDeepStrictEqual(want[key], have[key])) continue;
    out[key] = key === "disks" ? have.disks.map(diskArg) : (have[key] ?? null);
  }
  return out as Partial<DomainInputs>;
}

/** A disk as libvirt's XML shows it, in the words of the `disks` argument. */
export function diskArg(d: Record<string, string | boolean>): Record<string, unknown> {
  const { pool, volumeName, ...rest } = d;
  return pool !== undefined ? { volume: { pool, volumeName }, ...rest } : rest;
}

export function withoutKeys<T extends object, K extends string>(
  o: T,
  keys: readonly K[],
): Omit<T, K> {
  const copy = { ...o } as Record<string, unknown>;
  for (const k of keys) delete copy[k];
  return copy as Omit<T, K>;
}

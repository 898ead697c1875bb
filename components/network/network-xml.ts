import { DOMParser } from "@xmldom/xmldom";
import { InvalidArgumentError, showValue } from "../core/errors";
import { hasUnknown, isUnknown } from "../core/unknown";
import { canonicalXml, child, rootOf } from "../core/xml-doc";
import { assertNever } from "../core/checks";

/**
 * A libvirt virtual network, as typed values and as network XML. No Pulumi,
 * no processes.
 */

/** libvirt's `<forward mode>`: NAT to the host's uplink, routed, or isolated (no forward). */
export type ForwardMode = "nat" | "route" | "isolated";
export const FORWARD_MODES: readonly ForwardMode[] = ["nat", "route", "isolated"];

export interface NetworkSpec {
  readonly networkName: string;
  readonly mode: ForwardMode;
  /** The host bridge libvirt makes, e.g. "virbr10". */
  readonly bridgeName?: string;
  /** The host's address on the network, e.g. "192.168.122.1". */
  readonly address: string;
  /** @default 24 */
  readonly prefixLength: number;
  /** DHCP range; none: no DHCP. */
  readonly dhcp?: { readonly start: string; readonly end: string };
  readonly autostart: boolean;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$/;
const BRIDGE = /^[A-Za-z0-9_.-]{1,15}$/;

export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** The same network: the address's prefix bits equal. */
function sameSubnet(a: number, b: number, prefixLength: number): boolean {
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return (a & mask) === (b & mask);
}

/** Checks a network's values and fills the defaults. Throws InvalidArgumentError naming the argument. */
export function validateNetworkSpec(raw: Partial<Record<keyof NetworkSpec, unknown>>): NetworkSpec {
  // Values not known yet (UNKNOWN, in a preview) are skipped: check() sees them again once known.
  const { networkName } = raw;
  if (!isUnknown(networkName) && (typeof networkName !== "string" || !NAME.test(networkName))) {
    throw new InvalidArgumentError(
      "networkName",
      networkName,
      'a libvirt network name (letters, digits, _ . + -, not starting with . or -), e.g. "rhce"',
    );
  }
  const mode = raw.mode ?? "nat";
  if (!isUnknown(mode) && !FORWARD_MODES.includes(mode as ForwardMode)) {
    throw new InvalidArgumentError(
      "mode",
      mode,
      `one of ${FORWARD_MODES.map((m) => showValue(m)).join(", ")}`,
    );
  }
  const bridgeName = raw.bridgeName;
  if (
    bridgeName !== undefined &&
    !isUnknown(bridgeName) &&
    (typeof bridgeName !== "string" || !BRIDGE.test(bridgeName))
  ) {
    throw new InvalidArgumentError(
      "bridgeName",
      bridgeName,
      'an interface name of at most 15 characters, e.g. "virbr10"',
    );
  }
  const address = raw.address;
  const addr = typeof address === "string" ? parseIpv4(address) : undefined;
  if (!isUnknown(address) && addr === undefined) {
    throw new InvalidArgumentError(
      "address",
      address,
      'the host\'s IPv4 address on the network, e.g. "192.168.100.1"',
    );
  }
  const prefixLength = raw.prefixLength ?? 24;
  if (
    !isUnknown(prefixLength) &&
    (typeof prefixLength !== "number" ||
      !Number.isInteger(prefixLength) ||
      prefixLength < 8 ||
      prefixLength > 30)
  ) {
    throw new InvalidArgumentError("prefixLength", prefixLength, "a whole number from 8 to 30");
  }
  let dhcp: NetworkSpec["dhcp"];
  if (raw.dhcp !== undefined && !hasUnknown(raw.dhcp)) {
    const d = raw.dhcp as { start?: unknown; end?: unknown };
    const start = typeof d.start === "string" ? parseIpv4(d.start) : undefined;
    const end = typeof d.end === "string" ? parseIpv4(d.end) : undefined;
    // Where the range must lie is known only with the address and prefix.
    const inside = (a: number): boolean =>
      addr === undefined || typeof prefixLength !== "number" || sameSubnet(a, addr, prefixLength);
    if (start === undefined || end === undefined || start > end || !inside(start) || !inside(end)) {
      throw new InvalidArgumentError(
        "dhcp",
        raw.dhcp,
        `a range { start, end } of addresses inside ${address}/${prefixLength}, start before end`,
      );
    }
    if (addr !== undefined && addr >= start && addr <= end) {
      throw new InvalidArgumentError(
        "dhcp",
        raw.dhcp,
        `a range that leaves out the host's own address ${address}`,
      );
    }
    dhcp = { start: d.start as string, end: d.end as string };
  }
  const autostart = raw.autostart ?? true;
  if (!isUnknown(autostart) && typeof autostart !== "boolean")
    throw new InvalidArgumentError("autostart", autostart, "true or false");
  // No undefined values: the engine cannot carry them through a provider's results.
  return {
    networkName: networkName as string,
    mode: mode as ForwardMode,
    ...(bridgeName === undefined ? {} : { bridgeName: bridgeName as string }),
    address: address as string,
    prefixLength: prefixLength as number,
    ...(dhcp === undefined ? {} : { dhcp }),
    autostart: autostart as boolean,
  };
}

/** The network XML for `virsh net-define`: the same spec gives the same bytes. */
export function renderNetworkXml(spec: NetworkSpec): string {
  const doc = new DOMParser().parseFromString("<network/>", "text/xml");
  const root = rootOf(doc);
  child(root, "name", {}, spec.networkName);
  switch (spec.mode) {
    case "nat":
    case "route":
      child(root, "forward", { mode: spec.mode });
      break;
    case "isolated":
      break;
    default:
      return assertNever(spec.mode);
  }
  if (spec.bridgeName) child(root, "bridge", { name: spec.bridgeName, stp: "on", delay: 0 });
  const ip = child(root, "ip", { address: spec.address, prefix: spec.prefixLength });
  if (spec.dhcp) child(child(ip, "dhcp"), "range", { start: spec.dhcp.start, end: spec.dhcp.end });
  return canonicalXml(doc);
}

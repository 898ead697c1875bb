import { parseUrn } from "./preview";

/**
 * What a resource is in the lab, from its type token and name alone:
 * `pulumi-nodejs:dynamic/nestlab:<Type>` for the custom resources, and the
 * component types (`nestlab:<module>:<Type>`) of its parents in the URN.
 */
export type RoleKind =
  | "host-nested"
  | "pool"
  | "disk"
  | "network"
  | "classroom-host"
  | "domain"
  | "lab-machine"
  | "other";

export interface Role {
  readonly kind: RoleKind;
  /** What it is, e.g. "classroom host", "lab machine", "host nested setting". */
  readonly noun: string;
  /** Which one, e.g. "jiaoshiji"; empty when there is only one. */
  readonly name: string;
}

/** Rows are ordered by this (what the host needs first), then by name. */
export const ROLE_ORDER: readonly RoleKind[] = [
  "host-nested",
  "pool",
  "disk",
  "network",
  "classroom-host",
  "domain",
  "lab-machine",
  "other",
];

const DYNAMIC_PREFIX = "pulumi-nodejs:dynamic/";

/** A student's disk: a copy-on-write overlay on the hypervisor's converted base. */
export const LAB_DISK = "lab disk";

/**
 * The role of a custom resource, or undefined for what is not part of the
 * lab itself (the stack, components, providers). `inputs` are the resource's
 * inputs (new, or old for a deletion): they name the domain, volume, network.
 */
export function roleOf(
  urn: string,
  custom: boolean | undefined,
  inputs: Readonly<Record<string, unknown>>,
): Role | undefined {
  const { types, name } = parseUrn(urn);
  const type = types[types.length - 1];
  if (!custom || type.startsWith("pulumi:providers:") || type === "pulumi:pulumi:Stack") {
    return undefined;
  }
  // In the lab (an RhceLab parent), the volume is the classroom host's disk and the domain is the classroom host.
  const parents = types.slice(0, -1).map(typeName);
  // A Classroom's students each have a classroom host too, on overlays of one base disk.
  const inClassroom = parents.includes("Classroom");
  const inLab = parents.includes("RhceLab");
  const text = (key: string): string =>
    typeof inputs[key] === "string" ? (inputs[key] as string) : name;
  if (!type.startsWith(DYNAMIC_PREFIX)) return { kind: "other", noun: type, name };
  switch (typeName(type)) {
    case "NestedVirtualization":
      return { kind: "host-nested", noun: "host nested setting", name: "" };
    case "StoragePool":
      return { kind: "pool", noun: "storage pool", name: text("pool") };
    case "ConvertedVolume":
      return {
        kind: "disk",
        noun: inLab ? "classroom disk" : inClassroom ? "base disk" : "volume",
        name: text("volumeName"),
      };
    case "OverlayVolume":
      return { kind: "disk", noun: LAB_DISK, name: text("volumeName") };
    case "Network":
    case "NatNetwork":
      return { kind: "network", noun: networkNoun(inputs.mode), name: text("networkName") };
    case "NestedDomain":
      return inLab || inClassroom
        ? { kind: "classroom-host", noun: "classroom host", name: text("domainName") }
        : { kind: "domain", noun: "domain", name: text("domainName") };
    case "LabMachine":
      return { kind: "lab-machine", noun: "lab machine", name: text("domainName") };
    default:
      return { kind: "other", noun: typeName(type), name };
  }
}

/** "classroom host jiaoshiji", "host nested setting". */
export function roleLabel(role: Role): string {
  return role.name ? `${role.noun} ${role.name}` : role.noun;
}

/** The last part of a type token: `nestlab:lab:RhceLab` → RhceLab, `pulumi-nodejs:dynamic/nestlab:LabMachine` → LabMachine. */
function typeName(token: string): string {
  return token.slice(token.lastIndexOf(":") + 1);
}

function networkNoun(mode: unknown): string {
  if (mode === "route") return "routed network";
  if (mode === "isolated") return "isolated network";
  return "NAT network";
}

import { createHash } from "crypto";
import { assertNever } from "../core/checks";
import { InvalidArgumentError } from "../core/errors";
import {
  CpuFeature,
  DiskBus,
  DomainSpec,
  DomainType,
  HostVendor,
  ResolvedDisk,
  ResolvedDomainSpec,
  ResolvedNetwork,
} from "./spec";
import { validateCpuForDomainType } from "./validate-cpu";

/** The facts about the host that the XML depends on, read once by the provider's check. */
export interface HostFacts {
  readonly domainType: DomainType;
  readonly hostVendor: HostVendor;
  /**
   * The hypervisor's identity (its /etc/machine-id), mixed into default MAC
   * addresses; undefined for a domain made before it was (its MACs stay).
   */
  readonly hostId?: string;
}

export const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 60;
export const DEFAULT_IP_WAIT_SECONDS = 30;

/**
 * How long a stop (restart, stop, destroy) waits for the guest to answer the
 * ACPI power button before forcing it off. A domain with nothing to boot (no
 * disk, no kernel, no NIC that could boot from the network) runs no OS that
 * could answer: it is forced off at once instead of waiting the timeout out.
 */
export function acpiWaitSeconds(
  spec: Pick<DomainSpec, "shutdownTimeoutSeconds"> & {
    readonly disks?: readonly unknown[];
    readonly networks?: readonly unknown[];
    readonly boot?: unknown;
  },
): number {
  const bootable =
    (spec.disks?.length ?? 0) > 0 || (spec.networks?.length ?? 0) > 0 || spec.boot !== undefined;
  return bootable ? (spec.shutdownTimeoutSeconds ?? DEFAULT_SHUTDOWN_TIMEOUT_SECONDS) : 0;
}

/**
 * Fills every default and decides what depends on the host (domain type,
 * the virtualization feature), so that rendering needs nothing else. The
 * spec must be validated and fully known.
 */
export function resolveDomainSpec(
  spec: DomainSpec,
  facts: HostFacts,
  vncPasswordSet: boolean,
): ResolvedDomainSpec {
  const domainType = spec.domainType ?? facts.domainType;
  const hostVendor = spec.hostVendor ?? facts.hostVendor;
  validateCpuForDomainType(spec, domainType);
  const nested = spec.cpu.nested ?? true;
  const given = spec.cpu.features ?? [];
  const features: CpuFeature[] = given.map((f) => ({ name: f.name, policy: f.policy }));
  if (
    nested &&
    spec.cpu.mode !== "host-passthrough" &&
    !given.some((f) => f.name === "vmx" || f.name === "svm")
  ) {
    features.push({ name: nestedFeature(domainType, hostVendor), policy: "require" });
  }
  const vnc = spec.vnc && {
    listen: spec.vnc.listen ?? "127.0.0.1",
    ...(spec.vnc.port !== undefined ? { port: spec.vnc.port } : {}),
    ...(spec.vnc.display !== undefined ? { display: spec.vnc.display } : {}),
    ...(spec.vnc.port === undefined && spec.vnc.display === undefined ? { autoport: true } : {}),
  };
  return {
    domainName: spec.domainName,
    domainType,
    hostVendor,
    memoryMiB: spec.memoryMiB,
    maxMemoryMiB: spec.maxMemoryMiB ?? spec.memoryMiB,
    vcpus: spec.vcpus,
    maxVcpus: spec.maxVcpus ?? spec.vcpus,
    ...(spec.topology ? { topology: { ...spec.topology } } : {}),
    cpu: {
      mode: spec.cpu.mode,
      ...(spec.cpu.model !== undefined ? { model: spec.cpu.model } : {}),
      features,
      nested,
    },
    disks: resolveDisks(spec.disks),
    networks: (spec.networks ?? []).map((n, i): ResolvedNetwork => ({
      ...n,
      mac: (n.mac ?? stableMac(spec.domainName, i, facts.hostId)).toLowerCase(),
      model: n.model ?? "virtio",
    })),
    ...(vnc ? { vnc } : {}),
    ...(spec.serial
      ? {
          serial:
            spec.serial.type === "tcp"
              ? // allowRemote only lets the check pass; the domain does not change with it.
                { type: "tcp", host: spec.serial.host ?? "127.0.0.1", port: spec.serial.port }
              : spec.serial,
        }
      : {}),
    ...(spec.boot ? { boot: spec.boot } : {}),
    autostart: spec.autostart ?? false,
    running: spec.running ?? true,
    shutdownTimeoutSeconds: spec.shutdownTimeoutSeconds ?? DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
    ipWaitSeconds: spec.ipWaitSeconds ?? DEFAULT_IP_WAIT_SECONDS,
    xmlPatches: spec.xmlPatches ?? [],
    owner: spec.owner,
    vncPasswordSet,
  };
}

/**
 * The CPU flag a guest needs to run KVM itself. Under KVM the guest gets the
 * host's own extension (Intel VMX or AMD SVM); under TCG only SVM exists.
 */
export function nestedFeature(domainType: DomainType, hostVendor: HostVendor): "vmx" | "svm" {
  switch (domainType) {
    case "qemu":
      return "svm";
    case "kvm":
      switch (hostVendor) {
        case "intel":
          return "vmx";
        case "amd":
          return "svm";
        case "none":
          throw new InvalidArgumentError(
            "hostVendor",
            hostVendor,
            '"intel" or "amd": the host CPU has neither VMX nor SVM, so a KVM domain cannot be nested-capable (set cpu.nested: false, or use domainType "qemu")',
          );
        default:
          return assertNever(hostVendor);
      }
    default:
      return assertNever(domainType);
  }
}

/** Guest device names: vda, vdb… on virtio; sda… on SATA; hda… on IDE (counted per bus). */
function resolveDisks(disks: DomainSpec["disks"]): ResolvedDisk[] {
  const counts: Record<DiskBus, number> = { virtio: 0, sata: 0, ide: 0 };
  const prefix: Record<DiskBus, string> = { virtio: "vd", sata: "sd", ide: "hd" };
  return disks.map((d) => {
    const bus = d.bus ?? "virtio";
    const target = `${prefix[bus]}${String.fromCharCode(97 + counts[bus]++)}`;
    return {
      ...(d.volume ? { volume: { pool: d.volume.pool, volumeName: d.volume.volumeName } } : {}),
      ...(d.path !== undefined ? { path: d.path } : {}),
      bus,
      device: d.device ?? "disk",
      format: d.format ?? (d.device === "cdrom" ? "raw" : "qcow2"),
      readonly: d.readonly ?? d.device === "cdrom",
      target,
    };
  });
}

/**
 * A locally administered MAC in QEMU's 52:54:00 range, the same for the same
 * hypervisor, domain name and interface position on every run. The
 * hypervisor's identity keeps two hypervisors' default domains (every lab's
 * "jiaoshiji") apart on a shared bridge; without one (a domain made before),
 * the name alone decides, as it did then.
 */
export function stableMac(domainName: string, index: number, hostId?: string): string {
  const seed =
    hostId === undefined
      ? `nestlab-domain-mac\0${domainName}\0${index}`
      : `nestlab-domain-mac\0${hostId}\0${domainName}\0${index}`;
  const digest = createHash("sha256").update(seed).digest();
  const tail = [digest[0], digest[1], digest[2]].map((b) => b.toString(16).padStart(2, "0"));
  return ["52", "54", "00", ...tail].join(":");
}

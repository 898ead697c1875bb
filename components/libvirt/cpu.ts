import { PreconditionError } from "../core/errors";

/**
 * The host CPU as libvirt and KVM see it, in one place: its vendor (which
 * virtualization extension a guest gets), the KVM module that drives it, and
 * the domain type a host can run. Pure: /proc/cpuinfo text in, facts out.
 */

/** What the host's CPU offers for KVM: "none" when it has neither vmx nor svm. */
export type CpuVendor = "intel" | "amd" | "none";

/** The vendor module of KVM that carries the `nested` parameter. */
export type KvmModule = "kvm_intel" | "kvm_amd";

/** The first processor's vendor string and feature flags from /proc/cpuinfo. */
export interface CpuInfo {
  /** "GenuineIntel", "AuthenticAMD", "HygonGenuine", …; undefined on non-x86 kernels. */
  readonly vendorId: string | undefined;
  readonly flags: readonly string[];
}

/** Vendor strings whose VT-x or AMD-V is driven by kvm_amd (the others with vmx use kvm_intel). */
const AMD_VENDOR_IDS = ["AuthenticAMD", "HygonGenuine"];

/**
 * Reads the first processor block of /proc/cpuinfo. All processors of an x86
 * host report the same vendor and (for vmx/svm) the same flags.
 */
export function parseCpuInfo(text: string): CpuInfo {
  const firstBlock = text.split(/\n\s*\n/)[0] ?? "";
  let vendorId: string | undefined;
  let flags: string[] = [];
  for (const line of firstBlock.split("\n")) {
    const match = /^([^:]+?)\s*:\s?(.*)$/.exec(line);
    if (!match) continue;
    const [, key, value] = match;
    if (key === "vendor_id") vendorId = value.trim();
    else if (key === "flags") flags = value.trim().split(/\s+/).filter(Boolean);
  }
  return { vendorId, flags };
}

/**
 * The vendor rule: the CPU flags decide (vmx → intel, svm → amd; the vendor
 * string breaks the tie of both, never seen on real hardware), "none" when
 * the CPU shows neither.
 */
export function vendorOfFlags(info: CpuInfo): CpuVendor {
  const vmx = info.flags.includes("vmx");
  const svm = info.flags.includes("svm");
  if (vmx && svm) return AMD_VENDOR_IDS.includes(info.vendorId ?? "") ? "amd" : "intel";
  if (vmx) return "intel";
  if (svm) return "amd";
  return "none";
}

const MODULE_OF: Readonly<Record<CpuVendor, KvmModule | null>> = {
  intel: "kvm_intel",
  amd: "kvm_amd",
  none: null,
};

/**
 * The vendor and module from the CPU flags: vmx → kvm_intel, svm → kvm_amd,
 * neither → "none" (no hardware virtualization: guests run under emulation).
 * Throws PreconditionError for a CPU that is not x86 (no vendor_id line).
 */
export function detectVendor(
  info: CpuInfo,
  hostLabel: string,
): { vendor: CpuVendor; module: KvmModule | null } {
  const vendor = vendorOfFlags(info);
  if (info.vendorId === undefined && vendor === "none") {
    throw new PreconditionError(
      `Unknown CPU vendor on ${hostLabel}: /proc/cpuinfo has no x86 "vendor_id" line. ` +
        "NestedVirtualization handles x86 hosts only (kvm_intel for vmx, kvm_amd for svm).",
    );
  }
  return { vendor, module: MODULE_OF[vendor] };
}

/**
 * The vendor a domain's nested feature is chosen for: the same rule, and
 * where the flags show neither extension (a CPU that hides them), the vendor
 * string. It matters only under KVM, where the flags are there.
 */
export function vendorFromCpuinfo(cpuinfo: string): CpuVendor {
  const info = parseCpuInfo(cpuinfo);
  const byFlags = vendorOfFlags(info);
  if (byFlags !== "none") return byFlags;
  if (info.vendorId === "GenuineIntel") return "intel";
  if (AMD_VENDOR_IDS.includes(info.vendorId ?? "")) return "amd";
  return "none";
}

/** libvirt's domain types this project makes: hardware KVM or QEMU's TCG emulation. */
export type DomainType = "kvm" | "qemu";

/**
 * "kvm" only where a vendor KVM module (kvm_intel or kvm_amd) is loaded: a
 * /dev/kvm from another module (such as kvm_pvm) cannot run ordinary guests.
 */
export function chooseDomainType(host: {
  readonly vendorKvmModule: boolean;
  readonly devKvm: boolean;
}): DomainType {
  return host.vendorKvmModule && host.devKvm ? "kvm" : "qemu";
}

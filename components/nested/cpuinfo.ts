import { PreconditionError } from "../core/errors";

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
 * The vendor and module from the CPU flags: vmx → kvm_intel, svm → kvm_amd,
 * neither → "none" (no hardware virtualization: guests run under emulation).
 * Throws PreconditionError for a CPU that is not x86 (no vendor_id line).
 */
export function detectVendor(
  info: CpuInfo,
  hostLabel: string,
): { vendor: CpuVendor; module: KvmModule | null } {
  const vmx = info.flags.includes("vmx");
  const svm = info.flags.includes("svm");
  if (info.vendorId === undefined && !vmx && !svm) {
    throw new PreconditionError(
      `Unknown CPU vendor on ${hostLabel}: /proc/cpuinfo has no x86 "vendor_id" line. ` +
        "NestedVirtualization handles x86 hosts only (kvm_intel for vmx, kvm_amd for svm).",
    );
  }
  if (vmx && svm) {
    // Not seen on real hardware; the vendor string decides.
    return AMD_VENDOR_IDS.includes(info.vendorId ?? "")
      ? { vendor: "amd", module: "kvm_amd" }
      : { vendor: "intel", module: "kvm_intel" };
  }
  if (vmx) return { vendor: "intel", module: "kvm_intel" };
  if (svm) return { vendor: "amd", module: "kvm_amd" };
  return { vendor: "none", module: null };
}

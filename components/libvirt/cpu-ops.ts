import { HostAccess } from "../host/access";
import { HostSnapshot } from "../host/read-many";
import { chooseDomainType, CpuVendor, DomainType, vendorFromCpuinfo } from "./cpu";

/** What a domain's XML depends on from the host: its CPU vendor and the domain type it can run. */
export interface HostCpuFacts {
  readonly hostVendor: CpuVendor;
  readonly domainType: DomainType;
}

/**
 * Reads /proc/cpuinfo, the vendor KVM modules and /dev in one command (one
 * SSH round trip), and decides the vendor and the domain type.
 */
export async function readHostCpuFacts(host: HostAccess, rootDir: string): Promise<HostCpuFacts> {
  const snap = await HostSnapshot.read(host, rootDir, [
    "/proc/cpuinfo",
    "/sys/module/kvm_intel",
    "/sys/module/kvm_amd",
    "/dev",
  ]);
  const vendorKvmModule =
    snap.names("/sys/module/kvm_intel").length > 0 || snap.names("/sys/module/kvm_amd").length > 0;
  return {
    hostVendor: vendorFromCpuinfo(snap.file("/proc/cpuinfo") ?? ""),
    domainType: chooseDomainType({ vendorKvmModule, devKvm: snap.names("/dev").includes("kvm") }),
  };
}

import { DOMParser } from "@xmldom/xmldom";
import { CpuVendor } from "../libvirt/cpu";

/** What libvirt says about the host CPU (`virsh capabilities`, <host><cpu>). */
export interface LibvirtHostCpu {
  /** <vendor> as libvirt writes it: "Intel", "AMD", "Hygon"; undefined when absent. */
  readonly vendor: string | undefined;
}

/** Reads <capabilities><host><cpu>. Throws on XML that does not parse. */
export function parseHostCpu(capabilitiesXml: string): LibvirtHostCpu {
  const doc = new DOMParser().parseFromString(capabilitiesXml, "text/xml");
  const host = doc.getElementsByTagName("host")[0];
  const cpu = host?.getElementsByTagName("cpu")[0];
  const vendor = cpu?.getElementsByTagName("vendor")[0]?.textContent?.trim();
  return { vendor: vendor || undefined };
}

/**
 * A sentence when libvirt's view of the CPU disagrees with /proc/cpuinfo's
 * (e.g. a libvirt that talks to another host than the one inspected),
 * undefined when they agree or libvirt says nothing about it.
 */
export function crossCheckVendor(vendor: CpuVendor, cpu: LibvirtHostCpu): string | undefined {
  if (cpu.vendor === undefined || vendor === "none") return undefined;
  const expected = vendor === "intel" ? ["intel"] : ["amd", "hygon"];
  if (!expected.includes(cpu.vendor.toLowerCase())) {
    return `libvirt reports CPU vendor "${cpu.vendor}" but /proc/cpuinfo shows ${vendor === "intel" ? "vmx (Intel)" : "svm (AMD)"}: check that host.libvirtUri points at the same host.`;
  }
  return undefined;
}

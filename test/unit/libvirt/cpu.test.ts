import { detectVendor, parseCpuInfo } from "../../../components/libvirt/cpu";

const INTEL = `processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model name\t: Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr vmx smx est tm2 ssse3

processor\t: 1
vendor_id\t: GenuineIntel
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr vmx smx est tm2 ssse3
`;

const AMD = `processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep svm extapic cr8_legacy abm
`;

// This machine: AMD, no svm (a paravirtual KVM provides /dev/kvm).
const AMD_NO_SVM = `processor\t: 0
vendor_id\t: AuthenticAMD
flags\t\t: fpu vme de pse tsc msr pae hypervisor lahf_lm cmp_legacy
`;

const ARM = `processor\t: 0
BogoMIPS\t: 48.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid
CPU implementer\t: 0x41
`;

describe("parseCpuInfo", () => {
  test.each([
    ["Intel with vmx", INTEL, "GenuineIntel", ["fpu", "vmx", "ssse3"]],
    ["AMD with svm", AMD, "AuthenticAMD", ["svm", "abm"]],
    ["AMD without svm", AMD_NO_SVM, "AuthenticAMD", ["hypervisor", "cmp_legacy"]],
  ])("reads vendor_id and flags of the first processor: %s", (_name, text, vendorId, someFlags) => {
    const info = parseCpuInfo(text);
    expect(info.vendorId).toBe(vendorId);
    for (const flag of someFlags) expect(info.flags).toContain(flag);
  });

  test("reads only the first processor block", () => {
    expect(parseCpuInfo(INTEL).flags).toEqual([
      "fpu",
      "vme",
      "de",
      "pse",
      "tsc",
      "msr",
      "pae",
      "mce",
      "cx8",
      "apic",
      "sep",
      "mtrr",
      "vmx",
      "smx",
      "est",
      "tm2",
      "ssse3",
    ]);
  });

  test("has no vendor_id on a non-x86 kernel", () => {
    expect(parseCpuInfo(ARM)).toEqual({ vendorId: undefined, flags: [] });
  });
});

describe("detectVendor", () => {
  test.each([
    ["vmx → kvm_intel", INTEL, { vendor: "intel", module: "kvm_intel" }],
    ["svm → kvm_amd", AMD, { vendor: "amd", module: "kvm_amd" }],
    ["neither → none", AMD_NO_SVM, { vendor: "none", module: null }],
    [
      "Hygon with svm → kvm_amd",
      "vendor_id\t: HygonGenuine\nflags\t\t: fpu svm\n",
      { vendor: "amd", module: "kvm_amd" },
    ],
    [
      "Zhaoxin (Centaur) with vmx → kvm_intel",
      "vendor_id\t: CentaurHauls\nflags\t\t: fpu vmx\n",
      { vendor: "intel", module: "kvm_intel" },
    ],
    [
      "both flags, AMD vendor → kvm_amd",
      "vendor_id\t: AuthenticAMD\nflags\t\t: vmx svm\n",
      { vendor: "amd", module: "kvm_amd" },
    ],
    [
      "both flags, Intel vendor → kvm_intel",
      "vendor_id\t: GenuineIntel\nflags\t\t: vmx svm\n",
      { vendor: "intel", module: "kvm_intel" },
    ],
  ])("%s", (_name, text, expected) => {
    expect(detectVendor(parseCpuInfo(text), "this machine")).toEqual(expected);
  });

  test("refuses a CPU that is not x86, naming the host", () => {
    expect(() => detectVendor(parseCpuInfo(ARM), "root@arm:22")).toThrow(
      'Unknown CPU vendor on root@arm:22: /proc/cpuinfo has no x86 "vendor_id" line. NestedVirtualization handles x86 hosts only (kvm_intel for vmx, kvm_amd for svm).',
    );
  });
});

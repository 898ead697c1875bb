import { crossCheckVendor, parseHostCpu } from "../../../components/nested/libvirt-caps";

const caps = (vendor: string) => `<capabilities>
  <host>
    <uuid>77947837-aaad-404e-9536-e2c7ee58a544</uuid>
    <cpu>
      <arch>x86_64</arch>
      <model>EPYC</model>
      ${vendor}
      <feature name='svm'/>
    </cpu>
  </host>
  <guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/></arch></guest>
</capabilities>`;

describe("parseHostCpu", () => {
  test.each([
    ["AMD", caps("<vendor>AMD</vendor>"), "AMD"],
    ["Intel", caps("<vendor>Intel</vendor>"), "Intel"],
    ["no vendor element", caps(""), undefined],
    ["no host cpu", "<capabilities><host/></capabilities>", undefined],
  ])("%s", (_name, xml, vendor) => expect(parseHostCpu(xml)).toEqual({ vendor }));
});

describe("crossCheckVendor", () => {
  test.each([
    ["agrees (AMD)", "amd", "AMD", undefined],
    ["agrees (Hygon uses kvm_amd)", "amd", "Hygon", undefined],
    ["agrees (Intel)", "intel", "Intel", undefined],
    ["libvirt says nothing", "amd", undefined, undefined],
    ["no vmx/svm here", "none", "AMD", undefined],
    [
      "disagrees",
      "intel",
      "AMD",
      'libvirt reports CPU vendor "AMD" but /proc/cpuinfo shows vmx (Intel): check that host.libvirtUri points at the same host.',
    ],
  ] as const)("%s", (_name, vendor, libvirtVendor, expected) => {
    expect(crossCheckVendor(vendor, { vendor: libvirtVendor })).toBe(expected);
  });
});

import { nestedSettingsInCmdline } from "../../../components/nested/kernel-cmdline";

describe("nestedSettingsInCmdline", () => {
  test.each([
    [
      "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet kvm-intel.nested=1",
      "kvm_intel",
      [["kvm-intel.nested=1", "1", true]],
    ],
    ["root=/dev/vda kvm_intel.nested=N", "kvm_intel", [["kvm_intel.nested=N", "N", false]]],
    ["kvm_amd.nested=0 quiet", "kvm_amd", [["kvm_amd.nested=0", "0", false]]],
    [
      "kvm-amd.nested=1 kvm_amd.nested=0",
      "kvm_amd",
      [
        ["kvm-amd.nested=1", "1", true],
        ["kvm_amd.nested=0", "0", false],
      ],
    ],
    ["kvm_amd.nested=Y", "kvm_amd", [["kvm_amd.nested=Y", "Y", undefined]]],
    ["kvm_intel.nested=1", "kvm_amd", []],
    ["kvm_amd.npt=0 kvm.nested=1", "kvm_amd", []],
    ["quiet -- kvm_amd.nested=1", "kvm_amd", []],
    [
      'console=ttyS0 acpi_osi="Windows 2015" kvm_amd.nested=1\n',
      "kvm_amd",
      [["kvm_amd.nested=1", "1", true]],
    ],
    ["", "kvm_amd", []],
  ] as const)("%j for %s", (cmdline, module, expected) => {
    expect(nestedSettingsInCmdline(cmdline, module).map((s) => [s.text, s.raw, s.value])).toEqual(
      expected,
    );
  });

  test("names its source and is never the managed file", () => {
    expect(nestedSettingsInCmdline("kvm_amd.nested=1", "kvm_amd")).toEqual([
      {
        source: "kernel command line",
        text: "kvm_amd.nested=1",
        raw: "1",
        value: true,
        managed: false,
      },
    ]);
  });
});

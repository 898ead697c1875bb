import {
  defaultNested,
  kernelVersion,
  listsModule,
  moduleState,
} from "../../../components/nested/kernel-module";

const BUILTIN = "kernel/arch/x86/kvm/kvm.ko\nkernel/arch/x86/kvm/kvm-intel.ko\n";
const DEP = [
  "kernel/arch/x86/kvm/kvm.ko.xz: kernel/virt/lib/irqbypass.ko.xz",
  "kernel/arch/x86/kvm/kvm-amd.ko.xz: kernel/arch/x86/kvm/kvm.ko.xz kernel/drivers/crypto/ccp/ccp.ko.xz",
  "",
].join("\n");

describe("moduleState", () => {
  test.each([
    [
      "initstate live → loaded",
      { entries: ["initstate", "parameters", "refcnt"], initstate: "live" },
      undefined,
      "loaded",
    ],
    [
      "initstate coming → loaded",
      { entries: ["initstate"], initstate: "coming" },
      undefined,
      "loaded",
    ],
    [
      "refcnt without initstate → loaded",
      { entries: ["parameters", "refcnt"], initstate: undefined },
      undefined,
      "loaded",
    ],
    [
      "parameters only → builtin",
      { entries: ["parameters", "uevent"], initstate: undefined },
      undefined,
      "builtin",
    ],
    [
      "not in sysfs, in modules.builtin → builtin",
      { entries: [], initstate: undefined },
      BUILTIN,
      "builtin",
    ],
    [
      "not in sysfs, not built in → absent",
      { entries: [], initstate: undefined },
      "kernel/arch/x86/kvm/kvm.ko\n",
      "absent",
    ],
    ["nothing readable → absent", { entries: [], initstate: undefined }, undefined, "absent"],
  ] as const)("%s", (_name, sysfs, builtin, expected) => {
    expect(moduleState("kvm_intel", sysfs, builtin)).toBe(expected);
  });
});

describe("listsModule", () => {
  test.each([
    [DEP, "kvm_amd", true],
    [DEP, "kvm_intel", false],
    [BUILTIN, "kvm_intel", true],
    ["kernel/arch/x86/kvm/kvm-amd.ko.zst:\n", "kvm_amd", true],
    ["kernel/arch/x86/kvm/kvm_amd.ko.gz: kernel/arch/x86/kvm/kvm.ko.gz\n", "kvm_amd", true],
    ["kernel/arch/x86/kvm/kvm-amd-extra.ko:\n", "kvm_amd", false],
    ["", "kvm_amd", false],
    [undefined, "kvm_amd", false],
  ] as const)("%j lists %s: %s", (index, module, expected) => {
    expect(listsModule(index, module)).toBe(expected);
  });
});

describe("kernelVersion", () => {
  test.each([
    ["6.1.0-18-amd64", [6, 1]],
    ["4.18.0-513.el8.x86_64\n", [4, 18]],
    ["weird", undefined],
  ])("%j → %j", (release, expected) => expect(kernelVersion(release)).toEqual(expected));
});

describe("defaultNested", () => {
  test.each([
    ["kvm_amd", "3.10.0-1160.el7.x86_64", true],
    ["kvm_amd", "6.1.0-18-amd64", true],
    ["kvm_intel", "3.10.0-1160.el7.x86_64", false],
    ["kvm_intel", "4.19.0-27-amd64", false],
    ["kvm_intel", "4.20.0", true],
    ["kvm_intel", "5.14.0-362.el9.x86_64", true],
    ["kvm_intel", "", false],
  ] as const)("%s on %j → %s", (module, release, expected) => {
    expect(defaultNested(module, release)).toBe(expected);
  });
});

import { NestedFacts, observe } from "../../../components/nested/facts";
import { MANAGED_FILE } from "../../../components/nested/modprobe-conf";
import { planDelete, planNested, satisfies } from "../../../components/nested/plan";

const HEADER =
  "# Written by nestlab (NestedVirtualization): nested virtualization for KVM.\n" +
  "# Destroying the resource restores what was here before.\n";
const H = "root@lab:22";

/** An AMD host with kvm_amd loaded, nested on, nothing configured, no guests, root. */
function amd(over: Partial<NestedFacts> = {}): NestedFacts {
  return {
    hostLabel: H,
    cpuVendorId: "AuthenticAMD",
    vendor: "amd",
    module: "kvm_amd",
    moduleState: "loaded",
    moduleAvailable: true,
    kernelRelease: "6.1.0-18-amd64",
    nestedRaw: "1\n",
    cmdline: "root=/dev/vda1 ro quiet\n",
    configFiles: [],
    guests: [],
    moduleRefcount: 0,
    uid: 0,
    otherKvmModules: [],
    remarks: [],
    ...over,
  };
}

/** An Intel host on an old kernel (default off), kvm_intel loaded with nested N. */
function intel(over: Partial<NestedFacts> = {}): NestedFacts {
  return amd({
    cpuVendorId: "GenuineIntel",
    vendor: "intel",
    module: "kvm_intel",
    kernelRelease: "3.10.0-1160.el7.x86_64",
    nestedRaw: "N\n",
    ...over,
  });
}

const conf = (path: string, content: string) => ({ path, content });

describe("planNested: nothing to do", () => {
  test.each([
    ["enable on AMD, already on by default", "enable", amd()],
    ["persist on AMD, already on by default", "persist", amd()],
    ["check on AMD, nested on", "check", amd()],
    [
      "check on a built-in module with nested on",
      "check",
      intel({ moduleState: "builtin", nestedRaw: "Y\n" }),
    ],
    [
      "enable on Intel with the seed's kvm-intel.conf",
      "enable",
      intel({
        nestedRaw: "Y\n",
        configFiles: [conf("/etc/modprobe.d/kvm-intel.conf", "options kvm-intel nested=1\n")],
      }),
    ],
    [
      "enable on Intel with kvm-intel.nested=1 on the command line",
      "enable",
      intel({ nestedRaw: "Y\n", cmdline: "ro kvm-intel.nested=1" }),
    ],
    [
      "enable with the managed file already right",
      "enable",
      amd({ configFiles: [conf(MANAGED_FILE, `${HEADER}options kvm_amd nested=1\n`)] }),
    ],
    [
      "disable with the managed file right, nested off",
      "disable",
      amd({ nestedRaw: "0\n", configFiles: [conf(MANAGED_FILE, "options kvm_amd nested=0\n")] }),
    ],
    [
      "enable on a built-in module, on, nothing on the command line (default on)",
      "enable",
      amd({ moduleState: "builtin" }),
    ],
    [
      "disable on a host without vmx/svm",
      "disable",
      amd({ vendor: "none", module: null, cpuVendorId: "AuthenticAMD" }),
    ],
    [
      "disable on a host without the module",
      "disable",
      amd({ moduleState: "absent", moduleAvailable: false, nestedRaw: undefined }),
    ],
    [
      "persist while guests run (no reload needed)",
      "persist",
      amd({ guests: ["classroom"], moduleRefcount: 3 }),
    ],
    ["enable on AMD as non-root when already on", "enable", amd({ uid: 1000 })],
  ] as const)("%s", (_name, mode, facts) => {
    expect(planNested(mode, facts)).toEqual({ kind: "none" });
  });
});

describe("planNested: changes", () => {
  test.each([
    [
      "enable on old Intel: write the file and reload",
      "enable",
      intel(),
      {
        kind: "change",
        module: "kvm_intel",
        fileContent: `${HEADER}options kvm_intel nested=1\n`,
        live: { kind: "reload", from: false, to: true },
      },
    ],
    [
      "persist on old Intel: write the file only",
      "persist",
      intel(),
      {
        kind: "change",
        module: "kvm_intel",
        fileContent: `${HEADER}options kvm_intel nested=1\n`,
        live: undefined,
      },
    ],
    [
      "disable on AMD: write nested=0 and reload",
      "disable",
      amd(),
      {
        kind: "change",
        module: "kvm_amd",
        fileContent: `${HEADER}options kvm_amd nested=0\n`,
        live: { kind: "reload", from: true, to: false },
      },
    ],
    [
      "enable on AMD with nested=0 live but nothing persisted: reload only",
      "enable",
      amd({ nestedRaw: "0\n" }),
      {
        kind: "change",
        module: "kvm_amd",
        fileContent: undefined,
        live: { kind: "reload", from: false, to: true },
      },
    ],
    [
      "enable after an earlier disable: the managed file is changed in place",
      "enable",
      amd({
        nestedRaw: "0\n",
        configFiles: [conf(MANAGED_FILE, `${HEADER}options kvm_amd nested=0\n# mine\n`)],
      }),
      {
        kind: "change",
        module: "kvm_amd",
        fileContent: `${HEADER}options kvm_amd nested=1\n# mine\n`,
        live: { kind: "reload", from: false, to: true },
      },
    ],
    [
      "enable with the module installed but not loaded: load it",
      "enable",
      amd({ moduleState: "absent", nestedRaw: undefined, moduleRefcount: undefined }),
      {
        kind: "change",
        module: "kvm_amd",
        fileContent: undefined,
        live: { kind: "load", to: true },
      },
    ],
    [
      "disable with the module installed but not loaded: file only",
      "disable",
      amd({ moduleState: "absent", nestedRaw: undefined, moduleRefcount: undefined }),
      {
        kind: "change",
        module: "kvm_amd",
        fileContent: `${HEADER}options kvm_amd nested=0\n`,
        live: undefined,
      },
    ],
    [
      "enable where another file agrees but the managed file says 0: fix the managed file",
      "enable",
      amd({
        configFiles: [
          conf(MANAGED_FILE, "options kvm_amd nested=0\n"),
          conf("/etc/modprobe.d/zz.conf", "options kvm_amd nested=1\n"),
        ],
      }),
      {
        kind: "change",
        module: "kvm_amd",
        fileContent: "options kvm_amd nested=1\n",
        live: undefined,
      },
    ],
  ] as const)("%s", (_name, mode, facts, plan) => {
    expect(planNested(mode, facts)).toEqual(plan);
  });
});

describe("planNested: refusals", () => {
  test("no vmx/svm: says guests run under emulation and nested KVM is unavailable, naming the other KVM module", () => {
    expect(
      planNested(
        "enable",
        amd({
          vendor: "none",
          module: null,
          otherKvmModules: ["kvm_pvm"],
          hostLabel: "this machine",
        }),
      ),
    ).toEqual({
      kind: "refuse",
      reason:
        "this machine has no hardware virtualization: /proc/cpuinfo (vendor AuthenticAMD) shows neither vmx (Intel VT-x) nor svm (AMD-V). " +
        'Guests on this host run under emulation (TCG, libvirt domain type "qemu") and nested KVM is unavailable here. ' +
        "The KVM module loaded here (kvm_pvm) is neither kvm_intel nor kvm_amd and has no nested setting. " +
        "Turn VT-x/AMD-V on in the firmware, or, on a virtual machine, give it a CPU with vmx or svm.",
    });
  });

  test("check also fails on a host without vmx/svm", () => {
    expect(planNested("check", amd({ vendor: "none", module: null }))).toMatchObject({
      kind: "refuse",
    });
  });

  test("module not installed for the running kernel", () => {
    expect(
      planNested(
        "check",
        amd({ moduleState: "absent", moduleAvailable: false, nestedRaw: undefined }),
      ),
    ).toEqual({
      kind: "refuse",
      reason:
        "kvm_amd is not available on root@lab:22: it is not loaded, not built into kernel 6.1.0-18-amd64, and /lib/modules/6.1.0-18-amd64 has no kvm-amd.ko. " +
        'Guests on this host run under emulation (TCG, libvirt domain type "qemu") and nested KVM is unavailable here. ' +
        "Install the modules package of the running kernel (Debian: linux-image-…; RHEL: kernel-modules), then run again.",
    });
  });

  test("check with nested off names the value and the way out", () => {
    expect(planNested("check", intel())).toEqual({
      kind: "refuse",
      reason:
        'Nested virtualization is off on root@lab:22: /sys/module/kvm_intel/parameters/nested reads "N". ' +
        'Use mode "enable" to turn it on (it reloads kvm_intel, which needs all guests stopped), or "persist" and reboot.',
    });
  });

  test("check with the module not loaded", () => {
    expect(planNested("check", amd({ moduleState: "absent", nestedRaw: undefined }))).toEqual({
      kind: "refuse",
      reason:
        'kvm_amd is not loaded on root@lab:22, so guests cannot use KVM now: load it (modprobe kvm_amd) or use mode "enable".',
    });
  });

  test("check on a built-in module that is off points at the kernel command line", () => {
    expect(planNested("check", intel({ moduleState: "builtin" }))).toEqual({
      kind: "refuse",
      reason:
        'Nested virtualization is off on root@lab:22: /sys/module/kvm_intel/parameters/nested reads "N". ' +
        "Put kvm_intel.nested=1 on the kernel command line (Debian: GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub; RHEL: grubby --update-kernel=ALL --args=kvm_intel.nested=1) and reboot.",
    });
  });

  test("a built-in module cannot be changed by modprobe: says so and how", () => {
    expect(
      planNested("enable", intel({ moduleState: "builtin", cmdline: "ro kvm-intel.nested=0" })),
    ).toEqual({
      kind: "refuse",
      reason:
        "kvm_intel is built into the kernel on root@lab:22: its nested setting changes only on the kernel command line (it now has kvm-intel.nested=0), and only at boot; " +
        "modprobe and /etc/modprobe.d cannot change it. " +
        "Put kvm_intel.nested=1 on the kernel command line (Debian: GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub; RHEL: grubby --update-kernel=ALL --args=kvm_intel.nested=1) and reboot.",
    });
  });

  test("persist on a built-in module with the command line already right is a no-op even if live differs", () => {
    expect(
      planNested("persist", intel({ moduleState: "builtin", cmdline: "kvm_intel.nested=1" })),
    ).toEqual({ kind: "none" });
  });

  test("disable on a built-in AMD module (default on) refuses", () => {
    expect(planNested("disable", amd({ moduleState: "builtin" }))).toMatchObject({
      kind: "refuse",
      reason: expect.stringContaining("Put kvm_amd.nested=0 on the kernel command line"),
    });
  });

  test("another file with the opposite value is reported, not fought", () => {
    expect(
      planNested(
        "enable",
        intel({
          configFiles: [conf("/etc/modprobe.d/kvm.conf", "# RHEL\noptions kvm_intel nested=0\n")],
        }),
      ),
    ).toEqual({
      kind: "refuse",
      reason:
        "Refusing to change the nested setting of kvm_intel on root@lab:22: another setting says otherwise, and NestedVirtualization does not edit what it does not own. " +
        '/etc/modprobe.d/kvm.conf:2 sets "options kvm_intel nested=0", which contradicts nested=1: change it to nested=1 or remove that line. Then run again.',
    });
  });

  test("a file sorted before the managed one still counts as a conflict", () => {
    expect(
      planNested(
        "disable",
        amd({ configFiles: [conf("/usr/lib/modprobe.d/kvm.conf", "options kvm-amd nested=1\n")] }),
      ),
    ).toMatchObject({
      kind: "refuse",
      reason: expect.stringContaining(
        '/usr/lib/modprobe.d/kvm.conf:1 sets "options kvm-amd nested=1"',
      ),
    });
  });

  test("a value the module would reject is a conflict", () => {
    expect(
      planNested(
        "enable",
        amd({ configFiles: [conf("/etc/modprobe.d/kvm.conf", "options kvm_amd nested=Y\n")] }),
      ),
    ).toMatchObject({
      kind: "refuse",
      reason: expect.stringContaining(
        'sets "options kvm_amd nested=Y", which contradicts nested=1',
      ),
    });
  });

  test("the kernel command line with the opposite value: remove it and reboot", () => {
    expect(planNested("enable", amd({ cmdline: "ro kvm_amd.nested=0 quiet" }))).toEqual({
      kind: "refuse",
      reason:
        "Refusing to change the nested setting of kvm_amd on root@lab:22: another setting says otherwise, and NestedVirtualization does not edit what it does not own. " +
        "The kernel command line sets kvm_amd.nested=0, which modprobe applies after every modprobe.d file, so kvm_amd nested=1 in /etc/modprobe.d/nestlab-kvm.conf would have no effect. " +
        "Remove kvm_amd.nested=0 from the kernel command line (Debian: GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub; RHEL: grubby --update-kernel=ALL --remove-args=kvm_amd.nested=0) and reboot. Then run again.",
    });
  });

  test("refuses to reload while guests run, listing them and the two ways out", () => {
    expect(
      planNested(
        "disable",
        amd({ guests: ["classroom", "kvm-holder (pid 152)"], moduleRefcount: 4 }),
      ),
    ).toEqual({
      kind: "refuse",
      reason:
        "Refusing to reload kvm_amd on root@lab:22: 2 guests are running (classroom, kvm-holder (pid 152)). " +
        "Reloading the module would fail while they hold /dev/kvm, or take KVM away from them. " +
        'Either stop them (virsh shutdown <name>, or end the process) and run again, or use mode "persist" and reboot root@lab:22: the setting then takes effect at boot.',
    });
  });

  test("refuses to reload a module in use even when no guest process is visible", () => {
    expect(planNested("enable", intel({ moduleRefcount: 1 }))).toEqual({
      kind: "refuse",
      reason:
        "Refusing to reload kvm_intel on root@lab:22: the module is in use (reference count 1) although no running guest was found (processes of other users or containers may hold /dev/kvm). " +
        'Either stop them (virsh shutdown <name>, or end the process) and run again, or use mode "persist" and reboot root@lab:22: the setting then takes effect at boot.',
    });
  });

  test("not root: names what would be denied and changes nothing", () => {
    expect(planNested("enable", intel({ uid: 1000 }))).toEqual({
      kind: "refuse",
      reason:
        "Changing the nested setting on root@lab:22 needs root (commands run as uid 1000): writing /etc/modprobe.d/nestlab-kvm.conf and reloading kvm_intel would be denied. " +
        'Run pulumi as root (sudo -E pulumi up), or connect as root (host.ssh.user "root"). Nothing was changed.',
    });
  });
});

describe("planDelete", () => {
  const written = `${HEADER}options kvm_amd nested=0\n`;
  const state = {
    module: "kvm_amd" as const,
    previousContent: undefined,
    writtenContent: written,
    previousNested: true,
    restoreLive: false,
  };

  test("removes the file it wrote and leaves the live value", () => {
    expect(
      planDelete(amd({ nestedRaw: "0\n", configFiles: [conf(MANAGED_FILE, written)] }), state),
    ).toEqual({
      kind: "change",
      module: "kvm_amd",
      fileContent: null,
      live: undefined,
    });
  });

  test("restores what was there before", () => {
    expect(
      planDelete(amd({ nestedRaw: "0\n", configFiles: [conf(MANAGED_FILE, written)] }), {
        ...state,
        previousContent: "# old\n",
      }),
    ).toEqual({ kind: "change", module: "kvm_amd", fileContent: "# old\n", live: undefined });
  });

  test("already restored: nothing to do", () => {
    expect(planDelete(amd({ nestedRaw: "0\n" }), state)).toEqual({ kind: "none" });
  });

  test("never wrote: nothing to do", () => {
    expect(planDelete(amd(), { ...state, writtenContent: undefined })).toEqual({ kind: "none" });
  });

  test("restoreOnDelete puts the live value back", () => {
    expect(
      planDelete(amd({ nestedRaw: "0\n", configFiles: [conf(MANAGED_FILE, written)] }), {
        ...state,
        restoreLive: true,
      }),
    ).toEqual({
      kind: "change",
      module: "kvm_amd",
      fileContent: null,
      live: { kind: "reload", from: false, to: true },
    });
  });

  test("restoreOnDelete refuses while guests run", () => {
    expect(
      planDelete(
        amd({
          nestedRaw: "0\n",
          guests: ["classroom"],
          configFiles: [conf(MANAGED_FILE, written)],
        }),
        { ...state, restoreLive: true },
      ),
    ).toEqual({
      kind: "refuse",
      reason:
        "Refusing to put back the live value of kvm_amd on root@lab:22 (restoreOnDelete): 1 guest is running (classroom). " +
        "Reloading the module would fail while they hold /dev/kvm, or take KVM away from them. " +
        "Either stop them (virsh shutdown <name>, or end the process) and run again, or set restoreOnDelete to false to leave the live value as it is (the modprobe.d file is restored either way).",
    });
  });

  test("not root: refuses to remove the file", () => {
    expect(
      planDelete(amd({ uid: 1000, configFiles: [conf(MANAGED_FILE, written)] }), state),
    ).toMatchObject({
      kind: "refuse",
      reason: expect.stringContaining("removing /etc/modprobe.d/nestlab-kvm.conf would be denied"),
    });
  });
});

describe("observe", () => {
  test("reports everything for Intel with nested pending after persist", () => {
    expect(
      observe(
        "persist",
        intel({
          configFiles: [
            conf("/etc/modprobe.d/kvm.conf", "options kvm_intel nested=0\n"),
            conf(MANAGED_FILE, `${HEADER}options kvm_intel nested=1\n`),
          ],
          guests: ["classroom"],
        }),
      ),
    ).toEqual({
      vendor: "intel",
      cpuVendorId: "GenuineIntel",
      module: "kvm_intel",
      moduleState: "loaded",
      moduleAvailable: true,
      kernelRelease: "3.10.0-1160.el7.x86_64",
      nested: false,
      persisted: true,
      nestedAfterReboot: true,
      pendingReboot: true,
      cmdlineNested: null,
      modprobeFile: MANAGED_FILE,
      settings: [
        "/etc/modprobe.d/kvm.conf:1: options kvm_intel nested=0",
        `${MANAGED_FILE}:3: options kvm_intel nested=1`,
      ],
      conflicts: ["/etc/modprobe.d/kvm.conf:1: options kvm_intel nested=0"],
      runningGuests: 1,
      guests: ["classroom"],
      notes: ["nested is off now and will be on after the next load of kvm_intel (or reboot)."],
    });
  });

  test("the kernel command line wins over modprobe.d for a loadable module", () => {
    const o = observe(
      "check",
      amd({
        cmdline: "kvm_amd.nested=0",
        configFiles: [conf(MANAGED_FILE, "options kvm_amd nested=1\n")],
      }),
    );
    expect([o.persisted, o.nestedAfterReboot, o.cmdlineNested, o.pendingReboot]).toEqual([
      false,
      false,
      false,
      true,
    ]);
  });

  test("a built-in module ignores modprobe.d and says so", () => {
    const o = observe(
      "check",
      intel({
        moduleState: "builtin",
        nestedRaw: "Y\n",
        kernelRelease: "5.14.0",
        configFiles: [conf("/etc/modprobe.d/kvm.conf", "options kvm_intel nested=0\n")],
      }),
    );
    expect([o.persisted, o.nestedAfterReboot, o.pendingReboot]).toEqual([null, true, false]);
    expect(o.notes).toEqual([
      "kvm_intel is built into the kernel: the modprobe.d settings (/etc/modprobe.d/kvm.conf:1) have no effect; only the kernel command line does.",
    ]);
  });

  test("this machine: no module, nested false, the emulation note", () => {
    const o = observe(
      "check",
      amd({
        vendor: "none",
        module: null,
        hostLabel: "this machine",
        otherKvmModules: ["kvm_pvm"],
        moduleState: "absent",
        moduleAvailable: false,
        nestedRaw: undefined,
        moduleRefcount: undefined,
      }),
    );
    expect([
      o.vendor,
      o.module,
      o.moduleState,
      o.nested,
      o.persisted,
      o.nestedAfterReboot,
      o.pendingReboot,
    ]).toEqual(["none", null, "absent", false, null, null, false]);
    expect(o.notes[0]).toContain("Guests on this host run under emulation (TCG");
  });

  test("not root: says that other users' guests may be missed", () => {
    expect(observe("check", amd({ uid: 1000 })).notes).toEqual([
      "Commands run as uid 1000, not root: processes of other users that hold /dev/kvm are not visible.",
    ]);
  });
});

describe("satisfies (drift in the preview after refresh)", () => {
  test.each([
    ["enable, on and on after reboot", "enable", amd(), true],
    ["enable, turned off by hand since", "enable", amd({ nestedRaw: "0\n" }), false],
    [
      "enable, file changed to 0 by hand since",
      "enable",
      amd({ configFiles: [conf(MANAGED_FILE, "options kvm_amd nested=0\n")] }),
      false,
    ],
    [
      "persist, pending",
      "persist",
      intel({ configFiles: [conf(MANAGED_FILE, "options kvm_intel nested=1\n")] }),
      true,
    ],
    ["persist, nothing persisted on old Intel", "persist", intel(), false],
    ["check, on", "check", amd(), true],
    [
      "check, module unloaded since",
      "check",
      amd({ moduleState: "absent", nestedRaw: undefined }),
      false,
    ],
    [
      "disable, off and off after reboot",
      "disable",
      amd({ nestedRaw: "0\n", configFiles: [conf(MANAGED_FILE, "options kvm_amd nested=0\n")] }),
      true,
    ],
    ["disable, off now but on after reboot", "disable", amd({ nestedRaw: "0\n" }), false],
    ["disable, no vmx/svm", "disable", amd({ vendor: "none", module: null }), true],
  ] as const)("%s → %s", (_name, mode, facts, expected) => {
    expect(satisfies(mode, observe(mode, facts))).toBe(expected);
  });
});

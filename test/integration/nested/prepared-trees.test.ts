/**
 * The real provider (detection, plan, changes, roll-back, restore) on
 * prepared host trees: LocalHost with rootDir=<tree>, and modprobe, rmmod,
 * virsh and id simulated on the tree. Every test checks the tree afterwards.
 */
import { promises as fs } from "fs";
import { HostAccess } from "../../../components/host/access";
import { HostSpec } from "../../../components/host/connection";
import { NestedState, provider } from "../../../components/nested/provider";
import {
  makeTree,
  PreparedHost,
  readTree,
  SimulatedBehaviour,
  snapshotTree,
  TreeSpec,
} from "./prepared-host";

let current: PreparedHost | undefined;

jest.mock("../../../components/host", () => {
  const actual = jest.requireActual("../../../components/host");
  return {
    ...actual,
    withHost: async (
      _spec: unknown,
      _key: unknown,
      body: (host: HostAccess) => Promise<unknown>,
    ) => {
      if (!current) throw new Error("no prepared host");
      return body(current);
    },
  };
});

const MANAGED = "/etc/modprobe.d/nestlab-kvm.conf";
const HEADER =
  "# Written by nestlab (NestedVirtualization): nested virtualization for KVM.\n" +
  "# Destroying the resource restores what was here before.\n";
const trees: string[] = [];

afterAll(async () => {
  await Promise.all(trees.map((t) => fs.rm(t, { recursive: true, force: true })));
});

async function prepare(spec: TreeSpec, behaviour: SimulatedBehaviour = {}) {
  const root = await makeTree(spec);
  trees.push(root);
  current = new PreparedHost(root, behaviour);
  const host: HostSpec = { libvirtUri: "qemu:///system", rootDir: root };
  return { root, host, sim: current };
}

async function create(host: HostSpec, mode: string, restoreOnDelete = false): Promise<NestedState> {
  const { inputs } = await provider.check({}, { host, mode, restoreOnDelete });
  const r = await provider.create(inputs);
  return r.outs as NestedState;
}

const QEMU_CLASSROOM = {
  pid: 4242,
  comm: "qemu-kvm",
  cmdline: ["/usr/libexec/qemu-kvm", "-m", "4096", "-name", "classroom", "-vnc", ":20"],
};

describe("detection on prepared trees", () => {
  test.each([
    [
      "Intel, kvm_intel loaded, N",
      { cpu: "intel", nested: "N" },
      ["intel", "kvm_intel", "loaded", false],
    ],
    [
      "Intel, kvm_intel loaded, Y",
      { cpu: "intel", nested: "Y" },
      ["intel", "kvm_intel", "loaded", true],
    ],
    ["AMD, kvm_amd loaded, 1", { cpu: "amd", nested: "1" }, ["amd", "kvm_amd", "loaded", true]],
    ["AMD, kvm_amd loaded, 0", { cpu: "amd", nested: "0" }, ["amd", "kvm_amd", "loaded", false]],
    [
      "Intel, built in (parameters in sysfs)",
      { cpu: "intel", moduleState: "builtin", nested: "Y" },
      ["intel", "kvm_intel", "builtin", true],
    ],
    [
      "AMD, built in (modules.builtin only)",
      { cpu: "amd", moduleState: "absent", inModulesBuiltin: true },
      ["amd", "kvm_amd", "builtin", false],
    ],
    [
      "AMD, installed, not loaded",
      { cpu: "amd", moduleState: "absent" },
      ["amd", "kvm_amd", "absent", false],
    ],
    ["no vmx/svm", { cpu: "none", otherModules: ["kvm_pvm"] }, ["none", null, "absent", false]],
  ] as const)("%s", async (_name, spec, [vendor, module, moduleState, nested]) => {
    const { host } = await prepare(spec);
    const { props } = await provider.read("id", { host, mode: "check" } as NestedState);
    expect([props.vendor, props.module, props.moduleState, props.nested]).toEqual([
      vendor,
      module,
      moduleState,
      nested,
    ]);
  });

  test("reads modprobe.d in modprobe's order, the command line last, and every running guest", async () => {
    const { host } = await prepare(
      {
        cpu: "intel",
        nested: "Y",
        cmdline: "ro quiet kvm-intel.nested=1",
        files: {
          "/usr/lib/modprobe.d/kvm.conf": "options kvm_intel nested=0\n",
          "/etc/modprobe.d/kvm.conf": "# local\noptions kvm-intel nested=1\n",
          "/etc/modprobe.d/a.conf": "options kvm_intel ept=1\n",
          "/usr/lib/modprobe.d/00-vendor.conf": "options kvm_intel nested=1\n",
        },
        kvmProcesses: [
          QEMU_CLASSROOM,
          {
            pid: 77,
            comm: "qemu-system-x86",
            cmdline: ["qemu-system-x86_64", "-name", "guest=server,debug-threads=on"],
          },
        ],
      },
      {
        commands: ["modprobe", "rmmod", "virsh"],
        libvirtDomains: ["server", "desktop"],
        libvirtVendor: "Intel",
      },
    );
    const { props } = await provider.read("id", { host, mode: "check" } as NestedState);
    expect(props.settings).toEqual([
      "/usr/lib/modprobe.d/00-vendor.conf:1: options kvm_intel nested=1",
      "/etc/modprobe.d/kvm.conf:2: options kvm-intel nested=1",
      "kernel command line: kvm-intel.nested=1",
    ]);
    expect([props.persisted, props.cmdlineNested, props.pendingReboot]).toEqual([
      true,
      true,
      false,
    ]);
    expect(props.guests).toEqual(["classroom (qemu-kvm, pid 4242)", "desktop", "server"]);
    expect(props.runningGuests).toBe(3);
    expect(props.notes).toEqual([]);
  });

  test("reports a libvirt that sees another CPU vendor", async () => {
    const { host } = await prepare({ cpu: "intel" }, { commands: ["virsh"], libvirtVendor: "AMD" });
    const { props } = await provider.read("id", { host, mode: "check" } as NestedState);
    expect(props.notes).toEqual([
      'libvirt reports CPU vendor "AMD" but /proc/cpuinfo shows vmx (Intel): check that host.libvirtUri points at the same host.',
    ]);
  });
});

describe("check on prepared trees", () => {
  test.each([
    ["Y", "intel"],
    ["1", "amd"],
  ] as const)("passes with nested %s and changes nothing", async (nested, cpu) => {
    const { root, host, sim } = await prepare({ cpu, nested });
    const before = await snapshotTree(root);
    const outs = await create(host, "check");
    expect(outs.nested).toBe(true);
    expect(sim.changes()).toEqual([]);
    expect(await snapshotTree(root)).toEqual(before);
  });

  test.each([
    ["N", "intel", "kvm_intel"],
    ["0", "amd", "kvm_amd"],
  ] as const)("fails with nested %s, naming the value", async (nested, cpu, module) => {
    const { root, host, sim } = await prepare({ cpu, nested });
    const before = await snapshotTree(root);
    await expect(create(host, "check")).rejects.toThrow(
      `Nested virtualization is off on prepared host: /sys/module/${module}/parameters/nested reads "${nested}". ` +
        `Use mode "enable" to turn it on (it reloads ${module}, which needs all guests stopped), or "persist" and reboot.`,
    );
    expect(sim.changes()).toEqual([]);
    expect(await snapshotTree(root)).toEqual(before);
  });

  test("fails on a host without vmx/svm (like this machine): guests run under emulation", async () => {
    const { host } = await prepare({ cpu: "none", otherModules: ["kvm_pvm"] });
    await expect(create(host, "check")).rejects.toThrow(
      "prepared host has no hardware virtualization: /proc/cpuinfo (vendor AuthenticAMD) shows neither vmx (Intel VT-x) nor svm (AMD-V). " +
        'Guests on this host run under emulation (TCG, libvirt domain type "qemu") and nested KVM is unavailable here. ' +
        "The KVM module loaded here (kvm_pvm) is neither kvm_intel nor kvm_amd and has no nested setting. " +
        "Turn VT-x/AMD-V on in the firmware, or, on a virtual machine, give it a CPU with vmx or svm.",
    );
  });

  test("fails when the module is not installed for the running kernel", async () => {
    const { host } = await prepare({
      cpu: "amd",
      moduleState: "absent",
      installed: false,
      release: "6.1.0-9-amd64",
    });
    await expect(create(host, "enable")).rejects.toThrow(
      "kvm_amd is not available on prepared host: it is not loaded, not built into kernel 6.1.0-9-amd64, and /lib/modules/6.1.0-9-amd64 has no kvm-amd.ko.",
    );
  });
});

describe("enable, persist, disable on prepared trees", () => {
  test("enable on old Intel writes the managed file, reloads kvm_intel and reads Y back", async () => {
    const { root, host, sim } = await prepare({
      cpu: "intel",
      nested: "N",
      release: "3.10.0-1160.el7.x86_64",
    });
    const outs = await create(host, "enable");
    expect(await readTree(root, MANAGED)).toBe(`${HEADER}options kvm_intel nested=1\n`);
    expect(await readTree(root, "/sys/module/kvm_intel/parameters/nested")).toBe("Y\n");
    expect(sim.changes()).toEqual(["rmmod kvm_intel", "modprobe kvm_intel nested=1"]);
    expect(outs).toMatchObject({
      nested: true,
      persisted: true,
      nestedAfterReboot: true,
      pendingReboot: false,
      modprobeFile: MANAGED,
      previousModprobeContent: null,
      writtenModprobeContent: `${HEADER}options kvm_intel nested=1\n`,
      previousNested: false,
    });
    expect(
      await provider.diff("id", outs, { host, mode: "enable", restoreOnDelete: false }),
    ).toMatchObject({ changes: false });
  });

  test("enable where nested is already on (AMD default) is a no-op: no file, no command, no diff", async () => {
    const { root, host, sim } = await prepare({ cpu: "amd", nested: "1" });
    const before = await snapshotTree(root);
    const outs = await create(host, "enable");
    expect(sim.changes()).toEqual([]);
    expect(await snapshotTree(root)).toEqual(before);
    expect([outs.nested, outs.persisted, outs.nestedAfterReboot, outs.modprobeFile]).toEqual([
      true,
      null,
      true,
      null,
    ]);
    expect(
      await provider.diff("id", outs, { host, mode: "enable", restoreOnDelete: false }),
    ).toMatchObject({ changes: false });
  });

  test("enable with kvm-intel.nested=1 on the command line writes no file, reloads only", async () => {
    const { root, host, sim } = await prepare({
      cpu: "intel",
      nested: "N",
      cmdline: "ro kvm-intel.nested=1",
      release: "4.19.0",
    });
    await create(host, "enable");
    expect(await readTree(root, MANAGED)).toBeUndefined();
    expect(sim.changes()).toEqual(["rmmod kvm_intel", "modprobe kvm_intel nested=1"]);
  });

  test("enable loads a module that is installed but not loaded", async () => {
    const { root, host, sim } = await prepare({ cpu: "amd", moduleState: "absent" });
    const outs = await create(host, "enable");
    expect(sim.changes()).toEqual(["modprobe kvm_amd nested=1"]);
    expect(await readTree(root, "/sys/module/kvm_amd/parameters/nested")).toBe("1\n");
    expect([outs.moduleState, outs.nested]).toEqual(["loaded", true]);
  });

  test("enable creates /etc/modprobe.d when it is missing", async () => {
    const { root, host } = await prepare({
      cpu: "intel",
      nested: "N",
      release: "4.4.0",
      etcModprobeD: false,
    });
    await create(host, "enable");
    expect(await readTree(root, MANAGED)).toBe(`${HEADER}options kvm_intel nested=1\n`);
  });

  test("persist writes the file only, while guests run, and says a reboot is pending", async () => {
    const { root, host, sim } = await prepare({
      cpu: "intel",
      nested: "N",
      release: "4.19.0",
      refcnt: 2,
      kvmProcesses: [QEMU_CLASSROOM],
    });
    const outs = await create(host, "persist");
    expect(await readTree(root, MANAGED)).toBe(`${HEADER}options kvm_intel nested=1\n`);
    expect(await readTree(root, "/sys/module/kvm_intel/parameters/nested")).toBe("N\n");
    expect(sim.changes()).toEqual([]);
    expect(outs).toMatchObject({
      nested: false,
      persisted: true,
      nestedAfterReboot: true,
      pendingReboot: true,
      runningGuests: 1,
    });
    expect(outs.notes).toEqual([
      "nested is off now and will be on after the next load of kvm_intel (or reboot).",
    ]);
  });

  test("disable on AMD writes nested=0 and reloads kvm_amd", async () => {
    const { root, host, sim } = await prepare({ cpu: "amd", nested: "1" });
    const outs = await create(host, "disable");
    expect(await readTree(root, MANAGED)).toBe(`${HEADER}options kvm_amd nested=0\n`);
    expect(await readTree(root, "/sys/module/kvm_amd/parameters/nested")).toBe("0\n");
    expect(sim.changes()).toEqual(["rmmod kvm_amd", "modprobe kvm_amd nested=0"]);
    expect([outs.nested, outs.persisted, outs.pendingReboot]).toEqual([false, false, false]);
  });

  test("update from disable to enable edits the managed file in place and keeps the user's lines", async () => {
    const { root, host } = await prepare({ cpu: "amd", nested: "1" });
    const outs = await create(host, "disable");
    await fs.appendFile(`${root}${MANAGED}`, "# my note\noptions kvm_amd npt=1\n");
    const { outs: after } = await provider.update("id", outs, {
      host,
      mode: "enable",
      restoreOnDelete: false,
    });
    expect(await readTree(root, MANAGED)).toBe(
      `${HEADER}options kvm_amd nested=1\n# my note\noptions kvm_amd npt=1\n`,
    );
    expect(await readTree(root, "/sys/module/kvm_amd/parameters/nested")).toBe("1\n");
    expect(after).toMatchObject({
      nested: true,
      previousModprobeContent: null,
      previousNested: true,
    });
  });
});

describe("refusals on prepared trees leave the host as it was", () => {
  test.each([
    [
      "guests running (a hand-started qemu-kvm and a libvirt domain)",
      { cpu: "amd", nested: "1", refcnt: 2, kvmProcesses: [QEMU_CLASSROOM] } as TreeSpec,
      {
        commands: ["modprobe", "rmmod", "virsh"],
        libvirtDomains: ["server"],
      } as SimulatedBehaviour,
      "disable",
      "Refusing to reload kvm_amd on prepared host: 2 guests are running (classroom (qemu-kvm, pid 4242), server). " +
        "Reloading the module would fail while they hold /dev/kvm, or take KVM away from them. " +
        'Either stop them (virsh shutdown <name>, or end the process) and run again, or use mode "persist" and reboot prepared host: the setting then takes effect at boot.',
    ],
    [
      "a built-in kvm_intel",
      { cpu: "intel", moduleState: "builtin", nested: "N" } as TreeSpec,
      {},
      "enable",
      "kvm_intel is built into the kernel on prepared host: its nested setting changes only on the kernel command line, and only at boot; modprobe and /etc/modprobe.d cannot change it. " +
        "Put kvm_intel.nested=1 on the kernel command line (Debian: GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub; RHEL: grubby --update-kernel=ALL --args=kvm_intel.nested=1) and reboot.",
    ],
    [
      "a conflicting modprobe.d file",
      {
        cpu: "intel",
        nested: "N",
        files: { "/etc/modprobe.d/kvm.conf": "options kvm_intel nested=0\n" },
      } as TreeSpec,
      {},
      "enable",
      "Refusing to change the nested setting of kvm_intel on prepared host: another setting says otherwise, and NestedVirtualization does not edit what it does not own. " +
        '/etc/modprobe.d/kvm.conf:1 sets "options kvm_intel nested=0", which contradicts nested=1: change it to nested=1 or remove that line. Then run again.',
    ],
    [
      "the kernel command line saying the opposite",
      { cpu: "amd", nested: "1", cmdline: "ro kvm_amd.nested=1" } as TreeSpec,
      {},
      "disable",
      "Refusing to change the nested setting of kvm_amd on prepared host: another setting says otherwise, and NestedVirtualization does not edit what it does not own. " +
        "The kernel command line sets kvm_amd.nested=1, which modprobe applies after every modprobe.d file, so kvm_amd nested=0 in /etc/modprobe.d/nestlab-kvm.conf would have no effect. " +
        "Remove kvm_amd.nested=1 from the kernel command line (Debian: GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub; RHEL: grubby --update-kernel=ALL --remove-args=kvm_amd.nested=1) and reboot. Then run again.",
    ],
    [
      "not root",
      { cpu: "intel", nested: "N", release: "4.19.0" } as TreeSpec,
      { uid: 1000, readOnly: true } as SimulatedBehaviour,
      "enable",
      "Changing the nested setting on prepared host needs root (commands run as uid 1000): writing /etc/modprobe.d/nestlab-kvm.conf and reloading kvm_intel would be denied. " +
        'Run pulumi as root (sudo -E pulumi up), or connect as root (host.ssh.user "root"). Nothing was changed.',
    ],
  ])("%s", async (_name, spec, behaviour, mode, message) => {
    const { root, host, sim } = await prepare(spec, behaviour);
    const before = await snapshotTree(root);
    await expect(create(host, mode)).rejects.toThrow(message);
    expect(sim.changes()).toEqual([]);
    expect(await snapshotTree(root)).toEqual(before);
  });

  test("permission denied writing modprobe.d (root without rights, read-only /etc) says so", async () => {
    const { root, host, sim } = await prepare(
      { cpu: "intel", nested: "N", release: "4.19.0" },
      { readOnly: true },
    );
    const before = await snapshotTree(root);
    await expect(create(host, "persist")).rejects.toThrow(
      "Writing /etc/modprobe.d/nestlab-kvm.conf on prepared host was refused (permission denied): changing modprobe.d needs root. " +
        'Run pulumi as root (sudo -E pulumi up), or connect as root (host.ssh.user "root").\nNothing had been changed.',
    );
    expect(sim.changes()).toEqual([]);
    expect(await snapshotTree(root)).toEqual(before);
  });

  test("a modprobe that fails after rmmod: the module is loaded back as it was and the file removed", async () => {
    const { root, host, sim } = await prepare(
      { cpu: "intel", nested: "N", release: "4.19.0" },
      { modprobeFailure: "modprobe: ERROR: could not insert 'kvm_intel': Input/output error\n" },
    );
    await expect(create(host, "enable")).rejects.toThrow(
      "`modprobe kvm_intel nested=1` on prepared host exited with 1:\nmodprobe: ERROR: could not insert 'kvm_intel': Input/output error\n" +
        "Rolled back: loaded kvm_intel again with nested=0, removed /etc/modprobe.d/nestlab-kvm.conf; the host is as it was.",
    );
    expect(sim.changes()).toEqual([
      "rmmod kvm_intel",
      "modprobe kvm_intel nested=1",
      "modprobe kvm_intel nested=0",
    ]);
    expect(await readTree(root, "/sys/module/kvm_intel/parameters/nested")).toBe("N\n");
    expect(await readTree(root, MANAGED)).toBeUndefined();
  });

  test("a modprobe that exits 0 but loads nothing is caught by reading the value back", async () => {
    // As `modprobe kvm_intel` does on a host where kvm_amd is loaded.
    const { root, host, sim } = await prepare(
      { cpu: "intel", moduleState: "absent", release: "4.19.0", files: { [MANAGED]: "# mine\n" } },
      { modprobeDoesNothing: true },
    );
    await expect(create(host, "enable")).rejects.toThrow(
      "`modprobe kvm_intel nested=1` on prepared host exited with 0, but kvm_intel is not loaded (the kernel may have refused it: see dmesg on the host); expected nested on.\n" +
        "Rolled back: unloaded kvm_intel, restored /etc/modprobe.d/nestlab-kvm.conf; the host is as it was.",
    );
    expect(sim.changes()).toEqual(["modprobe kvm_intel nested=1"]);
    expect(await readTree(root, MANAGED)).toBe("# mine\n");
  });

  test("when putting the module back fails too, the file is still restored and the error says the host is not as it was", async () => {
    const { root, host } = await prepare(
      { cpu: "intel", nested: "N", release: "4.19.0", files: { [MANAGED]: "# mine\n" } },
      { modprobeDoesNothing: true },
    );
    await expect(create(host, "enable")).rejects.toThrow(
      "`modprobe kvm_intel nested=1` on prepared host exited with 0, but kvm_intel is not loaded (the kernel may have refused it: see dmesg on the host); expected nested on.\n" +
        "Rolled back: restored /etc/modprobe.d/nestlab-kvm.conf; loading kvm_intel again with nested=0 failed: " +
        "`modprobe kvm_intel nested=0` on prepared host exited with 0, but kvm_intel is not loaded (the kernel may have refused it: see dmesg on the host); expected nested off. " +
        "The host is NOT as it was: check it by hand.",
    );
    expect(await readTree(root, MANAGED)).toBe("# mine\n");
  });
});

describe("refresh and destroy on prepared trees", () => {
  test("refresh shows a value changed by hand, and the next diff wants to fix it", async () => {
    const { root, host } = await prepare({ cpu: "amd", nested: "1" });
    const outs = await create(host, "enable");
    await fs.writeFile(`${root}/sys/module/kvm_amd/parameters/nested`, "0\n");
    const { props } = await provider.read("id", outs);
    expect([props.nested, props.pendingReboot]).toEqual([false, true]);
    expect(
      await provider.diff("id", props as NestedState, {
        host,
        mode: "enable",
        restoreOnDelete: false,
      }),
    ).toMatchObject({
      changes: true,
    });
  });

  test("destroy puts back the file that was there before, byte for byte, and leaves the live value", async () => {
    const mine = "# the admin's file\noptions kvm_amd nested=1 avic=1\n";
    const { root, host, sim } = await prepare({
      cpu: "amd",
      nested: "1",
      files: { [MANAGED]: mine },
    });
    const outs = await create(host, "disable");
    expect(await readTree(root, MANAGED)).toBe(
      "# the admin's file\noptions kvm_amd nested=0 avic=1\n",
    );
    await provider.delete("id", outs);
    expect(await readTree(root, MANAGED)).toBe(mine);
    expect(await readTree(root, "/sys/module/kvm_amd/parameters/nested")).toBe("0\n");
    expect(sim.changes()).toEqual(["rmmod kvm_amd", "modprobe kvm_amd nested=0"]);
    // Idempotent: a second delete changes nothing.
    await provider.delete("id", outs);
    expect(await readTree(root, MANAGED)).toBe(mine);
  });

  test("destroy with restoreOnDelete reloads the module with the value from before", async () => {
    const { root, host, sim } = await prepare({ cpu: "amd", nested: "1" });
    const outs = await create(host, "disable", true);
    await provider.delete("id", outs);
    expect(await readTree(root, MANAGED)).toBeUndefined();
    expect(await readTree(root, "/sys/module/kvm_amd/parameters/nested")).toBe("1\n");
    expect(sim.changes()).toEqual([
      "rmmod kvm_amd",
      "modprobe kvm_amd nested=0",
      "rmmod kvm_amd",
      "modprobe kvm_amd nested=1",
    ]);
  });

  test("destroy after a no-op create touches nothing", async () => {
    const { root, host, sim } = await prepare({ cpu: "amd", nested: "1" });
    const outs = await create(host, "enable");
    const before = await snapshotTree(root);
    await provider.delete("id", outs);
    expect(await snapshotTree(root)).toEqual(before);
    expect(sim.changes()).toEqual([]);
  });
});

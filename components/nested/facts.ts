import { desiredNested, NestedMode } from "./args";
import { CpuVendor, KvmModule } from "../libvirt/cpu";
import { nestedSettingsInCmdline } from "./kernel-cmdline";
import { defaultNested, ModuleState } from "./kernel-module";
import {
  ConfigFile,
  MANAGED_FILE,
  NestedSetting,
  nestedSettingsInFile,
  parseLiveNested,
} from "./modprobe-conf";

/** Everything read from the host; detect.ts fills it, the pure code decides on it. */
export interface NestedFacts {
  /** "this machine" or "root@host:22", for messages. */
  readonly hostLabel: string;
  readonly cpuVendorId: string | undefined;
  readonly vendor: CpuVendor;
  readonly module: KvmModule | null;
  readonly moduleState: ModuleState;
  /** The module is loaded, built in, or its file is installed for the running kernel. */
  readonly moduleAvailable: boolean;
  /** /proc/sys/kernel/osrelease, e.g. "6.1.0-18-amd64". */
  readonly kernelRelease: string;
  /** /sys/module/<m>/parameters/nested as read ("Y", "N", "1", "0"); undefined when absent. */
  readonly nestedRaw: string | undefined;
  /** /proc/cmdline. */
  readonly cmdline: string;
  /** The modprobe.d files in modprobe's reading order (MANAGED_FILE among them when it exists). */
  readonly configFiles: readonly ConfigFile[];
  /** Running guests, one line each (see describeGuests). */
  readonly guests: readonly string[];
  /** /sys/module/<m>/refcnt: how many users the loaded module has; undefined when not loaded. */
  readonly moduleRefcount: number | undefined;
  /** The user id commands run as on the host; undefined when unknown. */
  readonly uid: number | undefined;
  /** Other KVM modules in /sys/module (e.g. kvm_pvm), which have no `nested` setting. */
  readonly otherKvmModules: readonly string[];
  /** Remarks gathered while reading (libvirt cross-check, …). */
  readonly remarks: readonly string[];
}

/** What the resource reports; also its state between runs. */
export interface NestedObserved {
  readonly vendor: CpuVendor;
  readonly cpuVendorId: string | null;
  readonly module: KvmModule | null;
  readonly moduleState: ModuleState;
  readonly moduleAvailable: boolean;
  readonly kernelRelease: string;
  /** The live value (false when the module is not in the kernel). */
  readonly nested: boolean;
  /** What the persistent settings say (modprobe.d and kernel command line); null when nothing sets it. */
  readonly persisted: boolean | null;
  /** The value at the next module load or boot: `persisted`, or the module's default. */
  readonly nestedAfterReboot: boolean | null;
  /** The live value differs from nestedAfterReboot. */
  readonly pendingReboot: boolean;
  /** What /proc/cmdline sets (`kvm_intel.nested=1` …), null when nothing. */
  readonly cmdlineNested: boolean | null;
  /** MANAGED_FILE when it sets `nested` for the module, otherwise null. */
  readonly modprobeFile: string | null;
  /** Every place that sets `nested`, in the order modprobe applies them: "<source>: <text>". */
  readonly settings: string[];
  /** Settings of other files or the command line that contradict the mode's value. */
  readonly conflicts: string[];
  readonly runningGuests: number;
  readonly guests: string[];
  /** Sentences for the user: why nested is unavailable, pending changes, ignored settings. */
  readonly notes: string[];
}

/** Replaces (or adds, or removes) MANAGED_FILE in the reading order. */
export function withManagedFile(
  files: readonly ConfigFile[],
  content: string | undefined,
): ConfigFile[] {
  const name = MANAGED_FILE.slice(MANAGED_FILE.lastIndexOf("/") + 1);
  const others = files.filter((f) => f.path.slice(f.path.lastIndexOf("/") + 1) !== name);
  if (content === undefined) return others;
  const all = [...others, { path: MANAGED_FILE, content }];
  const base = (p: string) => Buffer.from(p.slice(p.lastIndexOf("/") + 1));
  return all.sort((a, b) => Buffer.compare(base(a.path), base(b.path)));
}

/**
 * The settings that decide the value at the next load, in the order they are
 * applied (the last wins): for a loadable module every modprobe.d file, then
 * the kernel command line (kmod appends it); for a built-in module only the
 * command line.
 */
export function effectiveSettings(
  facts: NestedFacts,
  files: readonly ConfigFile[] = facts.configFiles,
): NestedSetting[] {
  if (!facts.module) return [];
  const cmdline = nestedSettingsInCmdline(facts.cmdline, facts.module);
  if (facts.moduleState === "builtin") return cmdline;
  const module = facts.module;
  return [...files.flatMap((f) => nestedSettingsInFile(f, module)), ...cmdline];
}

/** The persisted value (null: nothing sets it) and the value at the next load or boot. */
export function nextNested(
  facts: NestedFacts,
  files: readonly ConfigFile[] = facts.configFiles,
): { persisted: boolean | null; after: boolean | null } {
  if (!facts.module) return { persisted: null, after: null };
  const settings = effectiveSettings(facts, files);
  const last = settings[settings.length - 1];
  const persisted = last?.value ?? null;
  return {
    persisted,
    after: persisted ?? defaultNested(facts.module, facts.kernelRelease),
  };
}

/** The live value; false when the module is not in the kernel. */
export function liveNested(facts: NestedFacts): boolean {
  return parseLiveNested(facts.nestedRaw) ?? false;
}

/** Settings other than the managed file's that give a value other than `desired`. */
export function conflictingSettings(facts: NestedFacts, desired: boolean): NestedSetting[] {
  return effectiveSettings(facts).filter((s) => !s.managed && s.value !== desired);
}

export function describeSetting(s: NestedSetting): string {
  return `${s.source}: ${s.text}`;
}

/** The resource's outputs for a mode, from the facts. */
export function observe(mode: NestedMode, facts: NestedFacts): NestedObserved {
  const module = facts.module;
  const nested = liveNested(facts);
  const { persisted, after } = nextNested(facts);
  const pendingReboot = facts.moduleState !== "absent" && after !== null && nested !== after;
  const cmdline = module ? nestedSettingsInCmdline(facts.cmdline, module) : [];
  const fileSettings = module
    ? facts.configFiles.flatMap((f) => nestedSettingsInFile(f, module))
    : [];
  const all = [...fileSettings, ...cmdline];
  return {
    vendor: facts.vendor,
    cpuVendorId: facts.cpuVendorId ?? null,
    module,
    moduleState: facts.moduleState,
    moduleAvailable: facts.moduleAvailable,
    kernelRelease: facts.kernelRelease,
    nested,
    persisted,
    nestedAfterReboot: after,
    pendingReboot,
    cmdlineNested: cmdline.length ? (cmdline[cmdline.length - 1].value ?? null) : null,
    modprobeFile: fileSettings.some((s) => s.managed) ? MANAGED_FILE : null,
    settings: all.map(describeSetting),
    conflicts: module ? conflictingSettings(facts, desiredNested(mode)).map(describeSetting) : [],
    runningGuests: facts.guests.length,
    guests: [...facts.guests],
    notes: notesFor(facts, { nested, after, pendingReboot, fileSettings }),
  };
}

function notesFor(
  facts: NestedFacts,
  d: {
    nested: boolean;
    after: boolean | null;
    pendingReboot: boolean;
    fileSettings: NestedSetting[];
  },
): string[] {
  const notes: string[] = [];
  const m = facts.module;
  if (!m) {
    notes.push(unavailableSentence(facts));
  } else if (facts.moduleState === "absent") {
    notes.push(
      facts.moduleAvailable
        ? `${m} is installed but not loaded: guests cannot use KVM until it is loaded.`
        : unavailableSentence(facts),
    );
  } else if (facts.nestedRaw !== undefined && parseLiveNested(facts.nestedRaw) === undefined) {
    notes.push(
      `/sys/module/${m}/parameters/nested reads "${facts.nestedRaw.trim()}", which is not Y, N, 1 or 0.`,
    );
  } else if (facts.nestedRaw === undefined) {
    notes.push(`${m} has no "nested" parameter in this kernel.`);
  }
  if (m && facts.moduleState === "builtin" && d.fileSettings.length > 0) {
    notes.push(
      `${m} is built into the kernel: the modprobe.d settings (${d.fileSettings.map((s) => s.source).join(", ")}) have no effect; only the kernel command line does.`,
    );
  }
  if (m && d.pendingReboot) {
    notes.push(
      `nested is ${onOff(d.nested)} now and will be ${onOff(d.after === true)} after the next ${facts.moduleState === "builtin" ? "reboot" : `load of ${m} (or reboot)`}.`,
    );
  }
  if (facts.uid !== undefined && facts.uid !== 0) {
    notes.push(
      `Commands run as uid ${facts.uid}, not root: processes of other users that hold /dev/kvm are not visible.`,
    );
  }
  notes.push(...facts.remarks);
  return notes;
}

function onOff(v: boolean): string {
  return v ? "on" : "off";
}

/** Why guests on this host cannot use KVM at all (no vmx/svm, or no module). */
export function unavailableSentence(facts: NestedFacts): string {
  const consequence =
    'Guests on this host run under emulation (TCG, libvirt domain type "qemu") and nested KVM is unavailable here.';
  const others = facts.otherKvmModules.length
    ? ` The KVM module${facts.otherKvmModules.length > 1 ? "s" : ""} loaded here (${facts.otherKvmModules.join(", ")}) ${facts.otherKvmModules.length > 1 ? "are" : "is"} neither kvm_intel nor kvm_amd and ${facts.otherKvmModules.length > 1 ? "have" : "has"} no nested setting.`
    : "";
  if (!facts.module) {
    return (
      `${facts.hostLabel} has no hardware virtualization: /proc/cpuinfo (vendor ${facts.cpuVendorId ?? "unknown"}) shows neither vmx (Intel VT-x) nor svm (AMD-V). ` +
      consequence +
      others +
      " Turn VT-x/AMD-V on in the firmware, or, on a virtual machine, give it a CPU with vmx or svm."
    );
  }
  return (
    `${facts.module} is not available on ${facts.hostLabel}: it is not loaded, not built into kernel ${facts.kernelRelease}, and /lib/modules/${facts.kernelRelease} has no ${facts.module.replace("_", "-")}.ko. ` +
    consequence +
    others +
    " Install the modules package of the running kernel (Debian: linux-image-…; RHEL: kernel-modules), then run again."
  );
}

import { KvmModule } from "../libvirt/cpu";
import { normalizeModuleName } from "./modprobe-conf";
import { assertNever } from "../core/checks";

/**
 * - loaded: a loadable module in the kernel now (/sys/module/<m>/initstate);
 * - builtin: compiled into the kernel (its parameters change only on the
 *   kernel command line, at boot);
 * - absent: neither (it may still be installed and loadable: see `moduleFileInstalled`).
 */
export type ModuleState = "loaded" | "builtin" | "absent";

/** What /sys/module/<m> shows. */
export interface ModuleSysfs {
  /** Names in /sys/module/<m>; empty when the folder does not exist. */
  readonly entries: readonly string[];
  /** /sys/module/<m>/initstate ("live", "coming", "going"); only loadable modules have it. */
  readonly initstate: string | undefined;
}

/**
 * The module's state from sysfs, and from /lib/modules/<release>/modules.builtin
 * for a built-in module without parameters in sysfs.
 */
export function moduleState(
  module: KvmModule,
  sysfs: ModuleSysfs,
  modulesBuiltin: string | undefined,
): ModuleState {
  if (sysfs.initstate !== undefined || sysfs.entries.includes("refcnt")) return "loaded";
  if (sysfs.entries.length > 0) return "builtin";
  return listsModule(modulesBuiltin, module) ? "builtin" : "absent";
}

/** Whether modules.dep (or modules.builtin) names the module's file, e.g. kernel/arch/x86/kvm/kvm-amd.ko.xz. */
export function listsModule(index: string | undefined, module: KvmModule): boolean {
  if (!index) return false;
  return index.split("\n").some((line) => {
    const file = line.split(":")[0].trim();
    if (!file) return false;
    const base = file.slice(file.lastIndexOf("/") + 1).replace(/\.ko(?:\.(?:gz|xz|zst))?$/, "");
    return normalizeModuleName(base) === module;
  });
}

/** Major and minor of a kernel release such as "6.1.0-18-amd64"; undefined when unreadable. */
export function kernelVersion(release: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * The module's `nested` when nothing sets it: on for kvm_amd, and for
 * kvm_intel since Linux 4.20. An unreadable release counts as old.
 */
export function defaultNested(module: KvmModule, kernelRelease: string): boolean {
  switch (module) {
    case "kvm_amd":
      return true;
    case "kvm_intel": {
      const v = kernelVersion(kernelRelease);
      return v !== undefined && (v[0] > 4 || (v[0] === 4 && v[1] >= 20));
    }
    default:
      return assertNever(module);
  }
}

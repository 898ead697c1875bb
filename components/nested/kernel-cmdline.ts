import { KvmModule } from "../libvirt/cpu";
import {
  NestedSetting,
  normalizeModuleName,
  parseNestedValue,
  splitOptions,
} from "./modprobe-conf";

export const CMDLINE_SOURCE = "kernel command line";

/**
 * Every `<module>.nested=<value>` on the kernel command line (/proc/cmdline),
 * in order; `kvm-intel.nested=1` and `kvm_intel.nested=1` are the same. Words
 * after `--` belong to init, not to the kernel, and are ignored. For a
 * built-in module the kernel applies the last one at boot; for a loadable one
 * kmod appends them after every modprobe.d setting, so they win over files.
 */
export function nestedSettingsInCmdline(cmdline: string, module: KvmModule): NestedSetting[] {
  const settings: NestedSetting[] = [];
  for (const word of splitOptions(cmdline.trim())) {
    if (word === "--") break;
    const m = /^([^.=]+)\.([^=]+)=(.*)$/.exec(word);
    if (!m) continue;
    if (normalizeModuleName(m[1]) !== module || normalizeModuleName(m[2]) !== "nested") continue;
    settings.push({
      source: CMDLINE_SOURCE,
      text: word,
      raw: m[3],
      value: parseNestedValue(module, m[3]),
      managed: false,
    });
  }
  return settings;
}

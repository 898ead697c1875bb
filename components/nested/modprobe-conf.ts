import { KvmModule } from "../libvirt/cpu";
import { assertNever } from "../core/checks";

/**
 * modprobe.d as kmod reads it (modprobe.d(5)): the `.conf` files of these
 * folders, highest priority first. A file name seen in an earlier folder hides
 * the same name in later ones; the surviving files are read in the order of
 * their names, whatever their folder, and for one parameter the last setting
 * read wins. kmod then appends `module.param=value` from /proc/cmdline, and
 * modprobe's own arguments come last of all.
 */
export const MODPROBE_DIRS = [
  "/etc/modprobe.d",
  "/run/modprobe.d",
  "/usr/local/lib/modprobe.d",
  "/usr/lib/modprobe.d",
  "/lib/modprobe.d",
] as const;

/**
 * The one file this component writes. Its own file (not the user's
 * kvm-intel.conf): unrelated lines the user adds to it are kept, and
 * destroying the resource puts back exactly what was there before.
 */
export const MANAGED_FILE = "/etc/modprobe.d/nestlab-kvm.conf";

const MANAGED_HEADER = [
  "# Written by nestlab (NestedVirtualization): nested virtualization for KVM.",
  "# Destroying the resource restores what was here before.",
];

export interface ConfigFile {
  readonly path: string;
  readonly content: string;
}

/** One place that sets `nested` for the module: a modprobe.d line or the kernel command line. */
export interface NestedSetting {
  /** "/etc/modprobe.d/kvm.conf:3" or "kernel command line". */
  readonly source: string;
  /** The line or word as written, e.g. "options kvm-intel nested=1". */
  readonly text: string;
  /** The value as written ("1", "Y", "0" …). */
  readonly raw: string;
  /** What the kernel makes of it; undefined when the module would reject it. */
  readonly value: boolean | undefined;
  /** Whether it is in MANAGED_FILE. */
  readonly managed: boolean;
}

/** kmod treats `kvm-intel` and `kvm_intel` as the same module. */
export function normalizeModuleName(name: string): string {
  return name.replace(/-/g, "_");
}

/**
 * The files modprobe reads, in its order, from the listings of MODPROBE_DIRS
 * (given highest priority first): `.conf` names not starting with a dot, the
 * first folder holding a name wins, sorted by name.
 */
export function modprobeReadOrder(
  listings: readonly { readonly dir: string; readonly names: readonly string[] }[],
): string[] {
  const byName = new Map<string, string>();
  for (const { dir, names } of listings) {
    for (const name of names) {
      if (name.startsWith(".") || !name.endsWith(".conf") || byName.has(name)) continue;
      byName.set(name, `${dir}/${name}`);
    }
  }
  return [...byName.keys()].sort(compareBytes).map((name) => byName.get(name) as string);
}

/** strcmp order (kmod sorts names with strcmp, not by locale). */
function compareBytes(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}

/** Lines as kmod sees them: a backslash at the end of a line joins the next one. */
export function logicalLines(content: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const physical = content.split("\n");
  for (let i = 0; i < physical.length; i++) {
    const start = i;
    let text = physical[i];
    while (text.endsWith("\\") && i + 1 < physical.length) {
      text = text.slice(0, -1) + physical[++i];
    }
    out.push({ line: start + 1, text });
  }
  return out;
}

/** Splits module options at blanks outside double quotes, as the kernel's parser does. */
export function splitOptions(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let quoted = false;
  let inWord = false;
  for (const ch of text) {
    if (ch === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * The value a `nested=` setting gives the module, or undefined when the module
 * would refuse it. kvm_amd's `nested` is an int (non-zero is on; "Y" makes the
 * load fail); kvm_intel's is a bool (kstrtobool: y/Y/t/T/1 or "on" is on,
 * n/N/f/F/0 or "off" is off).
 */
export function parseNestedValue(module: KvmModule, raw: string): boolean | undefined {
  switch (module) {
    case "kvm_amd": {
      const m = /^[+-]?(?:0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i.exec(raw);
      return m ? Number.parseInt(raw, raw.toLowerCase().includes("0x") ? 16 : 10) !== 0 : undefined;
    }
    case "kvm_intel": {
      const c = raw.charAt(0);
      if ("yYtT1".includes(c) && c !== "") return true;
      if ("nNfF0".includes(c) && c !== "") return false;
      if (c === "o" || c === "O") {
        const d = raw.charAt(1);
        if (d === "n" || d === "N") return true;
        if (d === "f" || d === "F") return false;
      }
      return undefined;
    }
    default:
      return assertNever(module);
  }
}

/** The live value in /sys/module/<m>/parameters/nested: "Y"/"N" (kvm_intel) or "1"/"0" (kvm_amd). */
export function parseLiveNested(raw: string | undefined): boolean | undefined {
  switch ((raw ?? "").trim()) {
    case "Y":
    case "1":
      return true;
    case "N":
    case "0":
      return false;
    default:
      return undefined;
  }
}

/** Every `nested=` for the module in one modprobe.d file, in file order. */
export function nestedSettingsInFile(file: ConfigFile, module: KvmModule): NestedSetting[] {
  const settings: NestedSetting[] = [];
  for (const { line, text } of logicalLines(file.content)) {
    const words = text.trim().split(/[ \t]+/);
    if (words[0] !== "options" || words.length < 3) continue;
    if (normalizeModuleName(words[1]) !== module) continue;
    const options = text.trim().replace(/^options[ \t]+\S+[ \t]+/, "");
    for (const option of splitOptions(options)) {
      const eq = option.indexOf("=");
      if (eq < 0 || normalizeModuleName(option.slice(0, eq)) !== "nested") continue;
      const raw = option.slice(eq + 1);
      settings.push({
        source: `${file.path}:${line}`,
        text: text.trim(),
        raw,
        value: parseNestedValue(module, raw),
        managed: file.path === MANAGED_FILE,
      });
    }
  }
  return settings;
}

function optionsLinePattern(module: KvmModule): RegExp {
  const name = module.replace("_", "[-_]");
  return new RegExp(`^(\\s*options[ \\t]+${name}[ \\t]+)(.*)$`);
}

/** Replaces the value of every `nested=` word in the module's options lines; counts them. */
function setNestedWords(lines: string[], module: KvmModule, value: string | null): number {
  const pattern = optionsLinePattern(module);
  let count = 0;
  for (let i = 0; i < lines.length; i++) {
    const m = pattern.exec(lines[i]);
    if (!m) continue;
    const rest = m[2].replace(/(^|[ \t])nested=("[^"]*"|\S*)/g, (_all, lead: string) => {
      count++;
      return value === null ? "" : `${lead}nested=${value}`;
    });
    if (value === null) {
      const kept = rest.trim().replace(/[ \t]+/g, " ");
      lines[i] = kept ? `${m[1]}${kept}` : "\u0000";
    } else {
      lines[i] = `${m[1]}${rest}`;
    }
  }
  return count;
}

/**
 * The managed file with `nested` set for the module: the current content with
 * the value changed in place (every other line, comment and option kept), or
 * a line appended, or a new file with a short header.
 */
export function renderManagedFile(
  current: string | undefined,
  module: KvmModule,
  value: boolean,
): string {
  const word = value ? "1" : "0";
  if (current === undefined || current.trim() === "") {
    return [...MANAGED_HEADER, `options ${module} nested=${word}`, ""].join("\n");
  }
  const lines = current.split("\n");
  if (setNestedWords(lines, module, word) > 0) return lines.join("\n");
  const base = current.endsWith("\n") ? current : `${current}\n`;
  return `${base}options ${module} nested=${word}\n`;
}

/**
 * What the managed file should hold when the resource is destroyed.
 * `written` is what the resource last wrote (undefined: it never wrote),
 * `previous` what was there before it existed (undefined: no file).
 * Returns undefined when the file should not exist.
 * - Never written: the file is left as it is.
 * - Unchanged since written (or removed by someone): `previous`, exactly.
 * - Edited since: only the `nested` setting is put back (the previous value,
 *   or no setting), the edits are kept.
 */
export function revertManagedFile(
  current: string | undefined,
  written: string | undefined,
  previous: string | undefined,
  module: KvmModule,
): string | undefined {
  if (written === undefined) return current;
  if (current === undefined || current === written) return previous;
  const before =
    previous === undefined
      ? []
      : nestedSettingsInFile({ path: MANAGED_FILE, content: previous }, module);
  const last = before[before.length - 1];
  if (last) {
    const lines = current.split("\n");
    setNestedWords(lines, module, last.raw);
    return lines.join("\n");
  }
  const lines = current.split("\n");
  setNestedWords(lines, module, null);
  const kept = lines.filter((l) => l !== "\u0000" && !MANAGED_HEADER.includes(l));
  const text = kept.join("\n");
  return text.trim() === "" && previous === undefined ? undefined : text;
}

import { DOMImplementation, DOMParser, Element } from "@xmldom/xmldom";
import { canonicalXml, child, rootOf } from "../core/xml-doc";

/** What `virsh pool-dumpxml` says about a pool. */
export interface PoolFacts {
  readonly name: string;
  /** "dir", "fs", "netfs", "logical", … */
  readonly type: string;
  /** The folder that holds the volumes (target/path). */
  readonly path: string;
  readonly availableBytes: number;
}

/** What `virsh vol-dumpxml` says about a volume. */
export interface VolumeFacts {
  readonly name: string;
  readonly path: string;
  readonly format: string;
  readonly capacityBytes: number;
  readonly allocationBytes: number;
  /** The file it is a copy-on-write overlay of (`<backingStore><path>`), if any. */
  readonly backingPath?: string;
}

/** Pool types whose volumes are plain files in the target folder. */
export const FILE_POOL_TYPES: readonly string[] = ["dir", "fs", "netfs"];

export function parsePoolXml(xml: string): PoolFacts {
  const root = parse(xml, "pool");
  return {
    name: text(root, ["name"]),
    type: root.getAttribute("type") ?? "",
    path: text(root, ["target", "path"]),
    availableBytes: bytes(findChild(root, ["available"])),
  };
}

export function parseVolumeXml(xml: string): VolumeFacts {
  const root = parse(xml, "volume");
  const backing = text(root, ["backingStore", "path"]);
  return {
    name: text(root, ["name"]),
    path: text(root, ["target", "path"]),
    format: findChild(root, ["target", "format"])?.getAttribute("type") ?? "",
    capacityBytes: bytes(findChild(root, ["capacity"])),
    allocationBytes: bytes(findChild(root, ["allocation"])),
    ...(backing ? { backingPath: backing } : {}),
  };
}

/** A qcow2 volume whose backing store is another volume's file: what `virsh vol-create` makes. */
export interface OverlayVolumeSpec {
  readonly volumeName: string;
  /** The overlay's virtual size: the backing file's. */
  readonly capacityBytes: number;
  readonly backingPath: string;
  readonly backingFormat: "qcow2" | "raw";
}

/**
 * The volume XML of a copy-on-write overlay: libvirt runs `qemu-img create
 * -b <backing> -F <format>` for it, so nothing is copied and the backing
 * file's format is pinned, never probed from content a guest can write.
 */
export function renderOverlayVolumeXml(spec: OverlayVolumeSpec): string {
  const doc = new DOMImplementation().createDocument(null, "volume", null);
  const root = rootOf(doc);
  child(root, "name", {}, spec.volumeName);
  child(root, "capacity", { unit: "bytes" }, spec.capacityBytes);
  child(root, "allocation", { unit: "bytes" }, 0);
  child(child(root, "target"), "format", { type: "qcow2" });
  const backing = child(root, "backingStore");
  child(backing, "path", {}, spec.backingPath);
  child(backing, "format", { type: spec.backingFormat });
  return canonicalXml(doc);
}

/**
 * The volume paths in `virsh vol-list` output, for a pool whose volumes are
 * files in `poolPath`: each row is the name, spaces, then the path, and the
 * path is the part from `<poolPath>/` on (a name may hold spaces).
 */
export function parseVolListPaths(stdout: string, poolPath: string): string[] {
  const marker = ` ${poolPath.replace(/\/+$/, "")}/`;
  return stdout
    .split("\n")
    .map((line) => line.trimEnd())
    .map((line) => {
      const at = line.indexOf(marker);
      return at < 0 ? undefined : line.slice(at + 1);
    })
    .filter((p): p is string => p !== undefined)
    .sort();
}

/** The "State:" line of `virsh pool-info` ("running", "inactive", …). */
export function parsePoolState(poolInfo: string): string {
  return /^State:\s*(.+)$/m.exec(poolInfo)?.[1].trim() ?? "";
}

/**
 * Temporary files of earlier, interrupted conversions into `volumeName`
 * (hidden names that the provider never takes as a finished volume).
 */
export function partialFileName(volumeName: string, unique: string): string {
  return `.${volumeName}.nestlab-partial-${unique}`;
}

export function leftoversOf(names: readonly string[], volumeName: string): string[] {
  const prefix = `.${volumeName}.nestlab-partial-`;
  return names.filter((n) => n.startsWith(prefix)).sort();
}

function parse(xml: string, rootName: string): Element {
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  const root = doc.documentElement;
  if (!root || root.nodeName !== rootName)
    throw new Error(`expected <${rootName}> XML from virsh, got: ${xml.slice(0, 80)}`);
  return root;
}

function findChild(el: Element, names: readonly string[]): Element | undefined {
  let at: Element | undefined = el;
  for (const name of names) {
    at = at
      ? Array.from(at.childNodes).find((n): n is Element => n.nodeType === 1 && n.nodeName === name)
      : undefined;
  }
  return at;
}

function text(el: Element, names: readonly string[]): string {
  return findChild(el, names)?.textContent?.trim() ?? "";
}

const UNITS: Record<string, number> = {
  b: 1,
  bytes: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
};

function bytes(el: Element | undefined): number {
  if (!el) return 0;
  const unit = (el.getAttribute("unit") ?? "bytes").toLowerCase();
  return Number(el.textContent?.trim() ?? "0") * (UNITS[unit] ?? 1);
}

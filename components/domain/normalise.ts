import type { Document, Element } from "@xmldom/xmldom";
import {
  canonicalXml,
  elements,
  firstChild,
  parseXml,
  QEMU_NS,
  rootOf,
  textOf,
} from "../core/xml-doc";

/**
 * Normalising libvirt's stored XML so it compares with what was defined.
 *
 * libvirt adds things of its own to every definition: a UUID, the emulator
 * path, PCI and drive addresses, controllers, PS/2 input devices, a video
 * card and a memory balloon, a console mirroring the first serial port, a
 * boot device beside a direct kernel boot, the machine type,
 * `check`/`placement` attributes, and (in the live XML) aliases
 * and runtime sources. Each of these is removed from libvirt's document
 * unless the defined document has the same kind of node (e.g. a patch added
 * a controller), and devices are put in libvirt's order on both sides. What
 * remains differs from the defined XML only where someone changed the domain.
 */

/** Elements libvirt adds, by path below <domain> (an "*" matches any device). */
const ADDED_ELEMENTS = [
  "uuid",
  "resource",
  "seclabel",
  "os/boot",
  "devices/emulator",
  "devices/controller",
  "devices/*/address",
  "devices/*/alias",
  "devices/input",
  "devices/audio",
  "devices/console",
  "devices/serial/target",
  "devices/graphics/listen",
  "devices/video",
  "devices/memballoon",
  "devices/disk/backingStore",
  "devices/interface/target",
];

/** Attributes libvirt adds, by element path. */
const ADDED_ATTRIBUTES: Record<string, readonly string[]> = {
  "": ["id"],
  vcpu: ["placement"],
  "os/type": ["machine"],
  cpu: ["check", "migratable"],
  "devices/serial/source": ["tls"],
  "devices/disk/source": ["index"],
};

/** libvirt's order of top-level elements and of devices; others keep their place after these. */
const DOMAIN_ORDER = [
  "name",
  "uuid",
  "genid",
  "title",
  "description",
  "metadata",
  "maxMemory",
  "memory",
  "currentMemory",
  "blkiotune",
  "memtune",
  "memoryBacking",
  "vcpu",
  "vcpus",
  "iothreads",
  "cputune",
  "numatune",
  "resource",
  "sysinfo",
  "bootloader",
  "os",
  "idmap",
  "features",
  "cpu",
  "clock",
  "on_poweroff",
  "on_reboot",
  "on_crash",
  "on_lockfailure",
  "pm",
  "perf",
  "devices",
  "seclabel",
  "qemu:commandline",
];
const DEVICE_ORDER = [
  "emulator",
  "disk",
  "controller",
  "lease",
  "filesystem",
  "interface",
  "smartcard",
  "serial",
  "parallel",
  "console",
  "channel",
  "input",
  "tpm",
  "graphics",
  "sound",
  "audio",
  "video",
  "hostdev",
  "redirdev",
  "redirfilter",
  "hub",
  "watchdog",
  "memballoon",
  "rng",
  "panic",
  "shmem",
  "memory",
  "iommu",
  "vsock",
];

/** The defined XML in the form it is compared in. */
export function comparableXml(definedXml: string): string {
  const doc = parseXml(definedXml);
  sortChildren(doc);
  return canonicalXml(doc);
}

/**
 * libvirt's XML of a domain (`virsh dumpxml --inactive`, or the live XML)
 * with libvirt's own additions removed, relative to the XML that was
 * defined, in comparable form.
 */
export function normaliseDomainXml(libvirtXml: string, definedXml: string): string {
  const defined = parseXml(definedXml);
  const doc = parseXml(libvirtXml);
  const root = rootOf(doc);
  for (const pattern of ADDED_ELEMENTS) {
    if (matching(rootOf(defined), pattern).length > 0) continue;
    for (const el of matching(root, pattern)) el.parentNode?.removeChild(el);
  }
  for (const [path, names] of Object.entries(ADDED_ATTRIBUTES)) {
    const definedEls = path === "" ? [rootOf(defined)] : matching(rootOf(defined), path);
    const els = path === "" ? [root] : matching(root, path);
    for (const name of names) {
      if (definedEls.some((e) => e.hasAttribute(name))) continue;
      for (const el of els) el.removeAttribute(name);
    }
  }
  // libvirt drops `current` when it equals the maximum.
  const vcpu = firstChild(root, "vcpu");
  if (vcpu && vcpu.getAttribute("current") === textOf(vcpu)) vcpu.removeAttribute("current");
  sortChildren(doc);
  return canonicalXml(doc);
}

/** Elements below root that a path pattern names. */
function matching(root: Element, pattern: string): Element[] {
  let current: Element[] = [root];
  for (const step of pattern.split("/")) {
    current = current.flatMap((el) =>
      elements(el).filter((c) => step === "*" || c.nodeName === step),
    );
  }
  return current;
}

function sortChildren(doc: Document): void {
  const root = rootOf(doc);
  reorder(root, DOMAIN_ORDER);
  const devices = firstChild(root, "devices");
  if (devices) reorder(devices, DEVICE_ORDER);
}

/** Stable sort of an element's children by a known order; unknown names go last in their order. */
function reorder(parent: Element, order: readonly string[]): void {
  const kids = elements(parent);
  const rank = (e: Element): number => {
    const i = order.indexOf(e.nodeName);
    return i === -1 ? order.length : i;
  };
  const sorted = kids.map((e, i) => ({ e, i })).sort((a, b) => rank(a.e) - rank(b.e) || a.i - b.i);
  for (const { e } of sorted) parent.appendChild(e);
}

/**
 * The typed view of a domain document, in the words of NestedDomain's
 * arguments (memory in MiB, the CPU as mode/model/features, devices as
 * lists). Read from the defined XML and from libvirt's, it says which
 * argument a hand-made change touched.
 */
export interface DomainFields {
  readonly memoryMiB?: number;
  readonly maxMemoryMiB?: number;
  readonly vcpus?: number;
  readonly maxVcpus?: number;
  readonly topology?: { sockets: number; dies: number; cores: number; threads: number };
  readonly cpu?: { mode: string; model?: string; features: { name: string; policy: string }[] };
  readonly disks: Record<string, string | boolean>[];
  readonly networks: Record<string, unknown>[];
  readonly vnc?: Record<string, string | number | boolean>;
  readonly serial?: Record<string, string | number>;
  readonly boot?: { kernel: string; initrd?: string; cmdline?: string };
}

export function fieldsFromXml(xml: string): DomainFields {
  const root = rootOf(parseXml(xml));
  const kib = (name: string): number | undefined => {
    const el = firstChild(root, name);
    if (!el) return undefined;
    return Math.round(toKiB(Number(textOf(el)), el.getAttribute("unit") ?? "KiB") / 1024);
  };
  const vcpuEl = firstChild(root, "vcpu");
  const maxVcpus = vcpuEl ? Number(textOf(vcpuEl)) : undefined;
  const cpuEl = firstChild(root, "cpu");
  const topoEl = cpuEl && firstChild(cpuEl, "topology");
  const devices = firstChild(root, "devices");
  const devs = devices ? elements(devices) : [];
  const os = firstChild(root, "os");
  const kernel = os && textOf(firstChild(os, "kernel"));
  const graphics = devs.find((d) => d.nodeName === "graphics" && d.getAttribute("type") === "vnc");
  const serial = devs.find((d) => d.nodeName === "serial");
  return {
    memoryMiB: kib("currentMemory") ?? kib("memory"),
    maxMemoryMiB: kib("memory"),
    vcpus: vcpuEl?.hasAttribute("current") ? Number(vcpuEl.getAttribute("current")) : maxVcpus,
    maxVcpus,
    ...(topoEl
      ? {
          topology: {
            sockets: Number(topoEl.getAttribute("sockets")),
            dies: Number(topoEl.getAttribute("dies") ?? 1),
            cores: Number(topoEl.getAttribute("cores")),
            threads: Number(topoEl.getAttribute("threads")),
          },
        }
      : {}),
    ...(cpuEl
      ? {
          cpu: {
            mode: cpuEl.getAttribute("mode") ?? "custom",
            ...(firstChild(cpuEl, "model") && textOf(firstChild(cpuEl, "model"))
              ? { model: textOf(firstChild(cpuEl, "model")) }
              : {}),
            features: elements(cpuEl)
              .filter((e) => e.nodeName === "feature")
              .map((e) => ({
                name: e.getAttribute("name") ?? "",
                policy: e.getAttribute("policy") ?? "require",
              })),
          },
        }
      : {}),
    disks: devs.filter((d) => d.nodeName === "disk").map(diskFields),
    networks: [
      ...devs.filter((d) => d.nodeName === "interface").map(interfaceFields),
      ...userNetworkFields(root),
    ],
    ...(graphics ? { vnc: vncFields(graphics) } : {}),
    ...(serial ? { serial: serialFields(serial) } : {}),
    ...(kernel
      ? {
          boot: {
            kernel,
            ...(os && firstChild(os, "initrd") ? { initrd: textOf(firstChild(os, "initrd")) } : {}),
            ...(os && firstChild(os, "cmdline")
              ? { cmdline: textOf(firstChild(os, "cmdline")) }
              : {}),
          },
        }
      : {}),
  };
}

function toKiB(value: number, unit: string): number {
  const factors: Record<string, number> = {
    b: 1 / 1024,
    bytes: 1 / 1024,
    k: 1,
    KiB: 1,
    M: 1024,
    MiB: 1024,
    G: 1024 * 1024,
    GiB: 1024 * 1024,
  };
  return value * (factors[unit] ?? 1);
}

function diskFields(d: Element): Record<string, string | boolean> {
  const source = firstChild(d, "source");
  const target = firstChild(d, "target");
  const driver = firstChild(d, "driver");
  const out: Record<string, string | boolean> = {};
  if (source?.hasAttribute("pool")) {
    out.pool = source.getAttribute("pool") ?? "";
    out.volumeName = source.getAttribute("volume") ?? "";
  } else {
    out.path = source?.getAttribute("file") ?? "";
  }
  out.bus = target?.getAttribute("bus") ?? "";
  out.device = d.getAttribute("device") ?? "disk";
  out.format = driver?.getAttribute("type") ?? "";
  out.readonly = firstChild(d, "readonly") !== undefined;
  return out;
}

function interfaceFields(i: Element): Record<string, unknown> {
  const source = firstChild(i, "source");
  const type = i.getAttribute("type") ?? "";
  const out: Record<string, unknown> = {};
  if (type === "network") out.network = source?.getAttribute("network") ?? "";
  else if (type === "bridge") out.bridge = source?.getAttribute("bridge") ?? "";
  else out.type = type;
  out.mac = firstChild(i, "mac")?.getAttribute("address") ?? "";
  out.model = firstChild(i, "model")?.getAttribute("type") ?? "";
  return out;
}

/** User-mode NICs from the QEMU command-line passthrough (see render.ts). */
function userNetworkFields(root: Element): Record<string, unknown>[] {
  const cmd = elements(root).find(
    (e) => e.localName === "commandline" && e.namespaceURI === QEMU_NS,
  );
  if (!cmd) return [];
  const args = elements(cmd).map((a) => a.getAttribute("value") ?? "");
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i + 1 < args.length; i++) {
    if (args[i] !== "-netdev" || !args[i + 1].startsWith("user,")) continue;
    const parts = args[i + 1].split(",");
    const id = parts.find((p) => p.startsWith("id="))?.slice(3);
    const forwards = parts
      .filter((p) => p.startsWith("hostfwd="))
      .map((p) => {
        const m = /^hostfwd=(tcp|udp):([^:]*):(\d+)-[^:]*:(\d+)$/.exec(p);
        return m
          ? { protocol: m[1], hostAddress: m[2], hostPort: Number(m[3]), guestPort: Number(m[4]) }
          : { raw: p };
      });
    const device =
      args.find((a) => a.includes(`netdev=${id},`) || a.endsWith(`netdev=${id}`)) ?? "";
    const mac = /(?:^|,)mac=([0-9a-f:]+)/i.exec(device)?.[1] ?? "";
    const model = device.startsWith("virtio-net-pci") ? "virtio" : (device.split(",")[0] ?? "");
    out.push({ user: { forwards }, mac, model });
  }
  return out;
}

function vncFields(g: Element): Record<string, string | number | boolean> {
  const autoport = g.getAttribute("autoport") === "yes";
  return {
    listen: g.getAttribute("listen") ?? firstChild(g, "listen")?.getAttribute("address") ?? "",
    ...(autoport ? { autoport: true } : { port: Number(g.getAttribute("port")) }),
  };
}

function serialFields(s: Element): Record<string, string | number> {
  const source = firstChild(s, "source");
  const type = s.getAttribute("type") ?? "";
  switch (type) {
    case "tcp":
      return {
        type,
        host: source?.getAttribute("host") ?? "",
        port: Number(source?.getAttribute("service")),
      };
    case "unix":
    case "file":
      return { type, path: source?.getAttribute("path") ?? "" };
    default:
      return { type };
  }
}

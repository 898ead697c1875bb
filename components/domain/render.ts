import { DOMImplementation, XMLSerializer } from "@xmldom/xmldom";
import type { Element } from "@xmldom/xmldom";
import { assertNever } from "../core/checks";
import { applyXmlPatches } from "./patches";
import { ResolvedDisk, ResolvedDomainSpec, ResolvedNetwork, SerialSpec } from "./spec";
import {
  canonicalXml,
  child,
  elements,
  firstChild,
  NESTLAB_NS,
  parseXml,
  QEMU_NS,
  rootOf,
  XMLNS,
} from "../core/xml-doc";

/**
 * The libvirt domain XML for a resolved spec, patches applied, in canonical
 * form. Built with a DOM (names, paths and values are escaped by the
 * serializer, never pasted into markup). Same spec, same bytes.
 *
 * Left out on purpose: the UUID (libvirt makes it at the first define; the
 * provider adds it when it redefines) and the VNC password (added only to
 * the document handed to `virsh define`, so it never enters the state).
 */
export function renderDomainXml(spec: ResolvedDomainSpec): string {
  const doc = new DOMImplementation().createDocument(null, "domain", null);
  const domain = rootOf(doc);
  domain.setAttribute("type", spec.domainType);
  const userNets = spec.networks.filter((n) => n.user !== undefined);
  if (userNets.length > 0) domain.setAttributeNS(XMLNS, "xmlns:qemu", QEMU_NS);

  child(domain, "name", {}, spec.domainName);
  const metadata = child(domain, "metadata");
  const owner = doc.createElementNS(NESTLAB_NS, "nestlab:owner");
  owner.appendChild(doc.createTextNode(spec.owner));
  metadata.appendChild(owner);
  child(domain, "memory", { unit: "KiB" }, spec.maxMemoryMiB * 1024);
  child(domain, "currentMemory", { unit: "KiB" }, spec.memoryMiB * 1024);
  child(
    domain,
    "vcpu",
    { current: spec.vcpus === spec.maxVcpus ? undefined : spec.vcpus },
    spec.maxVcpus,
  );

  const os = child(domain, "os");
  child(os, "type", { arch: "x86_64" }, "hvm");
  if (spec.boot) {
    child(os, "kernel", {}, spec.boot.kernel);
    if (spec.boot.initrd !== undefined) child(os, "initrd", {}, spec.boot.initrd);
    if (spec.boot.cmdline !== undefined) child(os, "cmdline", {}, spec.boot.cmdline);
  } else {
    child(os, "boot", { dev: "hd" });
  }
  const features = child(domain, "features");
  child(features, "acpi");
  child(features, "apic");
  renderCpu(domain, spec);
  child(domain, "clock", { offset: "utc" });
  child(domain, "on_poweroff", {}, "destroy");
  child(domain, "on_reboot", {}, "restart");
  child(domain, "on_crash", {}, "destroy");

  const devices = child(domain, "devices");
  spec.disks.forEach((d) => renderDisk(devices, d));
  spec.networks.filter((n) => n.user === undefined).forEach((n) => renderInterface(devices, n));
  if (spec.serial) renderSerial(devices, spec.serial);
  if (spec.vnc) {
    const port =
      spec.vnc.port ?? (spec.vnc.display !== undefined ? 5900 + spec.vnc.display : undefined);
    child(devices, "graphics", {
      type: "vnc",
      port: port ?? -1,
      autoport: port === undefined ? "yes" : "no",
      listen: spec.vnc.listen,
    });
  }
  if (userNets.length > 0) renderUserNetworks(domain, spec.networks);

  applyXmlPatches(doc, spec.xmlPatches);
  return canonicalXml(doc);
}

/**
 * The `<cpu>` element alone, as `virsh hypervisor-cpu-compare` takes it:
 * the same element renderDomainXml puts in the domain.
 */
export function renderCpuXml(spec: ResolvedDomainSpec): string {
  const doc = new DOMImplementation().createDocument(null, "domain", null);
  return new XMLSerializer().serializeToString(renderCpu(rootOf(doc), spec));
}

function renderCpu(domain: Element, spec: ResolvedDomainSpec): Element {
  const cpu = spec.cpu;
  const el = child(domain, "cpu", {
    mode: cpu.mode,
    match: cpu.mode === "custom" ? "exact" : undefined,
  });
  if (cpu.mode === "custom") child(el, "model", { fallback: "forbid" }, cpu.model);
  if (spec.topology) {
    const t = spec.topology;
    child(el, "topology", {
      sockets: t.sockets,
      dies: t.dies ?? 1,
      cores: t.cores,
      threads: t.threads,
    });
  }
  for (const f of cpu.features) child(el, "feature", { policy: f.policy, name: f.name });
  return el;
}

function renderDisk(devices: Element, d: ResolvedDisk): void {
  const disk = child(devices, "disk", { type: d.volume ? "volume" : "file", device: d.device });
  child(disk, "driver", { name: "qemu", type: d.format });
  if (d.volume) child(disk, "source", { pool: d.volume.pool, volume: d.volume.volumeName });
  else child(disk, "source", { file: d.path });
  child(disk, "target", { dev: d.target, bus: d.bus });
  if (d.readonly) child(disk, "readonly");
}

function renderInterface(devices: Element, n: ResolvedNetwork): void {
  const iface = child(devices, "interface", {
    type: n.network !== undefined ? "network" : "bridge",
  });
  child(iface, "mac", { address: n.mac });
  if (n.network !== undefined) child(iface, "source", { network: n.network });
  else child(iface, "source", { bridge: n.bridge });
  child(iface, "model", { type: n.model });
}

function renderSerial(devices: Element, serial: SerialSpec): void {
  switch (serial.type) {
    case "tcp": {
      const el = child(devices, "serial", { type: "tcp" });
      child(el, "source", { mode: "bind", host: serial.host ?? "127.0.0.1", service: serial.port });
      child(el, "protocol", { type: "raw" });
      return;
    }
    case "pty":
      child(devices, "serial", { type: "pty" });
      return;
    case "unix": {
      const el = child(devices, "serial", { type: "unix" });
      child(el, "source", { mode: "bind", path: serial.path });
      return;
    }
    case "file": {
      const el = child(devices, "serial", { type: "file" });
      child(el, "source", { path: serial.path });
      return;
    }
    default:
      assertNever(serial);
  }
}

/**
 * User-mode NICs with port forwards. libvirt 9.0 has no `<portForward>` for
 * user interfaces, so these go to QEMU directly: one `-netdev user` with
 * `hostfwd` rules and one NIC device each, on a PCI slot counted down from
 * the top (libvirt fills slots from the bottom) so they never collide.
 */
export const USER_NIC_FIRST_SLOT = 0x1f;

function renderUserNetworks(domain: Element, networks: readonly ResolvedNetwork[]): void {
  const cmd = child(domain, "qemu:commandline");
  networks.forEach((n, i) => {
    if (n.user === undefined) return;
    const id = `nestlab-net${i}`;
    const forwards = (n.user.forwards ?? []).map(
      (f) =>
        `,hostfwd=${f.protocol ?? "tcp"}:${f.hostAddress ?? "127.0.0.1"}:${f.hostPort}-:${f.guestPort}`,
    );
    const slot = `0x${(USER_NIC_FIRST_SLOT - userIndex(networks, i)).toString(16)}`;
    child(cmd, "qemu:arg", { value: "-netdev" });
    child(cmd, "qemu:arg", { value: `user,id=${id}${forwards.join("")}` });
    child(cmd, "qemu:arg", { value: "-device" });
    child(cmd, "qemu:arg", {
      value: `${QEMU_NIC_DEVICE[n.model]},netdev=${id},mac=${n.mac},addr=${slot}`,
    });
  });
}

const QEMU_NIC_DEVICE = { virtio: "virtio-net-pci", e1000: "e1000", rtl8139: "rtl8139" } as const;

function userIndex(networks: readonly ResolvedNetwork[], i: number): number {
  return networks.slice(0, i).filter((n) => n.user !== undefined).length;
}

/**
 * The document handed to `virsh define`: the rendered XML plus what must not
 * be in the state or is only known later — the UUID (so a redefine updates
 * the same domain) and the VNC password.
 */
export function definitionXml(xml: string, extra: { uuid?: string; vncPassword?: string }): string {
  const doc = parseXml(xml);
  const domain = rootOf(doc);
  if (extra.uuid !== undefined) {
    const old = firstChild(domain, "uuid");
    if (old) domain.removeChild(old);
    const uuid = doc.createElement("uuid");
    uuid.appendChild(doc.createTextNode(extra.uuid));
    const name = firstChild(domain, "name");
    domain.insertBefore(uuid, name ? name.nextSibling : domain.firstChild);
  }
  if (extra.vncPassword !== undefined) {
    const devices = firstChild(domain, "devices");
    for (const g of devices ? elements(devices) : []) {
      if (g.nodeName === "graphics" && g.getAttribute("type") === "vnc")
        g.setAttribute("passwd", extra.vncPassword);
    }
  }
  return new XMLSerializer().serializeToString(doc);
}

import { elements, firstChild, NESTLAB_NS, parseXml, rootOf, textOf } from "../core/xml-doc";

/**
 * Parsers for what the provider reads from the host (virsh and ss output).
 * Pure: text in, facts out.
 */

export interface DomainCapabilities {
  readonly maxVcpus: number;
  /** Whether each CPU mode is supported (`<mode name supported>`). */
  readonly modes: Readonly<Record<string, boolean>>;
  /** Custom-mode models by name: whether usable and the vendor libvirt gives. */
  readonly models: ReadonlyMap<string, { readonly usable: boolean; readonly vendor: string }>;
}

/** `virsh domcapabilities --virttype T` → the parts the preflight needs. */
export function parseDomainCapabilities(xml: string): DomainCapabilities {
  const root = rootOf(parseXml(xml, "domcapabilities XML"));
  const vcpu = firstChild(root, "vcpu");
  const cpu = firstChild(root, "cpu");
  const modes: Record<string, boolean> = {};
  const models = new Map<string, { usable: boolean; vendor: string }>();
  for (const mode of cpu ? elements(cpu).filter((e) => e.nodeName === "mode") : []) {
    const name = mode.getAttribute("name") ?? "";
    modes[name] = mode.getAttribute("supported") === "yes";
    if (name !== "custom") continue;
    for (const model of elements(mode).filter((e) => e.nodeName === "model")) {
      const text = textOf(model);
      if (text)
        models.set(text, {
          usable: model.getAttribute("usable") !== "no",
          vendor: model.getAttribute("vendor") ?? "unknown",
        });
    }
  }
  return { maxVcpus: Number(vcpu?.getAttribute("max") ?? 1), modes, models };
}

export interface NodeInfo {
  readonly cpus: number;
  readonly memoryKiB: number;
}

/** `virsh nodeinfo` → logical CPUs and memory. */
export function parseNodeInfo(text: string): NodeInfo {
  const cpus = /^CPU\(s\):\s*(\d+)/m.exec(text)?.[1];
  const memory = /^Memory size:\s*(\d+)\s*KiB/m.exec(text)?.[1];
  if (cpus === undefined || memory === undefined)
    throw new Error(`Unexpected \`virsh nodeinfo\` output:\n${text}`);
  return { cpus: Number(cpus), memoryKiB: Number(memory) };
}

/** `virsh domifaddr` → the addresses (without prefix length), in order. */
export function parseDomIfAddr(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*\S+\s+[0-9a-f:]{17}\s+(ipv4|ipv6)\s+([0-9a-f.:]+)\/\d+\s*$/i.exec(line);
    if (m && !out.includes(m[2])) out.push(m[2]);
  }
  return out;
}

/** A listening socket: local address and port. */
export interface Listener {
  readonly address: string;
  readonly port: number;
}

/** `ss -H -l -n -t` (or -u) → local address and port of each listening socket. */
export function parseListeners(text: string): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    // State Recv-Q Send-Q Local:Port Peer:Port (udp rows have the same layout with UNCONN).
    const local = cols[3];
    const m = /^(.*):(\d+|\*)$/.exec(local);
    if (!m || m[2] === "*") continue;
    const address = m[1].replace(/^\[|\]$/g, "").replace(/%.*$/, "");
    out.push({ address: address === "*" ? "0.0.0.0" : address, port: Number(m[2]) });
  }
  return out;
}

/** Whether binding `address:port` would collide with a listener (wildcards collide with everything). */
export function portTaken(listeners: readonly Listener[], address: string, port: number): boolean {
  const wildcard = (a: string): boolean => a === "0.0.0.0" || a === "::";
  return listeners.some(
    (l) => l.port === port && (l.address === address || wildcard(l.address) || wildcard(address)),
  );
}

/** `virsh dominfo` → what the running domain has: its memory (KiB) and vCPUs. */
export function parseDomInfoLive(dominfo: string): {
  usedMemoryKiB: number | undefined;
  cpus: number | undefined;
} {
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(dominfo);
    return m ? Number(m[1]) : undefined;
  };
  return { usedMemoryKiB: num(/^Used memory:\s*(\d+) KiB$/m), cpus: num(/^CPU\(s\):\s*(\d+)$/m) };
}

/** `virsh dominfo` → whether autostart is on. */
export function parseAutostart(dominfo: string): boolean {
  return /^Autostart:\s*enable/m.test(dominfo);
}

/** Where a running domain's VNC server and serial console are, from its live XML. */
export function liveAddresses(liveXml: string): {
  vncAddress: string | null;
  serialAddress: string | null;
} {
  const devices = firstChild(rootOf(parseXml(liveXml)), "devices");
  const devs = devices ? elements(devices) : [];
  const graphics = devs.find((d) => d.nodeName === "graphics" && d.getAttribute("type") === "vnc");
  const port = graphics?.getAttribute("port");
  const vncAddress =
    graphics && port && port !== "-1"
      ? `${graphics.getAttribute("listen") ?? "127.0.0.1"}:${port}`
      : null;
  const serial = devs.find((d) => d.nodeName === "serial");
  const source = serial ? firstChild(serial, "source") : undefined;
  let serialAddress: string | null = null;
  switch (serial?.getAttribute("type")) {
    case "tcp":
      serialAddress = `${source?.getAttribute("host")}:${source?.getAttribute("service")}`;
      break;
    case "pty":
    case "unix":
    case "file":
      serialAddress = source?.getAttribute("path") ?? null;
      break;
  }
  return { vncAddress, serialAddress };
}

/** The owner recorded in the domain's `<metadata>` by this project, if any. */
export function ownerOf(xml: string): string | undefined {
  const metadata = firstChild(rootOf(parseXml(xml)), "metadata");
  const owner = metadata
    ? elements(metadata).find((e) => e.namespaceURI === NESTLAB_NS && e.localName === "owner")
    : undefined;
  return textOf(owner);
}

import { isUnknown } from "../core/unknown";
import { DomainSpec, PortForward } from "./spec";

/** A port the domain's QEMU listens on, with the argument that asks for it. */
export interface ListeningPort {
  readonly argument: string;
  readonly protocol: "tcp" | "udp";
  readonly address: string;
  readonly port: number;
}

/**
 * The host ports a domain listens on (VNC, a TCP serial console, user-mode
 * port forwards), read from the spec itself with libvirt's defaults. Parts
 * not known yet are left out. Pure.
 */
export function listeningPorts(spec: DomainSpec): ListeningPort[] {
  const out: ListeningPort[] = [];
  const vnc = spec.vnc;
  if (vnc && !isUnknown(vnc)) {
    const address = known(vnc.listen) ?? "127.0.0.1";
    if (typeof vnc.port === "number")
      out.push({ argument: "vnc.port", protocol: "tcp", address, port: vnc.port });
    else if (typeof vnc.display === "number")
      out.push({ argument: "vnc.display", protocol: "tcp", address, port: 5900 + vnc.display });
  }
  const serial = spec.serial;
  if (serial && !isUnknown(serial) && serial.type === "tcp" && typeof serial.port === "number") {
    const address = known(serial.host) ?? "127.0.0.1";
    out.push({ argument: "serial.port", protocol: "tcp", address, port: serial.port });
  }
  if (Array.isArray(spec.networks)) {
    spec.networks.forEach((n, i) => {
      if (!n || isUnknown(n) || !n.user || isUnknown(n.user) || !Array.isArray(n.user.forwards))
        return;
      n.user.forwards.forEach((f: PortForward, j: number) => {
        if (!f || isUnknown(f) || typeof f.hostPort !== "number") return;
        out.push({
          argument: `networks[${i}].user.forwards[${j}].hostPort`,
          protocol: f.protocol === "udp" ? "udp" : "tcp",
          address: known(f.hostAddress) ?? "127.0.0.1",
          port: f.hostPort,
        });
      });
    });
  }
  return out;
}

function known(value: string | undefined): string | undefined {
  return value === undefined || isUnknown(value) ? undefined : value;
}

import {
  absolutePath,
  assertNever,
  ipAddress,
  isLoopback,
  nonEmptyName,
  oneOf,
  optionalBoolean,
  tcpPort,
  wholeNumber,
} from "../core/checks";
import { InvalidArgumentError } from "../core/errors";
import { validateDomainName } from "../libvirt/names";
import { validateXmlPatches } from "./patches";
import { validateCpu } from "./validate-cpu";
import { listeningPorts } from "./ports";
import {
  DomainSpec,
  isUnknown,
  NetworkSpec,
  PortForward,
  SerialSpec,
  Topology,
  VncSpec,
} from "./spec";

/**
 * Checks a domain spec before anything is touched. Values not known yet
 * (UNKNOWN) are skipped: the provider's check sees them again once known.
 * Throws InvalidArgumentError naming the argument, the value and the fix.
 */
export function validateDomainSpec(
  spec: DomainSpec,
  options: { vncPasswordSet?: boolean } = {},
): void {
  validateDomainName(spec.domainName);
  oneOf("domainType", spec.domainType, ["kvm", "qemu"], true);
  oneOf("hostVendor", spec.hostVendor, ["intel", "amd", "none"], true);
  wholeNumber("memoryMiB", spec.memoryMiB, 16, 16 * 1024 * 1024);
  wholeNumber("vcpus", spec.vcpus, 1, 4096);
  if (spec.maxMemoryMiB !== undefined) {
    wholeNumber("maxMemoryMiB", spec.maxMemoryMiB, 16, 16 * 1024 * 1024);
    if (known(spec.memoryMiB, spec.maxMemoryMiB) && spec.maxMemoryMiB < spec.memoryMiB) {
      throw new InvalidArgumentError(
        "maxMemoryMiB",
        spec.maxMemoryMiB,
        `at least memoryMiB (${spec.memoryMiB}), or nothing`,
      );
    }
  }
  if (spec.maxVcpus !== undefined) {
    wholeNumber("maxVcpus", spec.maxVcpus, 1, 4096);
    if (known(spec.vcpus, spec.maxVcpus) && spec.maxVcpus < spec.vcpus) {
      throw new InvalidArgumentError(
        "maxVcpus",
        spec.maxVcpus,
        `at least vcpus (${spec.vcpus}), or nothing`,
      );
    }
  }
  validateTopology(
    spec.topology,
    spec.maxVcpus ?? spec.vcpus,
    spec.maxVcpus === undefined ? "vcpus" : "maxVcpus",
  );
  validateCpu(spec);
  validateDisks(spec);
  validateNetworks(spec.networks);
  validateVnc(spec.vnc, options.vncPasswordSet ?? false);
  validateSerial(spec.serial);
  validateBoot(spec);
  optionalBoolean("autostart", spec.autostart);
  optionalBoolean("running", spec.running);
  if (spec.shutdownTimeoutSeconds !== undefined)
    wholeNumber("shutdownTimeoutSeconds", spec.shutdownTimeoutSeconds, 0, 3600);
  if (spec.ipWaitSeconds !== undefined) wholeNumber("ipWaitSeconds", spec.ipWaitSeconds, 0, 600);
  validateXmlPatches(spec.xmlPatches);
  validatePortsDistinct(spec);
}

/** A topology must describe exactly the maximum number of vCPUs (libvirt refuses anything else). */
export function validateTopology(
  topology: Topology | undefined,
  maxVcpus: number,
  vcpuArgument: string,
): void {
  if (topology === undefined || isUnknown(topology)) return;
  for (const key of ["sockets", "cores", "threads"] as const)
    wholeNumber(`topology.${key}`, topology[key], 1, 4096);
  if (topology.dies !== undefined) wholeNumber("topology.dies", topology.dies, 1, 4096);
  const parts = [topology.sockets, topology.dies ?? 1, topology.cores, topology.threads];
  if (parts.some(isUnknown) || isUnknown(maxVcpus)) return;
  const product = parts.reduce((a, b) => a * b, 1);
  if (product !== maxVcpus) {
    throw new InvalidArgumentError(
      "topology",
      topology,
      `sockets × dies × cores × threads = ${vcpuArgument} (${maxVcpus}); this one gives ${product}`,
    );
  }
}

const DISK_BUSES = ["virtio", "sata", "ide"] as const;

function validateDisks(spec: DomainSpec): void {
  const disks = spec.disks;
  if (isUnknown(disks)) return;
  if (!Array.isArray(disks))
    throw new InvalidArgumentError("disks", disks, "a list of disks ({ volume } or { path })");
  const perBus: Record<string, number> = {};
  disks.forEach((d, i) => {
    const arg = `disks[${i}]`;
    if (isUnknown(d)) return;
    if (d === null || typeof d !== "object")
      throw new InvalidArgumentError(arg, d, "{ volume: { pool, volumeName } } or { path }");
    const hasVolume = d.volume !== undefined;
    const hasPath = d.path !== undefined;
    if (hasVolume === hasPath) {
      throw new InvalidArgumentError(
        arg,
        d,
        "exactly one of volume (a ConvertedVolume, or { pool, volumeName }) and path",
      );
    }
    if (hasVolume && !isUnknown(d.volume)) {
      nonEmptyName(`${arg}.volume.pool`, d.volume?.pool, "a libvirt storage pool name");
      nonEmptyName(`${arg}.volume.volumeName`, d.volume?.volumeName, "a volume name in that pool");
    }
    if (hasPath) absolutePath(`${arg}.path`, d.path);
    oneOf(`${arg}.bus`, d.bus, DISK_BUSES, true);
    oneOf(`${arg}.device`, d.device, ["disk", "cdrom"], true);
    oneOf(`${arg}.format`, d.format, ["qcow2", "raw"], true);
    optionalBoolean(`${arg}.readonly`, d.readonly);
    if (d.readonly === true && d.bus === "sata" && (d.device ?? "disk") === "disk") {
      throw new InvalidArgumentError(
        `${arg}.readonly`,
        true,
        'false for a SATA disk (libvirt refuses read-only SATA disks; use bus "virtio" or "ide", or device "cdrom")',
      );
    }
    const bus = isUnknown(d.bus) ? "virtio" : (d.bus ?? "virtio");
    perBus[bus] = (perBus[bus] ?? 0) + 1;
    const limit = bus === "ide" ? 4 : 26;
    if (perBus[bus] > limit)
      throw new InvalidArgumentError(`${arg}.bus`, bus, `at most ${limit} disks on the ${bus} bus`);
  });
}

function validateNetworks(networks: readonly NetworkSpec[] | undefined): void {
  if (networks === undefined || isUnknown(networks)) return;
  if (!Array.isArray(networks))
    throw new InvalidArgumentError("networks", networks, "a list of interfaces");
  const macs = new Set<string>();
  const forwards = new Set<string>();
  networks.forEach((n, i) => {
    const arg = `networks[${i}]`;
    if (isUnknown(n)) return;
    const kinds = (["network", "bridge", "user"] as const).filter((k) => n[k] !== undefined);
    if (kinds.length !== 1) {
      throw new InvalidArgumentError(
        arg,
        n,
        "exactly one of network (a libvirt network), bridge (a host bridge) and user (QEMU user-mode networking)",
      );
    }
    if (n.network !== undefined)
      nonEmptyName(`${arg}.network`, n.network, "a libvirt network name");
    if (
      n.bridge !== undefined &&
      !isUnknown(n.bridge) &&
      (typeof n.bridge !== "string" || !/^[A-Za-z0-9_.-]{1,15}$/.test(n.bridge))
    ) {
      throw new InvalidArgumentError(
        `${arg}.bridge`,
        n.bridge,
        "a host bridge interface name (1 to 15 letters, digits, _ . -)",
      );
    }
    if (n.mac !== undefined && !isUnknown(n.mac)) {
      if (
        typeof n.mac !== "string" ||
        !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(n.mac) ||
        (parseInt(n.mac.slice(0, 2), 16) & 1) === 1
      ) {
        throw new InvalidArgumentError(
          `${arg}.mac`,
          n.mac,
          'a unicast MAC address such as "52:54:00:12:34:56"',
        );
      }
      const mac = n.mac.toLowerCase();
      if (macs.has(mac))
        throw new InvalidArgumentError(
          `${arg}.mac`,
          n.mac,
          "a MAC address not used by another interface",
        );
      macs.add(mac);
    }
    oneOf(`${arg}.model`, n.model, ["virtio", "e1000", "rtl8139"], true);
    if (
      n.user === undefined ||
      isUnknown(n.user) ||
      n.user.forwards === undefined ||
      isUnknown(n.user.forwards)
    )
      return;
    if (!Array.isArray(n.user.forwards))
      throw new InvalidArgumentError(
        `${arg}.user.forwards`,
        n.user.forwards,
        "a list of { hostPort, guestPort }",
      );
    n.user.forwards.forEach((f: PortForward, j: number) => {
      const farg = `${arg}.user.forwards[${j}]`;
      if (isUnknown(f)) return;
      tcpPort(`${farg}.hostPort`, f.hostPort);
      tcpPort(`${farg}.guestPort`, f.guestPort);
      if (f.hostAddress !== undefined) ipAddress(`${farg}.hostAddress`, f.hostAddress);
      oneOf(`${farg}.protocol`, f.protocol, ["tcp", "udp"], true);
      const key = `${f.protocol ?? "tcp"}:${f.hostAddress ?? "127.0.0.1"}:${f.hostPort}`;
      if (forwards.has(key))
        throw new InvalidArgumentError(
          `${farg}.hostPort`,
          f.hostPort,
          "a host port not forwarded twice",
        );
      forwards.add(key);
    });
  });
}

/** The VNC protocol's password authentication uses at most 8 characters. */
export const VNC_PASSWORD_MAX = 8;

function validateVnc(vnc: VncSpec | undefined, passwordSet: boolean): void {
  if (vnc === undefined || isUnknown(vnc)) return;
  if (vnc === null || typeof vnc !== "object")
    throw new InvalidArgumentError("vnc", vnc, "{ listen?, port? | display? | autoport? }");
  const listen = vnc.listen ?? "127.0.0.1";
  ipAddress("vnc.listen", listen);
  const chosen = [vnc.port !== undefined, vnc.display !== undefined, vnc.autoport === true].filter(
    Boolean,
  ).length;
  if (chosen > 1)
    throw new InvalidArgumentError("vnc", vnc, "at most one of port, display and autoport: true");
  if (vnc.port !== undefined) wholeNumber("vnc.port", vnc.port, 5900, 65535);
  if (vnc.display !== undefined) wholeNumber("vnc.display", vnc.display, 0, 65535 - 5900);
  optionalBoolean("vnc.autoport", vnc.autoport);
  if (vnc.autoport === false && vnc.port === undefined && vnc.display === undefined) {
    throw new InvalidArgumentError("vnc.autoport", false, "true, or a port or display when false");
  }
  if (!isUnknown(listen) && !isLoopback(listen) && !passwordSet) {
    throw new InvalidArgumentError(
      "vnc.listen",
      listen,
      "127.0.0.1 (the default), or set vnc.password as a Pulumi secret (`pulumi config set --secret vncPassword …`) to listen on a non-local address",
    );
  }
}

/** A VNC password: 1 to 8 characters. The value is never shown in the error. */
export function validateVncPassword(password: unknown): void {
  if (password === undefined || password === null || isUnknown(password)) return;
  if (typeof password !== "string" || password.length === 0 || password.length > VNC_PASSWORD_MAX) {
    throw new InvalidArgumentError(
      "vnc.password",
      "(secret)",
      `1 to ${VNC_PASSWORD_MAX} characters (VNC authentication uses at most 8)`,
    );
  }
}

function validateSerial(serial: SerialSpec | undefined): void {
  if (serial === undefined || isUnknown(serial)) return;
  if (serial === null || typeof serial !== "object")
    throw new InvalidArgumentError(
      "serial",
      serial,
      '{ type: "tcp", port } | { type: "pty" } | { type: "unix", path } | { type: "file", path }',
    );
  oneOf("serial.type", serial.type, ["tcp", "pty", "unix", "file"], false);
  switch (serial.type) {
    case "tcp": {
      const host = serial.host ?? "127.0.0.1";
      ipAddress("serial.host", host);
      tcpPort("serial.port", serial.port);
      optionalBoolean("serial.allowRemote", serial.allowRemote);
      // Like VNC without a password: nothing on the network unless asked for.
      if (!isUnknown(host) && !isLoopback(host) && serial.allowRemote !== true) {
        throw new InvalidArgumentError(
          "serial.host",
          host,
          "127.0.0.1 (the default) or another loopback address, or set serial.allowRemote: true to listen on the network anyway (a serial console has no authentication: whoever reaches the port gets the guest's console; an SSH tunnel to 127.0.0.1 keeps it private)",
        );
      }
      return;
    }
    case "pty":
      return;
    case "unix":
    case "file":
      absolutePath("serial.path", serial.path);
      return;
    default:
      return assertNever(serial);
  }
}

function validateBoot(spec: DomainSpec): void {
  const boot = spec.boot;
  if (boot === undefined || isUnknown(boot)) return;
  absolutePath("boot.kernel", boot.kernel);
  if (boot.initrd !== undefined) absolutePath("boot.initrd", boot.initrd);
  if (boot.cmdline !== undefined && !isUnknown(boot.cmdline)) {
    // eslint-disable-next-line no-control-regex
    if (typeof boot.cmdline !== "string" || /[\u0000-\u001f]/.test(boot.cmdline)) {
      throw new InvalidArgumentError(
        "boot.cmdline",
        boot.cmdline,
        "a kernel command line on one line",
      );
    }
  }
}

/** No two things listen on one TCP port (whatever their addresses: libvirt would refuse one). */
function validatePortsDistinct(spec: DomainSpec): void {
  const used = new Map<number, string>();
  for (const p of listeningPorts(spec)) {
    if (p.protocol !== "tcp") continue;
    const other = used.get(p.port);
    if (other)
      throw new InvalidArgumentError(p.argument, p.port, `a port not already used by ${other}`);
    used.set(p.port, p.argument);
  }
}

function known(...values: unknown[]): boolean {
  return !values.some(isUnknown);
}

import { resolveDomainSpec } from "../../../components/domain/resolve";
import { DomainSpec, UNKNOWN } from "../../../components/domain/spec";
import { validateDomainSpec, validateVncPassword } from "../../../components/domain/validate";

const ok: DomainSpec = {
  domainName: "nlt-domain-unit",
  memoryMiB: 256,
  vcpus: 1,
  cpu: { mode: "custom", model: "qemu64" },
  disks: [{ path: "/var/lib/libvirt/images/a.qcow2" }],
  owner: "p/s/n",
};

describe("validateDomainSpec", () => {
  it("accepts a small valid domain", () => {
    expect(() => validateDomainSpec(ok)).not.toThrow();
  });

  it.each<[string, Partial<DomainSpec> | Record<string, unknown>, string]>([
    [
      "an empty name",
      { domainName: "" },
      'domainName: "" is not valid; expected a libvirt domain name: 1 to 200 characters, not starting with "-", no "/", no newline or other control characters, not only digits and not shaped like a UUID.',
    ],
    [
      "a name with a slash",
      { domainName: "a/b" },
      'domainName: "a/b" is not valid; expected a libvirt domain name: 1 to 200 characters, not starting with "-", no "/", no newline or other control characters, not only digits and not shaped like a UUID.',
    ],
    [
      "a name with a newline",
      { domainName: "a\nb" },
      'domainName: "a\\nb" is not valid; expected a libvirt domain name: 1 to 200 characters, not starting with "-", no "/", no newline or other control characters, not only digits and not shaped like a UUID.',
    ],
    [
      "a name virsh takes for an id",
      { domainName: "42" },
      'domainName: "42" is not valid; expected a libvirt domain name: 1 to 200 characters, not starting with "-", no "/", no newline or other control characters, not only digits and not shaped like a UUID.',
    ],
    [
      "a name shaped like a UUID",
      { domainName: "0f8fad5b-d9cb-469f-a165-70867728950e" },
      'domainName: "0f8fad5b-d9cb-469f-a165-70867728950e" is not valid; expected a libvirt domain name: 1 to 200 characters, not starting with "-", no "/", no newline or other control characters, not only digits and not shaped like a UUID.',
    ],
    [
      "fractional memory",
      { memoryMiB: 256.5 },
      "memoryMiB: 256.5 is not valid; expected a whole number from 16 to 16777216.",
    ],
    [
      "a memory ceiling below memory",
      { maxMemoryMiB: 128 },
      "maxMemoryMiB: 128 is not valid; expected at least memoryMiB (256), or nothing.",
    ],
    ["zero vCPUs", { vcpus: 0 }, "vcpus: 0 is not valid; expected a whole number from 1 to 4096."],
    [
      "a topology that does not give the vCPUs",
      { vcpus: 4, topology: { sockets: 2, cores: 1, threads: 1 } },
      'topology: {"sockets":2,"cores":1,"threads":1} is not valid; expected sockets × dies × cores × threads = vcpus (4); this one gives 2.',
    ],
    [
      "a topology that does not give maxVcpus",
      { vcpus: 2, maxVcpus: 4, topology: { sockets: 2, cores: 1, threads: 1 } },
      'topology: {"sockets":2,"cores":1,"threads":1} is not valid; expected sockets × dies × cores × threads = maxVcpus (4); this one gives 2.',
    ],
    [
      "custom without a model",
      { cpu: { mode: "custom" } },
      'cpu.model: (nothing) is not valid; expected a CPU model name for mode "custom", e.g. "qemu64", "EPYC" or "Haswell" (`virsh cpu-models x86_64` lists them).',
    ],
    [
      "a model with host-model",
      { cpu: { mode: "host-model", model: "EPYC" } },
      'cpu.model: "EPYC" is not valid; expected nothing for mode "host-model" (a model is only chosen with mode "custom").',
    ],
    [
      "an unknown mode",
      { cpu: { mode: "maximum" } },
      'cpu.mode: "maximum" is not valid; expected one of "host-passthrough", "host-model", "custom".',
    ],
    [
      "a bad feature policy",
      { cpu: { mode: "custom", model: "qemu64", features: [{ name: "svm", policy: "must" }] } },
      'cpu.features[0].policy: "must" is not valid; expected one of "force", "require", "optional", "disable", "forbid".',
    ],
    [
      "a disk with both volume and path",
      { disks: [{ path: "/a", volume: { pool: "p", volumeName: "v" } }] },
      'disks[0]: {"path":"/a","volume":{"pool":"p","volumeName":"v"}} is not valid; expected exactly one of volume (a ConvertedVolume, or { pool, volumeName }) and path.',
    ],
    [
      "a relative disk path",
      { disks: [{ path: "a.qcow2" }] },
      'disks[0].path: "a.qcow2" is not valid; expected an absolute path on the libvirt host.',
    ],
    [
      "a scsi disk",
      { disks: [{ path: "/a", bus: "scsi" }] },
      'disks[0].bus: "scsi" is not valid; expected one of "virtio", "sata", "ide".',
    ],
    [
      "a read-only SATA disk",
      { disks: [{ path: "/a", bus: "sata", readonly: true }] },
      'disks[0].readonly: true is not valid; expected false for a SATA disk (libvirt refuses read-only SATA disks; use bus "virtio" or "ide", or device "cdrom").',
    ],
    [
      "a fifth IDE disk",
      { disks: ["a", "b", "c", "d", "e"].map((n) => ({ path: `/${n}`, bus: "ide" })) },
      'disks[4].bus: "ide" is not valid; expected at most 4 disks on the ide bus.',
    ],
    [
      "a NIC on both a network and a bridge",
      { networks: [{ network: "default", bridge: "br0" }] },
      'networks[0]: {"network":"default","bridge":"br0"} is not valid; expected exactly one of network (a libvirt network), bridge (a host bridge) and user (QEMU user-mode networking).',
    ],
    [
      "a multicast MAC",
      { networks: [{ network: "default", mac: "01:00:5e:00:00:01" }] },
      'networks[0].mac: "01:00:5e:00:00:01" is not valid; expected a unicast MAC address such as "52:54:00:12:34:56".',
    ],
    [
      "a forward to port 0",
      { networks: [{ user: { forwards: [{ hostPort: 0, guestPort: 22 }] } }] },
      "networks[0].user.forwards[0].hostPort: 0 is not valid; expected a whole number from 1 to 65535.",
    ],
    [
      "VNC on all addresses without a password",
      { vnc: { listen: "0.0.0.0" } },
      'vnc.listen: "0.0.0.0" is not valid; expected 127.0.0.1 (the default), or set vnc.password as a Pulumi secret (`pulumi config set --secret vncPassword …`) to listen on a non-local address.',
    ],
    [
      "VNC with a port and a display",
      { vnc: { port: 5920, display: 20 } },
      'vnc: {"port":5920,"display":20} is not valid; expected at most one of port, display and autoport: true.',
    ],
    [
      "a VNC port below 5900",
      { vnc: { port: 22 } },
      "vnc.port: 22 is not valid; expected a whole number from 5900 to 65535.",
    ],
    [
      "one port for VNC and serial",
      { vnc: { display: 20 }, serial: { type: "tcp", port: 5920 } },
      "serial.port: 5920 is not valid; expected a port not already used by vnc.display.",
    ],
    [
      "a serial console on a host name",
      { serial: { type: "tcp", host: "localhost", port: 4555 } },
      'serial.host: "localhost" is not valid; expected an IPv4 address such as "127.0.0.1" (or "0.0.0.0" for all), "::1" or "::".',
    ],
    [
      "a relative kernel",
      { boot: { kernel: "vmlinuz" } },
      'boot.kernel: "vmlinuz" is not valid; expected an absolute path on the libvirt host.',
    ],
    [
      "a broken XPath",
      { xmlPatches: [{ op: "remove", xpath: "/domain/[" }] },
      'xmlPatches[0].xpath: "/domain/[" is not valid; expected an XPath expression',
    ],
    [
      "an add patch with broken XML",
      { xmlPatches: [{ op: "add", xpath: "/domain/devices", xml: "<watchdog" }] },
      'xmlPatches[0].xml: "<watchdog" is not valid; expected one well-formed XML element, e.g. "<watchdog model=\'i6300esb\'/>".',
    ],
  ])("refuses %s", (_what, change, message) => {
    expect(() => validateDomainSpec({ ...ok, ...change } as DomainSpec)).toThrow(message);
  });

  it("allows a non-local VNC listen when a password is set", () => {
    expect(() =>
      validateDomainSpec(
        { ...ok, vnc: { listen: "0.0.0.0", display: 20 } },
        { vncPasswordSet: true },
      ),
    ).not.toThrow();
  });

  it("skips values that are not known yet", () => {
    const spec = {
      ...ok,
      domainName: UNKNOWN,
      memoryMiB: UNKNOWN,
      disks: [{ volume: UNKNOWN }],
      topology: { sockets: UNKNOWN, cores: 1, threads: 1 },
    };
    expect(() => validateDomainSpec(spec as unknown as DomainSpec)).not.toThrow();
  });
});

describe("validateVncPassword", () => {
  it("refuses a password longer than VNC's 8 characters without showing it", () => {
    expect(() => validateVncPassword("123456789")).toThrow(
      'vnc.password: "(secret)" is not valid; expected 1 to 8 characters (VNC authentication uses at most 8).',
    );
  });
});

describe("the domain type's limits on the CPU", () => {
  it("refuses host-passthrough under TCG with the advice to use custom with an AMD model", () => {
    expect(() =>
      resolveDomainSpec(
        { ...ok, cpu: { mode: "host-passthrough" } },
        { domainType: "qemu", hostVendor: "amd" },
        false,
      ),
    ).toThrow(
      'cpu.mode: "host-passthrough" is not valid; expected a mode this host can give: it has no usable KVM, so the domain runs under TCG emulation (domain type "qemu"), which has no host CPU to pass through. Use { mode: "custom", model: "qemu64" } (or another AMD model that `virsh domcapabilities` lists as usable): TCG emulates SVM, so the guest can still run KVM.',
    );
  });

  it("refuses a required vmx under TCG", () => {
    expect(() =>
      resolveDomainSpec(
        {
          ...ok,
          cpu: { mode: "custom", model: "qemu64", features: [{ name: "vmx", policy: "require" }] },
        },
        { domainType: "qemu", hostVendor: "intel" },
        false,
      ),
    ).toThrow(
      'cpu.features: {"name":"vmx","policy":"require"} is not valid; expected features TCG can emulate: it emulates AMD SVM, not Intel VMX. Require "svm" with an AMD or generic model (e.g. "qemu64").',
    );
  });

  it("refuses a nested KVM domain on a host whose CPU has neither vmx nor svm", () => {
    expect(() => resolveDomainSpec(ok, { domainType: "kvm", hostVendor: "none" }, false)).toThrow(
      'hostVendor: "none" is not valid; expected "intel" or "amd": the host CPU has neither VMX nor SVM, so a KVM domain cannot be nested-capable (set cpu.nested: false, or use domainType "qemu").',
    );
  });
});

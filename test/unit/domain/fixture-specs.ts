import { DomainSpec } from "../../../components/domain/spec";
import { HostFacts } from "../../../components/domain/resolve";

/**
 * Domain specs shared by the unit tests (rendering, normalising) and the
 * integration test that captures libvirt's stored XML for each of them into
 * ./fixtures/<name>.inactive.xml (`virsh dumpxml --inactive` after `virsh
 * define`, on libvirt 9.0). Paths need not exist: libvirt checks them only
 * at start.
 */
export interface FixtureSpec {
  readonly spec: DomainSpec;
  readonly facts: HostFacts;
  readonly vncPasswordSet: boolean;
}

const TCG: HostFacts = { domainType: "qemu", hostVendor: "amd" };

export const FIXTURE_SPECS: Readonly<Record<string, FixtureSpec>> = {
  // The seed's classroom host, shrunk: qemu64 + the nested flag, 4 sockets, VNC, serial on TCP,
  // a NAT network and a user-mode NIC with SSH forwarded to loopback.
  "custom-svm": {
    facts: TCG,
    vncPasswordSet: false,
    spec: {
      domainName: "nlt-domain-fixture-custom",
      memoryMiB: 256,
      maxMemoryMiB: 512,
      vcpus: 2,
      maxVcpus: 4,
      topology: { sockets: 4, cores: 1, threads: 1 },
      cpu: { mode: "custom", model: "qemu64" },
      disks: [
        { path: "/var/lib/nestlab-fixture/jiaoshiji.qcow2" },
        { path: "/var/lib/nestlab-fixture/data.qcow2", bus: "sata" },
        { path: "/var/lib/nestlab-fixture/rhel7.iso", bus: "ide", device: "cdrom" },
      ],
      networks: [
        { network: "default" },
        { user: { forwards: [{ hostPort: 47222, guestPort: 22 }] } },
      ],
      vnc: {},
      serial: { type: "tcp", port: 47201 },
      owner: "nestlab/fixture/custom",
    },
  },
  // host-model, a bridge, VNC on display 20 for everyone (with a password), a pty, direct kernel boot.
  "host-model-bridge": {
    facts: TCG,
    vncPasswordSet: true,
    spec: {
      domainName: "nlt-domain-fixture-hostmodel",
      memoryMiB: 1024,
      vcpus: 1,
      cpu: { mode: "host-model", features: [{ name: "pdpe1gb", policy: "optional" }] },
      disks: [
        { path: "/var/lib/nestlab-fixture/disk.raw", format: "raw", bus: "virtio", readonly: true },
      ],
      networks: [{ bridge: "br-nestlab", mac: "52:54:00:aa:bb:cc", model: "e1000" }],
      vnc: { listen: "0.0.0.0", display: 20 },
      serial: { type: "pty" },
      boot: {
        kernel: "/var/lib/nestlab-fixture/vmlinuz",
        initrd: "/var/lib/nestlab-fixture/initrd.img",
        cmdline: "console=ttyS0 quiet",
      },
      owner: "nestlab/fixture/host-model",
    },
  },
  // A pool volume, a unix-socket console, and patches for what the typed arguments don't cover.
  "volume-patched": {
    facts: TCG,
    vncPasswordSet: false,
    spec: {
      domainName: "nlt-domain-fixture-volume",
      memoryMiB: 256,
      vcpus: 1,
      cpu: {
        mode: "custom",
        model: "Opteron_G2",
        features: [
          { name: "svm", policy: "require" },
          { name: "x2apic", policy: "disable" },
        ],
      },
      disks: [{ volume: { pool: "nlt-domain-fixture-pool", volumeName: "disk.qcow2" } }],
      serial: { type: "unix", path: "/run/nestlab-fixture/console.sock" },
      xmlPatches: [
        { op: "add", xpath: "/domain/devices", xml: "<watchdog model='i6300esb' action='reset'/>" },
        { op: "set", xpath: "/domain/on_crash", value: "restart" },
        { op: "remove", xpath: "/domain/features/apic" },
      ],
      owner: "nestlab/fixture/volume",
    },
  },
};

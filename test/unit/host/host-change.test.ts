import { provider as domain } from "../../../components/domain/provider";
import { renderDomainXml } from "../../../components/domain/render";
import { resolveDomainSpec } from "../../../components/domain/resolve";
import { DomainSpec } from "../../../components/domain/spec";
import { HostSpec } from "../../../components/host/connection";
import { provider as labMachine } from "../../../components/lab/lab-machine-provider";
import { provider as nested } from "../../../components/nested/provider";
import { provider as network } from "../../../components/network/provider";
import { provider as pool } from "../../../components/volume/pool-provider";
import { provider as volume } from "../../../components/volume/provider";

// One rule for what a change of `host` means, whatever the resource: another
// hypervisor replaces it, another way to reach the same one updates it in
// place, and a rotated key is taken into the state.

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nold\n-----END OPENSSH PRIVATE KEY-----\n";
const NEW_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnew\n-----END OPENSSH PRIVATE KEY-----\n";
const hv1: HostSpec = {
  libvirtUri: "qemu:///system",
  rootDir: "",
  ssh: { host: "hv1.example", port: 22, user: "root", connectTimeoutSeconds: 15 },
};
const ssh = hv1.ssh!;

interface Change {
  readonly host: HostSpec;
  readonly sshPrivateKey: string | undefined;
}

const CHANGES: readonly [string, Change][] = [
  ["nothing", { host: hv1, sshPrivateKey: KEY }],
  ["ssh.port 22 -> 2222", { host: { ...hv1, ssh: { ...ssh, port: 2222 } }, sshPrivateKey: KEY }],
  [
    "ssh.user root -> admin",
    { host: { ...hv1, ssh: { ...ssh, user: "admin" } }, sshPrivateKey: KEY },
  ],
  [
    "ssh.knownHosts pinned",
    {
      host: { ...hv1, ssh: { ...ssh, knownHosts: "hv1.example ssh-ed25519 AAAA" } },
      sshPrivateKey: KEY,
    },
  ],
  [
    "ssh.connectTimeoutSeconds 15 -> 30",
    { host: { ...hv1, ssh: { ...ssh, connectTimeoutSeconds: 30 } }, sshPrivateKey: KEY },
  ],
  ["sshPrivateKey rotated", { host: hv1, sshPrivateKey: NEW_KEY }],
  [
    "ssh.host to another machine",
    { host: { ...hv1, ssh: { ...ssh, host: "hv2.example" } }, sshPrivateKey: KEY },
  ],
  [
    "libvirtUri system -> session",
    { host: { ...hv1, libvirtUri: "qemu:///session" }, sshPrivateKey: KEY },
  ],
  ["rootDir set", { host: { ...hv1, rootDir: "/srv/tree" }, sshPrivateKey: KEY }],
  [
    "SSH host -> this machine",
    { host: { libvirtUri: "qemu:///system", rootDir: "" }, sshPrivateKey: undefined },
  ],
];

type Outcome = "none" | "update" | "replace";
const EXPECTED: Readonly<Record<string, Outcome>> = {
  nothing: "none",
  "ssh.port 22 -> 2222": "update",
  "ssh.user root -> admin": "update",
  "ssh.knownHosts pinned": "update",
  "ssh.connectTimeoutSeconds 15 -> 30": "update",
  "sshPrivateKey rotated": "update",
  "ssh.host to another machine": "replace",
  "libvirtUri system -> session": "replace",
  "rootDir set": "replace",
  "SSH host -> this machine": "replace",
};

const DOMAIN: DomainSpec = {
  domainName: "classroom",
  memoryMiB: 256,
  vcpus: 1,
  cpu: { mode: "custom", model: "qemu64" },
  disks: [{ path: "/var/lib/nestlab/classroom.qcow2" }],
  owner: "nestlab/test/host-change",
};
const DOMAIN_INPUTS = {
  ...DOMAIN,
  resolvedDomainType: "qemu",
  resolvedHostVendor: "amd",
  xml: renderDomainXml(resolveDomainSpec(DOMAIN, { domainType: "qemu", hostVendor: "amd" }, false)),
};

/** Each provider's state on hv1 and its inputs for the same resource on `change`. */
interface Subject {
  readonly diff: (olds: Record<string, unknown>, news: Record<string, unknown>) => Promise<unknown>;
  readonly state: Record<string, unknown>;
  readonly inputs: Record<string, unknown>;
  /** deleteBeforeReplace as the provider reports it when the host changes. */
  readonly deleteBeforeReplace: (outcome: Outcome) => boolean;
}

const SUBJECTS: Readonly<Record<string, Subject>> = {
  ConvertedVolume: {
    diff: (o, n) => volume.diff("id", o as never, n as never),
    state: {
      resourceName: "classroom",
      source: "/srv/RHEL7_Server-000002.vmdk",
      pool: "default",
      volumeName: "classroom.qcow2",
      mode: "flatten",
      compression: false,
      convert: true,
      sourceFingerprint: { "/srv/RHEL7_Server-000002.vmdk": "size=1 inode=2" },
      path: "/var/lib/libvirt/images/classroom.qcow2",
      inode: "12",
      chain: [],
    },
    inputs: {
      resourceName: "classroom",
      source: "/srv/RHEL7_Server-000002.vmdk",
      pool: "default",
      volumeName: "classroom.qcow2",
      mode: "flatten",
      compression: false,
      convert: true,
      sourceFingerprint: { "/srv/RHEL7_Server-000002.vmdk": "size=1 inode=2" },
    },
    // The new volume takes the same pool and name: the old one goes first.
    deleteBeforeReplace: (o) => o === "replace",
  },
  StoragePool: {
    diff: (o, n) => pool.diff("id", o as never, n as never),
    state: { pool: "nestlab", path: "/var/lib/libvirt/images/nestlab" },
    inputs: { pool: "nestlab", path: "/var/lib/libvirt/images/nestlab" },
    deleteBeforeReplace: (o) => o === "replace",
  },
  NestedVirtualization: {
    diff: (o, n) => nested.diff("id", o as never, n as never),
    state: {
      mode: "check",
      restoreOnDelete: false,
      vendor: "amd",
      module: "kvm_amd",
      moduleState: "loaded",
      nested: true,
      persisted: null,
      nestedAfterReboot: true,
      pendingReboot: false,
      settings: [],
      conflicts: [],
    },
    inputs: { mode: "check", restoreOnDelete: false },
    deleteBeforeReplace: () => true,
  },
  Network: {
    diff: (o, n) => network.diff("id", o as never, n as never),
    state: {
      networkName: "nestlab",
      mode: "nat",
      address: "192.168.150.1",
      prefixLength: 24,
      dhcp: { start: "192.168.150.10", end: "192.168.150.99" },
      autostart: true,
      uuid: "6a0f3c1e-1111-4222-8333-944455556666",
      bridge: "virbr9",
      active: true,
    },
    inputs: {
      networkName: "nestlab",
      mode: "nat",
      address: "192.168.150.1",
      prefixLength: 24,
      dhcp: { start: "192.168.150.10", end: "192.168.150.99" },
      autostart: true,
    },
    deleteBeforeReplace: () => true,
  },
  NestedDomain: {
    diff: (o, n) => domain.diff("id", o as never, n as never),
    state: {
      ...DOMAIN_INPUTS,
      uuid: "0c6f4a52-9d3e-4b8e-8f5e-2f1a3b4c5d6e",
      state: "running",
      vncAddress: null,
      serialAddress: null,
      ipAddresses: [],
    },
    inputs: DOMAIN_INPUTS,
    deleteBeforeReplace: () => true,
  },
  LabMachine: {
    diff: (o, n) => labMachine.diff("id", o as never, n as never),
    state: {
      domainName: "server",
      bootTimeoutSeconds: 300,
      shutdownTimeoutSeconds: 60,
      state: "running",
    },
    inputs: { domainName: "server", bootTimeoutSeconds: 300, shutdownTimeoutSeconds: 60 },
    deleteBeforeReplace: () => true,
  },
};

describe.each(Object.entries(SUBJECTS))("%s diff on a host change", (_kind, subject) => {
  it.each(CHANGES)("%s", async (name, change) => {
    const outcome = EXPECTED[name];
    const olds = { ...subject.state, host: hv1, sshPrivateKey: KEY };
    const news = { ...subject.inputs, host: change.host, sshPrivateKey: change.sshPrivateKey };
    expect(await subject.diff(olds, news)).toEqual({
      changes: outcome !== "none",
      replaces: outcome === "replace" ? ["host"] : [],
      deleteBeforeReplace: subject.deleteBeforeReplace(outcome),
    });
  });
});

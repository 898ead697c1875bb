import * as pulumi from "@pulumi/pulumi";
import { recordResources, value } from "../../support/mocks";

recordResources({
  "pulumi-nodejs:dynamic/nestlab:NestedVirtualization": { vendor: "amd" },
  "pulumi-nodejs:dynamic/nestlab:NestedDomain": { vncAddress: "127.0.0.1:5920" },
});

// What each resource asks the engine for, as the engine receives it: the
// registration request's protect and retainOnDelete flags.
interface Flags {
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
}
const flags = new Map<string, Flags>();
type Request = {
  getType(): string;
  getName(): string;
  getProtect(): boolean;
  getRetainondelete(): boolean;
};
const monitor = pulumi.runtime.getMonitor() as unknown as {
  registerResource(req: Request, callback: unknown): unknown;
};
const register = monitor.registerResource.bind(monitor);
monitor.registerResource = (req, callback) => {
  flags.set(`${req.getType()} ${req.getName()}`, {
    protect: req.getProtect(),
    retainOnDelete: req.getRetainondelete(),
  });
  return register(req, callback);
};

// Imported after setMocks, as the Pulumi docs require.
import { ConvertedVolume, NestedDomain, RhceLab } from "../../../components";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n-----END OPENSSH PRIVATE KEY-----\n";

beforeEach(() => flags.clear());

/** The custom resources (the ones the engine deletes), with their flags. */
function customResources(): Record<string, Flags> {
  return Object.fromEntries(
    [...flags].filter(([k]) => k.startsWith("pulumi-nodejs:dynamic/")).sort(),
  );
}

const lab = (name: string, opts: pulumi.ComponentResourceOptions) =>
  new RhceLab(
    name,
    {
      source: "/images/RHEL7_Server-000002.vmdk",
      pool: "nestlab",
      poolPath: "/var/lib/libvirt/images/nestlab",
      natNetwork: { networkName: "nestlab", address: "192.168.150.1" },
      classroom: { sshPort: 2222 },
      labMachines: { sshPrivateKey: KEY, sshHostPublicKey: "ssh-ed25519 AAAA" },
    },
    opts,
  );

async function settled(l: RhceLab): Promise<void> {
  await value(
    pulumi.all([
      l.volume.path,
      l.classroom.state,
      l.nested!.vendor,
      ...Object.values(l.labMachines).map((m) => m.state),
    ]),
  );
}

describe("retainOnDelete and protect on a component", () => {
  it.each([
    [{ retainOnDelete: true }, { protect: false, retainOnDelete: true }],
    [{ protect: true }, { protect: true, retainOnDelete: false }],
  ])("RhceLab %j reaches every resource of the lab", async (opts, expected) => {
    await settled(lab("rl", opts));
    expect(customResources()).toEqual({
      "pulumi-nodejs:dynamic/nestlab:ConvertedVolume rl-disk": expected,
      "pulumi-nodejs:dynamic/nestlab:LabMachine rl-lab-classroom": expected,
      "pulumi-nodejs:dynamic/nestlab:LabMachine rl-lab-desktop": expected,
      "pulumi-nodejs:dynamic/nestlab:LabMachine rl-lab-server": expected,
      "pulumi-nodejs:dynamic/nestlab:Network rl-network": expected,
      "pulumi-nodejs:dynamic/nestlab:NestedDomain rl-classroom": expected,
      "pulumi-nodejs:dynamic/nestlab:NestedVirtualization rl-nested": expected,
      "pulumi-nodejs:dynamic/nestlab:StoragePool rl-disk-pool": expected,
    });
  });

  it("is not set by default", async () => {
    await settled(lab("rd", {}));
    const all = Object.values(customResources());
    expect(all).toHaveLength(8);
    expect(new Set(all.map((f) => JSON.stringify(f)))).toEqual(
      new Set([JSON.stringify({ protect: false, retainOnDelete: false })]),
    );
  });

  it("NestedDomain and ConvertedVolume on their own hand it to their resource", async () => {
    const disk = new ConvertedVolume(
      "cv",
      { source: "/images/a.vmdk", pool: "default" },
      { retainOnDelete: true },
    );
    const domain = new NestedDomain(
      "nd",
      {
        domainName: "nd",
        memoryMiB: 256,
        vcpus: 1,
        cpu: { mode: "custom", model: "qemu64" },
        disks: [{ volume: disk }],
      },
      { retainOnDelete: true },
    );
    await value(pulumi.all([disk.path, domain.state]));
    expect(customResources()).toEqual({
      "pulumi-nodejs:dynamic/nestlab:ConvertedVolume cv": { protect: false, retainOnDelete: true },
      "pulumi-nodejs:dynamic/nestlab:NestedDomain nd": { protect: false, retainOnDelete: true },
    });
  });
});

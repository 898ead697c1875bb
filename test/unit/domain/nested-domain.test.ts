import * as pulumi from "@pulumi/pulumi";
import { recordResources, value } from "../../support/mocks";

const registered = recordResources({
  "pulumi-nodejs:dynamic/nestlab:NestedDomain": {
    uuid: "6d1f3f1e-0000-4000-8000-000000000005",
    state: "running",
    vncAddress: "127.0.0.1:5920",
    serialAddress: "127.0.0.1:4555",
    macs: ["52:54:00:11:22:33"],
    ipAddresses: [],
    xml: "<domain/>",
  },
  "test:volume:Volume": {
    pool: "nlt-pool",
    volumeName: "jiaoshiji.qcow2",
    path: "/var/lib/nlt-pool/jiaoshiji.qcow2",
    format: "qcow2",
  },
});

// Imported after setMocks, as the Pulumi docs require.
import { NestedDomain } from "../../../components/domain";

/** A stand-in for ConvertedVolume: a custom resource with pool and volumeName outputs (and more). */
class Volume extends pulumi.CustomResource {
  declare readonly pool: pulumi.Output<string>;
  declare readonly volumeName: pulumi.Output<string>;
  declare readonly path: pulumi.Output<string>;
  constructor(name: string) {
    super("test:volume:Volume", name, {
      pool: undefined,
      volumeName: undefined,
      path: undefined,
      format: undefined,
    });
  }
}

function shown(): { type: string; name: string; inputs: Record<string, unknown> }[] {
  return registered.map((r) => {
    const { __provider, ...inputs } = r.inputs;
    return {
      type: r.type,
      name: r.name,
      inputs: r.type.startsWith("pulumi-nodejs")
        ? { ...inputs, __provider: typeof __provider }
        : inputs,
    };
  });
}

beforeEach(() => {
  registered.length = 0;
});

describe("NestedDomain", () => {
  test("registers the component and one dynamic resource named after it, with the volume's pool and name and the VNC password apart", async () => {
    const volume = new Volume("jiaoshiji-disk");
    const domain = new NestedDomain("jiaoshiji", {
      domainName: "jiaoshiji",
      memoryMiB: 8096,
      vcpus: 4,
      topology: { sockets: 4, cores: 1, threads: 1 },
      cpu: { mode: "custom", model: "qemu64" },
      disks: [{ volume, bus: "sata" }],
      networks: [{ user: { forwards: [{ hostPort: 2222, guestPort: 22 }] } }],
      vnc: { listen: "0.0.0.0", display: 20, password: pulumi.secret("s3cret") },
      serial: { type: "tcp", port: 4555 },
    });
    expect(await value(domain.uuid)).toBe("6d1f3f1e-0000-4000-8000-000000000005");
    expect(await value(domain.vncAddress)).toBe("127.0.0.1:5920");
    const secret = (v: unknown) => ({
      [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
      value: v,
    });
    expect(shown().sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      { type: "nestlab:domain:NestedDomain", name: "jiaoshiji", inputs: {} },
      {
        type: "pulumi-nodejs:dynamic/nestlab:NestedDomain",
        name: "jiaoshiji",
        inputs: {
          __provider: "string",
          host: { libvirtUri: "qemu:///system", rootDir: "" },
          domainName: "jiaoshiji",
          memoryMiB: 8096,
          vcpus: 4,
          topology: { sockets: 4, cores: 1, threads: 1 },
          cpu: { mode: "custom", model: "qemu64" },
          disks: [{ bus: "sata", volume: { pool: "nlt-pool", volumeName: "jiaoshiji.qcow2" } }],
          networks: [{ user: { forwards: [{ hostPort: 2222, guestPort: 22 }] } }],
          vnc: { listen: "0.0.0.0", display: 20 },
          vncPassword: secret("s3cret"),
          sshPrivateKey: secret(null),
          serial: { type: "tcp", port: 4555 },
          owner: "nestlab/test/jiaoshiji",
        },
      },
      { type: "test:volume:Volume", name: "jiaoshiji-disk", inputs: {} },
    ]);
  });

  test("refuses bad arguments at construction, before anything is registered below it", () => {
    expect(
      () =>
        new NestedDomain("bad", {
          domainName: "jiaoshiji",
          memoryMiB: 256,
          vcpus: 4,
          topology: { sockets: 2, cores: 1, threads: 1 },
          cpu: { mode: "custom", model: "qemu64" },
          disks: [],
        }),
    ).toThrow(
      'topology: {"sockets":2,"cores":1,"threads":1} is not valid; expected sockets × dies × cores × threads = vcpus (4); this one gives 2.',
    );
    expect(
      () =>
        new NestedDomain("open-vnc", {
          domainName: "x",
          memoryMiB: 256,
          vcpus: 1,
          cpu: { mode: "host-model" },
          disks: [],
          vnc: { listen: "0.0.0.0" },
        }),
    ).toThrow(
      'vnc.listen: "0.0.0.0" is not valid; expected 127.0.0.1 (the default), or set vnc.password as a Pulumi secret',
    );
    expect(registered.filter((r) => r.type.startsWith("pulumi-nodejs"))).toEqual([]);
  });

  test("leaves values that are Outputs to the provider's check", async () => {
    const domain = new NestedDomain("later", {
      domainName: pulumi.output("nlt-later"),
      memoryMiB: pulumi.output(256),
      vcpus: 1,
      cpu: { mode: "custom", model: pulumi.output("qemu64") },
      disks: [{ path: pulumi.output("/var/lib/libvirt/images/a.qcow2") }],
    });
    await value(domain.uuid);
    expect(shown().find((r) => r.type.startsWith("pulumi-nodejs"))?.inputs.cpu).toEqual({
      mode: "custom",
      model: "qemu64",
    });
  });
});

import { recordResources, value } from "../../support/mocks";

const registered = recordResources({
  "pulumi-nodejs:dynamic/nestlab:ConvertedVolume": {
    volumeName: "classroom.qcow2",
    path: "/pool/classroom.qcow2",
    format: "qcow2",
    virtualSizeBytes: 4294967296,
    allocatedBytes: 1310720000,
    chain: [],
  },
});

// Imported after setMocks, as the Pulumi docs require.
import { ConvertedVolume } from "../../../components/volume";

/** How the mocks see an SSH key that is a secret with no value (a local host). */
const SECRET_NOTHING = {
  "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
  value: null,
};

function shown(): {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  hasProvider: boolean;
}[] {
  return registered.map((r) => {
    const { __provider, ...inputs } = r.inputs;
    return { type: r.type, name: r.name, inputs, hasProvider: typeof __provider === "string" };
  });
}

beforeEach(() => {
  registered.length = 0;
});

describe("ConvertedVolume", () => {
  test("registers the component and one dynamic resource named after it, with the arguments as given", async () => {
    const volume = new ConvertedVolume("classroom", {
      source: "/srv/vmware/RHEL7_Server-000002.vmdk",
      pool: "default",
      clusterSizeKiB: 2048,
    });
    expect(await value(volume.path)).toBe("/pool/classroom.qcow2");
    expect(await value(volume.format)).toBe("qcow2");
    expect(shown()).toEqual([
      { type: "nestlab:volume:ConvertedVolume", name: "classroom", inputs: {}, hasProvider: false },
      {
        type: "pulumi-nodejs:dynamic/nestlab:ConvertedVolume",
        name: "classroom",
        hasProvider: true,
        inputs: {
          host: { libvirtUri: "qemu:///system", rootDir: "" },
          resourceName: "classroom",
          source: "/srv/vmware/RHEL7_Server-000002.vmdk",
          pool: "default",
          clusterSizeKiB: 2048,
          sshPrivateKey: SECRET_NOTHING,
        },
      },
    ]);
  });

  test("creates the pool as its own child <name>-pool when asked", async () => {
    const volume = new ConvertedVolume("classroom", {
      source: "/srv/vmware/base.vmdk",
      pool: "nlt-lab",
      volumeName: "jiaoshiji.qcow2",
      mode: "base",
      createPool: { path: "/var/lib/libvirt/images/lab" },
    });
    await value(volume.path);
    expect(shown().map((r) => [r.type, r.name, r.inputs])).toEqual([
      ["nestlab:volume:ConvertedVolume", "classroom", {}],
      [
        "pulumi-nodejs:dynamic/nestlab:StoragePool",
        "classroom-pool",
        {
          host: { libvirtUri: "qemu:///system", rootDir: "" },
          pool: "nlt-lab",
          path: "/var/lib/libvirt/images/lab",
          sshPrivateKey: SECRET_NOTHING,
        },
      ],
      [
        "pulumi-nodejs:dynamic/nestlab:ConvertedVolume",
        "classroom",
        {
          host: { libvirtUri: "qemu:///system", rootDir: "" },
          resourceName: "classroom",
          source: "/srv/vmware/base.vmdk",
          pool: "nlt-lab",
          volumeName: "jiaoshiji.qcow2",
          mode: "base",
          sshPrivateKey: SECRET_NOTHING,
        },
      ],
    ]);
  });

  test("refuses a bad argument before registering any child", async () => {
    expect(() => new ConvertedVolume("bad", { source: "relative.vmdk", pool: "default" })).toThrow(
      'source: "relative.vmdk" is not valid; expected the absolute path of a .vmdk, .ova, qcow2 or raw image on the libvirt host.',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(registered.filter((r) => r.type.startsWith("pulumi-nodejs:"))).toEqual([]);
  });

  test("refuses a resource name that makes no volume name, when no volumeName is given", async () => {
    expect(
      () => new ConvertedVolume("lab/disk", { source: "/srv/a.vmdk", pool: "default" }),
    ).toThrow(
      'volumeName: "lab/disk.qcow2" is not valid; expected a file name for the volume (letters, digits, _ . + -, not starting with . or -), e.g. "classroom.qcow2"; the default, the resource\'s name + ".qcow2", is not one: set volumeName.',
    );
    const named = new ConvertedVolume("lab/disk", {
      source: "/srv/a.vmdk",
      pool: "default",
      volumeName: "disk.qcow2",
    });
    expect(await value(named.path)).toBe("/pool/classroom.qcow2");
  });
});

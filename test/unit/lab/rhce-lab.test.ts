import * as pulumi from "@pulumi/pulumi";
import { recordResources, Registered, value } from "../../support/mocks";

const registered = recordResources({
  "pulumi-nodejs:dynamic/nestlab:NestedVirtualization": { vendor: "intel" },
  "pulumi-nodejs:dynamic/nestlab:NestedDomain": {
    vncAddress: "127.0.0.1:5920",
    serialAddress: "127.0.0.1:4444",
  },
});

// Imported after setMocks, as the Pulumi docs require.
import { RhceLab } from "../../../components";

/** Resolves when every child of the lab has been registered. */
function settled(lab: RhceLab): Promise<unknown> {
  const outputs: pulumi.Output<unknown>[] = [lab.volume.path, lab.classroom.state, lab.sshAddress];
  if (lab.nested) outputs.push(lab.nested.vendor);
  return value(pulumi.all(outputs));
}

function find(type: string): Registered {
  const r = registered.filter((x) => x.type === type);
  expect(r).toHaveLength(1);
  return r[0];
}

beforeEach(() => {
  registered.length = 0;
});

describe("RhceLab", () => {
  test("registers the nested setting, the volume (with its pool) and the classroom host, named after the lab", async () => {
    const lab = new RhceLab("rhce", {
      source: "/images/RHEL7_Server-000002.vmdk",
      pool: "nestlab",
      poolPath: "/var/lib/libvirt/images/nestlab",
      classroom: { sshPort: 2222 },
    });
    await settled(lab);
    expect(registered.map((r) => [r.type, r.name]).sort()).toEqual([
      ["nestlab:domain:NestedDomain", "rhce-classroom"],
      ["nestlab:lab:RhceLab", "rhce"],
      ["nestlab:nested:NestedVirtualization", "rhce-nested"],
      ["nestlab:volume:ConvertedVolume", "rhce-disk"],
      ["pulumi-nodejs:dynamic/nestlab:ConvertedVolume", "rhce-disk"],
      ["pulumi-nodejs:dynamic/nestlab:NestedDomain", "rhce-classroom"],
      ["pulumi-nodejs:dynamic/nestlab:NestedVirtualization", "rhce-nested"],
      ["pulumi-nodejs:dynamic/nestlab:StoragePool", "rhce-disk-pool"],
    ]);
  });

  test("gives the classroom host the seed's settings, on loopback, and the volume as its disk", async () => {
    const lab = new RhceLab("rhce", {
      source: "/images/top.vmdk",
      pool: "nestlab",
      classroom: { sshPort: 2222 },
    });
    await settled(lab);
    const domain = find("pulumi-nodejs:dynamic/nestlab:NestedDomain").inputs;
    expect(domain.domainName).toBe("jiaoshiji");
    expect(domain.memoryMiB).toBe(8096);
    expect(domain.vcpus).toBe(4);
    expect(domain.cpu).toEqual({ mode: "host-model" });
    expect(domain.hostVendor).toBe("intel");
    expect(domain.vnc).toEqual({ listen: "127.0.0.1", display: 20 });
    expect(domain.serial).toEqual({ type: "tcp", host: "127.0.0.1", port: 4444 });
    expect(domain.networks).toEqual([
      { user: { forwards: [{ hostPort: 2222, guestPort: 22, hostAddress: "127.0.0.1" }] } },
    ]);
    expect(domain.disks).toEqual([
      { volume: { pool: "nestlab", volumeName: "jiaoshiji.qcow2" }, bus: "virtio" },
    ]);
    expect(find("pulumi-nodejs:dynamic/nestlab:ConvertedVolume").inputs).toMatchObject({
      source: "/images/top.vmdk",
      pool: "nestlab",
      volumeName: "jiaoshiji.qcow2",
    });
    expect(await value(lab.sshAddress)).toBe("127.0.0.1:2222");
    expect(await value(lab.vncAddress)).toBe("127.0.0.1:5920");
  });

  test("makes a NAT network and gives the classroom host a NIC on it", async () => {
    const lab = new RhceLab("rhce", {
      source: "/images/top.vmdk",
      pool: "p",
      hostNested: "skip",
      natNetwork: { networkName: "rhce", address: "192.168.100.1" },
      classroom: { sshPort: 2222 },
    });
    await settled(lab);
    expect(find("pulumi-nodejs:dynamic/nestlab:Network").inputs).toMatchObject({
      networkName: "rhce",
      address: "192.168.100.1",
    });
    expect(find("nestlab:network:NatNetwork")).toMatchObject({ name: "rhce-network" });
    expect(find("pulumi-nodejs:dynamic/nestlab:NestedDomain").inputs.networks).toEqual([
      { user: { forwards: [{ hostPort: 2222, guestPort: 22, hostAddress: "127.0.0.1" }] } },
      { network: "rhce" },
    ]);
  });

  test('registers no host setting with hostNested "skip", and the host vendor is then read by the domain', async () => {
    const lab = new RhceLab("dev", { source: "/images/top.vmdk", pool: "p", hostNested: "skip" });
    await settled(lab);
    expect(registered.some((r) => r.type.endsWith("NestedVirtualization"))).toBe(false);
    expect(lab.nested).toBeUndefined();
    expect(find("pulumi-nodejs:dynamic/nestlab:NestedDomain").inputs.hostVendor).toBeUndefined();
    expect(await value(lab.sshAddress)).toBeNull();
  });

  test("refuses an unknown hostNested mode before registering any child", async () => {
    expect(
      () => new RhceLab("bad", { source: "/i", pool: "p", hostNested: "on" as never }),
    ).toThrow('hostNested: "on" is not valid; expected enable, persist, check, disable, skip.');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(registered.map((r) => r.type).filter((t) => t !== "nestlab:lab:RhceLab")).toEqual([]);
  });
});

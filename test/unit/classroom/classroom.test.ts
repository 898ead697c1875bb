import * as pulumi from "@pulumi/pulumi";
import { recordResources, Registered, value } from "../../support/mocks";

const registered = recordResources({
  "pulumi-nodejs:dynamic/nestlab:NestedVirtualization": { vendor: "amd" },
  "pulumi-nodejs:dynamic/nestlab:ConvertedVolume": {
    path: "/pool/jiaoshiji-base.qcow2",
    format: "qcow2",
  },
  "pulumi-nodejs:dynamic/nestlab:OverlayVolume": { path: "/pool/overlay.qcow2" },
  "pulumi-nodejs:dynamic/nestlab:NestedDomain": { state: "running" },
});

// Imported after setMocks, as the Pulumi docs require.
import { Classroom, StudentClassroomArgs } from "../../../components";

const HYPERVISORS: StudentClassroomArgs["hypervisors"] = [
  { name: "hv1", memoryMiB: 8192, vcpus: 8 },
  {
    name: "hv2",
    memoryMiB: 8192,
    vcpus: 8,
    host: {
      libvirtUri: "qemu+ssh://root@10.200.0.2/system",
      ssh: {
        host: "10.200.0.2",
        port: 22,
        user: "root",
        privateKey: pulumi.secret(
          "-----BEGIN OPENSSH PRIVATE KEY-----\nKEY\n-----END OPENSSH PRIVATE KEY-----\n",
        ),
        knownHosts: "10.200.0.2 ssh-ed25519 AAAA",
      },
    },
  },
];

function args(students: string[], more: Partial<StudentClassroomArgs> = {}): StudentClassroomArgs {
  return {
    hypervisors: HYPERVISORS,
    students: students.map((id) => ({ id })),
    lab: { source: "/images/RHEL7_Server-000002.vmdk", pool: "lab", memoryMiB: 2048, vcpus: 2 },
    hostNested: "skip",
    ...more,
  };
}

/** Every resource of a classroom, once its roster is known (all are registered by then). */
async function build(a: StudentClassroomArgs): Promise<{ c: Classroom; resources: Registered[] }> {
  registered.length = 0;
  const c = new Classroom("class", a);
  await value(c.roster);
  return { c, resources: [...registered] };
}

/** An input as the program gave it: a secret's value unwrapped (the host holds the SSH key). */
function unwrapped(inputs: Record<string, unknown>): Record<string, unknown> {
  const host = inputs.host as { value?: unknown } | undefined;
  return host && "value" in host ? { ...inputs, host: host.value } : inputs;
}

const names = (rs: Registered[]) => rs.map((r) => `${r.type} ${r.name}`).sort();
const custom = (rs: Registered[]) => rs.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));

describe("Classroom", () => {
  test("one base per hypervisor, one overlay and one classroom host per student, named by hypervisor and student id", async () => {
    const { resources } = await build(args(["s01", "s02", "s03", "s04"]));
    expect(names(resources)).toEqual([
      "nestlab:classroom:Classroom class",
      "nestlab:domain:NestedDomain class-s01-classroom",
      "nestlab:domain:NestedDomain class-s02-classroom",
      "nestlab:domain:NestedDomain class-s03-classroom",
      "nestlab:domain:NestedDomain class-s04-classroom",
      "nestlab:volume:ConvertedVolume class-hv1-base",
      "nestlab:volume:ConvertedVolume class-hv2-base",
      "nestlab:volume:OverlayVolume class-s01-disk",
      "nestlab:volume:OverlayVolume class-s02-disk",
      "nestlab:volume:OverlayVolume class-s03-disk",
      "nestlab:volume:OverlayVolume class-s04-disk",
      "pulumi-nodejs:dynamic/nestlab:ConvertedVolume class-hv1-base",
      "pulumi-nodejs:dynamic/nestlab:ConvertedVolume class-hv2-base",
      "pulumi-nodejs:dynamic/nestlab:NestedDomain class-s01-classroom",
      "pulumi-nodejs:dynamic/nestlab:NestedDomain class-s02-classroom",
      "pulumi-nodejs:dynamic/nestlab:NestedDomain class-s03-classroom",
      "pulumi-nodejs:dynamic/nestlab:NestedDomain class-s04-classroom",
      "pulumi-nodejs:dynamic/nestlab:OverlayVolume class-s01-disk",
      "pulumi-nodejs:dynamic/nestlab:OverlayVolume class-s02-disk",
      "pulumi-nodejs:dynamic/nestlab:OverlayVolume class-s03-disk",
      "pulumi-nodejs:dynamic/nestlab:OverlayVolume class-s04-disk",
    ]);
  });

  test("each student's disk is an overlay of its hypervisor's base, and its classroom host has its own ports", async () => {
    const { resources } = await build(args(["s01", "s02", "s03", "s04"]));
    const r = (type: string, name: string) =>
      unwrapped(
        resources.find((x) => x.type === `pulumi-nodejs:dynamic/nestlab:${type}` && x.name === name)
          ?.inputs as Record<string, unknown>,
      );
    expect(r("ConvertedVolume", "class-hv2-base")).toMatchObject({
      source: "/images/RHEL7_Server-000002.vmdk",
      pool: "lab",
      volumeName: "jiaoshiji-base.qcow2",
      host: { libvirtUri: "qemu+ssh://root@10.200.0.2/system", ssh: { host: "10.200.0.2" } },
    });
    // s01 is on hv2 (see placement.test.ts), slot 0.
    expect(r("OverlayVolume", "class-s01-disk")).toMatchObject({
      pool: "lab",
      volumeName: "jiaoshiji-s01.qcow2",
      backingPath: "/pool/jiaoshiji-base.qcow2",
      backingFormat: "qcow2",
      generation: 0,
      label: "lab of student s01",
      host: { ssh: { host: "10.200.0.2" } },
    });
    const domain = r("NestedDomain", "class-s04-classroom");
    expect(domain).toMatchObject({
      domainName: "jiaoshiji-s04",
      memoryMiB: 2048,
      vcpus: 2,
      vnc: { listen: "127.0.0.1", display: 21 },
      serial: { type: "tcp", host: "127.0.0.1", port: 4445 },
      networks: [
        { user: { forwards: [{ hostPort: 2223, guestPort: 22, hostAddress: "127.0.0.1" }] } },
      ],
    });
    expect(domain.disks).toEqual([
      { volume: { pool: "lab", volumeName: "jiaoshiji-s04.qcow2" }, bus: "virtio" },
    ]);
  });

  test("a hypervisor may have a pool folder of its own (hypervisors sharing a file system)", async () => {
    const { resources } = await build({
      ...args(["s01"]),
      hypervisors: [HYPERVISORS[0], { ...HYPERVISORS[1], pool: "lab2", poolPath: "/srv/hv2" }],
      lab: {
        source: "/images/top.vmdk",
        pool: "lab",
        poolPath: "/srv/hv1",
        memoryMiB: 2048,
        vcpus: 2,
      },
    });
    const pools = custom(resources)
      .filter((r) => r.type.endsWith(":StoragePool"))
      .map((r) => [r.name, r.inputs.pool, r.inputs.path])
      .sort();
    expect(pools).toEqual([
      ["class-hv1-base-pool", "lab", "/srv/hv1"],
      ["class-hv2-base-pool", "lab2", "/srv/hv2"],
    ]);
  });

  test("the roster: one row per student, with the ssh line through a remote hypervisor", async () => {
    const { c } = await build(args(["s01", "s02"]));
    const roster = await value(c.roster);
    expect(
      roster.map((row) => [row.student, row.hypervisor, row.slot, row.ssh, row.state]),
    ).toEqual([
      ["s01", "hv2", 0, "ssh -J root@10.200.0.2:22 -p 2222 root@127.0.0.1", "running"],
      ["s02", "hv1", 0, "ssh -p 2222 root@127.0.0.1", "running"],
    ]);
    expect(JSON.stringify(roster)).not.toContain("KEY");
  });

  test("adding a student adds exactly one overlay and one domain, and changes no other resource's inputs", async () => {
    const before = await build(args(["s01", "s02", "s03", "s04"]));
    const roster = await value(before.c.roster);
    const after = await build(args(["s01", "s02", "s03", "s04", "a00"], { previous: roster }));
    const key = (r: Registered) => `${r.type} ${r.name}`;
    const old = new Map(custom(before.resources).map((r) => [key(r), JSON.stringify(r.inputs)]));
    const added = custom(after.resources).filter((r) => !old.has(key(r)));
    expect(added.map(key).sort()).toEqual([
      "pulumi-nodejs:dynamic/nestlab:NestedDomain class-a00-classroom",
      "pulumi-nodejs:dynamic/nestlab:OverlayVolume class-a00-disk",
    ]);
    const changed = custom(after.resources).filter(
      (r) => old.has(key(r)) && old.get(key(r)) !== JSON.stringify(r.inputs),
    );
    expect(changed.map(key)).toEqual([]);
    expect(custom(after.resources)).toHaveLength(custom(before.resources).length + 2);
  });

  test("a reset raises the student's disk generation only", async () => {
    const { resources } = await build({
      ...args(["s01", "s02"]),
      students: [{ id: "s01" }, { id: "s02", generation: 1 }],
    });
    const gen = (name: string) =>
      resources.find(
        (r) =>
          r.name === name &&
          r.type.endsWith(":OverlayVolume") &&
          r.type.startsWith("pulumi-nodejs"),
      )?.inputs.generation;
    expect([gen("class-s01-disk"), gen("class-s02-disk")]).toEqual([0, 1]);
  });

  test("the host nested setting per hypervisor, before its classroom hosts", async () => {
    const { resources } = await build(args(["s01"], { hostNested: "enable" }));
    expect(
      custom(resources)
        .filter((r) => r.type.endsWith(":NestedVirtualization"))
        .map((r) => r.name)
        .sort(),
    ).toEqual(["class-hv1-nested", "class-hv2-nested"]);
    const domain = custom(resources).find((r) => r.type.endsWith(":NestedDomain"));
    expect(domain?.inputs.hostVendor).toBe("amd");
  });

  test("a classroom that does not fit is refused before anything is registered", async () => {
    registered.length = 0;
    expect(() => new Classroom("full", args(Array.from({ length: 9 }, (_, i) => `s${i}`)))).toThrow(
      'students: ["s8"] is not valid; expected labs that fit: 1 more lab of 2048 MiB and 2 vCPUs fit on no hypervisor',
    );
    expect(registered.filter((r) => r.name !== "full")).toEqual([]);
  });
});

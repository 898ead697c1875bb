import {
  diskArg,
  DomainInputs,
  driftFrom,
  planBetween,
  specOf,
  withoutKeys,
} from "../../../components/domain/inputs";
import { renderDomainXml } from "../../../components/domain/render";
import { resolveDomainSpec } from "../../../components/domain/resolve";
import { DomainSpec } from "../../../components/domain/spec";

const SPEC: DomainSpec = {
  domainName: "nlt-inputs",
  memoryMiB: 256,
  maxMemoryMiB: 512,
  vcpus: 1,
  maxVcpus: 2,
  cpu: { mode: "custom", model: "qemu64" },
  disks: [{ path: "/var/lib/nestlab/a.qcow2" }],
  serial: { type: "pty" },
  owner: "nestlab/test/inputs",
};

/** Inputs as check() leaves them: the spec, the host, the chosen facts and the XML. */
function inputs(change: Partial<DomainSpec> = {}, extra: Partial<DomainInputs> = {}): DomainInputs {
  const spec = { ...SPEC, ...change };
  const xml = renderDomainXml(
    resolveDomainSpec(spec, { domainType: "qemu", hostVendor: "amd" }, false),
  );
  return {
    ...spec,
    host: { libvirtUri: "qemu:///system", rootDir: "" },
    resolvedDomainType: "qemu",
    resolvedHostVendor: "amd",
    xml,
    ...extra,
  };
}

describe("specOf", () => {
  it("keeps exactly the spec's keys that are set, and nothing of the host or the outputs", () => {
    const withOutputs = {
      ...inputs({ autostart: true }),
      sshPrivateKey: "key",
      vncPassword: "pw",
      uuid: "u",
      updatePlan: "live: memoryMiB",
    };
    expect(specOf(withOutputs)).toEqual({
      domainName: "nlt-inputs",
      memoryMiB: 256,
      maxMemoryMiB: 512,
      vcpus: 1,
      maxVcpus: 2,
      cpu: { mode: "custom", model: "qemu64" },
      disks: [{ path: "/var/lib/nestlab/a.qcow2" }],
      serial: { type: "pty" },
      autostart: true,
      owner: "nestlab/test/inputs",
    });
  });
});

describe("planBetween", () => {
  it("plans nothing between the same inputs", () => {
    expect(planBetween(inputs(), inputs())).toEqual({ replace: [], restart: [], live: [] });
  });

  it("grows memory and vCPUs live within their ceilings", () => {
    expect(planBetween(inputs(), inputs({ memoryMiB: 384, vcpus: 2 }))).toEqual({
      replace: [],
      restart: [],
      live: ["memoryMiB", "vcpus"],
    });
  });

  it("restarts for a new ceiling or CPU, and lists the XML only when nothing typed changed", () => {
    expect(
      planBetween(inputs(), inputs({ maxMemoryMiB: 1024, cpu: { mode: "host-model" } })),
    ).toEqual({ replace: [], restart: ["maxMemoryMiB", "cpu"], live: [] });
    expect(planBetween(inputs(), inputs({}, { xml: "<domain/>\n" }))).toEqual({
      replace: [],
      restart: ["xml"],
      live: [],
    });
  });

  it("replaces for a new name or another host; a new VNC password is a restart", () => {
    expect(planBetween(inputs(), inputs({ domainName: "nlt-other" }))).toEqual({
      replace: ["domainName"],
      restart: [],
      live: [],
    });
    expect(
      planBetween(inputs(), inputs({}, { host: { libvirtUri: "qemu:///session", rootDir: "" } })),
    ).toEqual({ replace: ["host"], restart: [], live: [] });
    expect(planBetween(inputs(), inputs({}, { vncPassword: "secret" }))).toEqual({
      replace: [],
      restart: ["vncPassword"],
      live: [],
    });
  });

  it("takes the same hypervisor reached another way, and a rotated key, live: only the state changes", () => {
    const ssh = { host: "hv1", port: 22, user: "root", connectTimeoutSeconds: 15 };
    const on = (s: object, key = "k1") =>
      inputs(
        {},
        {
          host: { libvirtUri: "qemu:///system", rootDir: "", ssh: s as never },
          sshPrivateKey: key,
        },
      );
    expect(planBetween(on(ssh), on({ ...ssh, port: 2222 }))).toEqual({
      replace: [],
      restart: [],
      live: ["host"],
    });
    expect(planBetween(on(ssh), on(ssh, "k2"))).toEqual({
      replace: [],
      restart: [],
      live: ["sshPrivateKey"],
    });
    expect(planBetween(on(ssh), on({ ...ssh, host: "hv2" }))).toEqual({
      replace: ["host"],
      restart: [],
      live: [],
    });
  });
});

describe("driftFrom", () => {
  const defined = inputs().xml as string;

  it("finds no drift when libvirt's definition only adds its own parts", () => {
    const libvirts = defined
      .replace(
        "<name>nlt-inputs</name>",
        "<name>nlt-inputs</name>\n  <uuid>8d1f2d2c-1c49-4b8b-9a5e-0c6c3f1c2a11</uuid>",
      )
      .replace(
        '<type arch="x86_64">hvm</type>',
        '<type arch="x86_64" machine="pc-i440fx-7.2">hvm</type>',
      );
    expect(libvirts).toContain("<uuid>8d1f2d2c-1c49-4b8b-9a5e-0c6c3f1c2a11</uuid>");
    expect(libvirts).toContain('machine="pc-i440fx-7.2"');
    expect(driftFrom(defined, libvirts)).toEqual({});
  });

  it("returns the changed argument with the observed value, and libvirt's normalised XML", () => {
    const edited = defined.replace(
      '<currentMemory unit="KiB">262144</currentMemory>',
      '<currentMemory unit="KiB">307200</currentMemory>',
    );
    const drift = driftFrom(defined, edited);
    expect(Object.keys(drift).sort()).toEqual(["memoryMiB", "xml"]);
    expect(drift.memoryMiB).toBe(300);
    expect(drift.xml).toContain('<currentMemory unit="KiB">307200</currentMemory>');
  });

  it("gives changed disks back in the words of the disks argument", () => {
    const edited = defined.replace(
      '<source file="/var/lib/nestlab/a.qcow2"/>',
      '<source file="/var/lib/nestlab/b.qcow2"/>',
    );
    expect(driftFrom(defined, edited).disks).toEqual([
      {
        path: "/var/lib/nestlab/b.qcow2",
        bus: "virtio",
        device: "disk",
        format: "qcow2",
        readonly: false,
      },
    ]);
  });
});

describe("diskArg and withoutKeys", () => {
  it("turns a pool volume back into { volume: { pool, volumeName } }", () => {
    expect(
      diskArg({ pool: "default", volumeName: "c.qcow2", bus: "sata", readonly: true }),
    ).toEqual({
      volume: { pool: "default", volumeName: "c.qcow2" },
      bus: "sata",
      readonly: true,
    });
    expect(diskArg({ path: "/d.iso", device: "cdrom" })).toEqual({
      path: "/d.iso",
      device: "cdrom",
    });
  });

  it("drops exactly the keys named, leaving the object given alone", () => {
    const o = { a: 1, b: 2, c: 3 };
    expect(withoutKeys(o, ["a", "c"])).toEqual({ b: 2 });
    expect(o).toEqual({ a: 1, b: 2, c: 3 });
  });
});

import { classifyUpdate, describePlan, Side } from "../../../components/domain/classify";
import { renderDomainXml } from "../../../components/domain/render";
import { resolveDomainSpec } from "../../../components/domain/resolve";
import { DomainSpec } from "../../../components/domain/spec";

const base: DomainSpec = {
  domainName: "nlt-domain-classify",
  memoryMiB: 256,
  maxMemoryMiB: 1024,
  vcpus: 1,
  maxVcpus: 2,
  cpu: { mode: "custom", model: "qemu64" },
  disks: [{ path: "/a.qcow2" }],
  vnc: {},
  owner: "p/s/n",
};

function side(
  change: Partial<DomainSpec> = {},
  extra: { host?: unknown; password?: string; domainType?: "kvm" | "qemu" } = {},
): Side {
  const spec = resolveDomainSpec(
    { ...base, ...change },
    { domainType: extra.domainType ?? "qemu", hostVendor: "amd" },
    extra.password !== undefined,
  );
  return {
    spec,
    host: extra.host ?? { libvirtUri: "qemu:///system", rootDir: "" },
    vncPasswordDigest: extra.password,
    xml: renderDomainXml(spec),
  };
}

function plan(change: Partial<DomainSpec>, extra: Parameters<typeof side>[1] = {}): string {
  return describePlan(classifyUpdate(side(), side(change, extra)));
}

describe("classifyUpdate", () => {
  it("finds nothing to do for the same arguments", () => {
    expect(classifyUpdate(side(), side())).toEqual({ replace: [], restart: [], live: [] });
    expect(plan({})).toBe("");
  });

  it.each<[string, Partial<DomainSpec>, string]>([
    [
      "memory within the ceiling",
      { memoryMiB: 512 },
      "live: memoryMiB (through the guest's balloon driver)",
    ],
    ["vCPUs within the ceiling", { vcpus: 2 }, "live: vcpus"],
    ["autostart", { autostart: true }, "live: autostart"],
    ["the desired state", { running: false }, "live: running"],
    ["the shutdown timeout", { shutdownTimeoutSeconds: 5 }, "live: shutdownTimeoutSeconds"],
    [
      "memory beyond the ceiling",
      { memoryMiB: 2048, maxMemoryMiB: 2048 },
      "restart: maxMemoryMiB; live: memoryMiB (through the guest's balloon driver)",
    ],
    ["the CPU model", { cpu: { mode: "custom", model: "Opteron_G2" } }, "restart: cpu"],
    ["the CPU mode", { cpu: { mode: "host-model" } }, "restart: cpu"],
    ["the topology", { topology: { sockets: 1, cores: 2, threads: 1 } }, "restart: topology"],
    ["a disk's bus", { disks: [{ path: "/a.qcow2", bus: "sata" }] }, "restart: disks"],
    ["a NIC", { networks: [{ network: "default" }] }, "restart: networks"],
    [
      "VNC and the serial console",
      { vnc: { display: 20 }, serial: { type: "pty" } },
      "restart: vnc, serial",
    ],
    [
      "an XML patch",
      { xmlPatches: [{ op: "set", xpath: "/domain/on_crash", value: "restart" }] },
      "restart: xmlPatches",
    ],
    ["the name", { domainName: "nlt-domain-other" }, "replace: domainName"],
  ])("classifies a change of %s", (_what, change, expected) => {
    expect(plan(change)).toBe(expected);
  });

  it("replaces for a new domain type or another host, naming only what forces it", () => {
    expect(plan({ memoryMiB: 512 }, { domainType: "kvm" })).toBe("replace: domainType");
    expect(plan({}, { host: { libvirtUri: "qemu+ssh://root@other/system", rootDir: "" } })).toBe(
      "replace: host",
    );
  });

  it("restarts for a new VNC password, which it knows only as a digest", () => {
    expect(
      describePlan(classifyUpdate(side({}, { password: "d1" }), side({}, { password: "d2" }))),
    ).toBe("restart: vncPassword");
  });

  it("names the XML alone when it changed and no argument did (a hand edit, or a new renderer)", () => {
    const old = side();
    expect(
      describePlan(classifyUpdate({ ...old, xml: old.xml.replace("destroy", "restart") }, side())),
    ).toBe("restart: xml");
  });
});

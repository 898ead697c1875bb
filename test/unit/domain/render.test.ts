import { DOMParser } from "@xmldom/xmldom";
import * as xpath from "xpath";
import { definitionXml, renderDomainXml } from "../../../components/domain/render";
import { resolveDomainSpec } from "../../../components/domain/resolve";
import { DomainSpec } from "../../../components/domain/spec";
import { FIXTURE_SPECS } from "./fixture-specs";

const TCG = { domainType: "qemu", hostVendor: "amd" } as const;

function render(
  spec: DomainSpec,
  facts: { domainType: "kvm" | "qemu"; hostVendor: "intel" | "amd" | "none" } = TCG,
  password = false,
): string {
  return renderDomainXml(resolveDomainSpec(spec, facts, password));
}

/** Serialized nodes an XPath selects, one per entry. */
function nodes(xml: string, path: string): string[] {
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  const found = xpath.useNamespaces({ qemu: "http://libvirt.org/schemas/domain/qemu/1.0" })(
    path,
    doc as unknown as Node,
  ) as Node[];
  return found.map((n) =>
    n.nodeType === 2 ? (n as Attr).value : n.toString().replace(/\n\s*/g, ""),
  );
}

const seed: DomainSpec = FIXTURE_SPECS["custom-svm"].spec;

describe("renderDomainXml", () => {
  it("renders the seed's CPU: qemu64, exact, the nested flag required, 4 sockets of 1 core", () => {
    const xml = render(seed);
    expect(nodes(xml, "/domain/cpu")).toEqual([
      '<cpu match="exact" mode="custom"><model fallback="forbid">qemu64</model><topology cores="1" dies="1" sockets="4" threads="1"/><feature name="svm" policy="require"/></cpu>',
    ]);
    expect(nodes(xml, "/domain/@type")).toEqual(["qemu"]);
  });

  it("requires vmx on an Intel KVM host and svm on an AMD KVM host", () => {
    const cpu = { mode: "custom", model: "Haswell" } as const;
    expect(
      nodes(
        render({ ...seed, cpu }, { domainType: "kvm", hostVendor: "intel" }),
        "/domain/cpu/feature",
      ),
    ).toEqual(['<feature name="vmx" policy="require"/>']);
    expect(
      nodes(
        render({ ...seed, cpu }, { domainType: "kvm", hostVendor: "amd" }),
        "/domain/cpu/feature",
      ),
    ).toEqual(['<feature name="svm" policy="require"/>']);
  });

  it("keeps a virtualization feature the user gave, with its policy, instead of adding one", () => {
    const xml = render({
      ...seed,
      cpu: {
        mode: "custom",
        model: "qemu64",
        features: [
          { name: "svm", policy: "optional" },
          { name: "pdpe1gb", policy: "require" },
        ],
      },
    });
    expect(nodes(xml, "/domain/cpu/feature")).toEqual([
      '<feature name="svm" policy="optional"/>',
      '<feature name="pdpe1gb" policy="require"/>',
    ]);
  });

  it("adds no feature when nested is false, and none for host-passthrough", () => {
    expect(
      nodes(
        render({ ...seed, cpu: { mode: "custom", model: "qemu64", nested: false } }),
        "/domain/cpu/feature",
      ),
    ).toEqual([]);
    const kvm = { domainType: "kvm", hostVendor: "intel" } as const;
    expect(
      nodes(
        render(
          { ...seed, topology: undefined, maxVcpus: undefined, cpu: { mode: "host-passthrough" } },
          kvm,
        ),
        "/domain/cpu",
      ),
    ).toEqual(['<cpu mode="host-passthrough"/>']);
  });

  it("adds the nested flag to host-model too", () => {
    expect(nodes(render(FIXTURE_SPECS["host-model-bridge"].spec), "/domain/cpu")).toEqual([
      '<cpu mode="host-model"><feature name="pdpe1gb" policy="optional"/><feature name="svm" policy="require"/></cpu>',
    ]);
  });

  it("writes memory in KiB with the ceiling as <memory>, and vCPUs with current below the maximum", () => {
    const xml = render(seed);
    expect(nodes(xml, "/domain/memory")).toEqual(['<memory unit="KiB">524288</memory>']);
    expect(nodes(xml, "/domain/currentMemory")).toEqual([
      '<currentMemory unit="KiB">262144</currentMemory>',
    ]);
    expect(nodes(xml, "/domain/vcpu")).toEqual(['<vcpu current="2">4</vcpu>']);
    expect(nodes(render({ ...seed, maxVcpus: undefined, vcpus: 4 }), "/domain/vcpu")).toEqual([
      "<vcpu>4</vcpu>",
    ]);
  });

  it("renders disks with per-bus device names, formats and read-only cdroms", () => {
    expect(nodes(render(seed), "/domain/devices/disk")).toEqual([
      '<disk device="disk" type="file"><driver name="qemu" type="qcow2"/><source file="/var/lib/nestlab-fixture/jiaoshiji.qcow2"/><target bus="virtio" dev="vda"/></disk>',
      '<disk device="disk" type="file"><driver name="qemu" type="qcow2"/><source file="/var/lib/nestlab-fixture/data.qcow2"/><target bus="sata" dev="sda"/></disk>',
      '<disk device="cdrom" type="file"><driver name="qemu" type="raw"/><source file="/var/lib/nestlab-fixture/rhel7.iso"/><target bus="ide" dev="hda"/><readonly/></disk>',
    ]);
  });

  it("renders a pool volume as a volume disk", () => {
    expect(nodes(render(FIXTURE_SPECS["volume-patched"].spec), "/domain/devices/disk")).toEqual([
      '<disk device="disk" type="volume"><driver name="qemu" type="qcow2"/><source pool="nlt-domain-fixture-pool" volume="disk.qcow2"/><target bus="virtio" dev="vda"/></disk>',
    ]);
  });

  it("renders network and bridge NICs with stable MACs, and user NICs as QEMU arguments on a high PCI slot", () => {
    const xml = render(seed);
    expect(nodes(xml, "/domain/devices/interface")).toEqual([
      '<interface type="network"><mac address="52:54:00:e8:db:4f"/><source network="default"/><model type="virtio"/></interface>',
    ]);
    expect(nodes(xml, "/domain/qemu:commandline/qemu:arg/@value")).toEqual([
      "-netdev",
      "user,id=nestlab-net1,hostfwd=tcp:127.0.0.1:47222-:22",
      "-device",
      "virtio-net-pci,netdev=nestlab-net1,mac=52:54:00:c4:13:c5,addr=0x1f",
    ]);
    expect(
      nodes(render(FIXTURE_SPECS["host-model-bridge"].spec), "/domain/devices/interface"),
    ).toEqual([
      '<interface type="bridge"><mac address="52:54:00:aa:bb:cc"/><source bridge="br-nestlab"/><model type="e1000"/></interface>',
    ]);
  });

  it("declares the qemu namespace only when QEMU arguments are passed", () => {
    expect(render(seed)).toContain(
      '<domain xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0" type="qemu">',
    );
    expect(render(FIXTURE_SPECS["volume-patched"].spec)).toContain('<domain type="qemu">');
  });

  it("renders VNC on loopback with autoport by default, and display 20 as port 5920", () => {
    expect(nodes(render(seed), "/domain/devices/graphics")).toEqual([
      '<graphics autoport="yes" listen="127.0.0.1" port="-1" type="vnc"/>',
    ]);
    expect(
      nodes(render(FIXTURE_SPECS["host-model-bridge"].spec, TCG, true), "/domain/devices/graphics"),
    ).toEqual(['<graphics autoport="no" listen="0.0.0.0" port="5920" type="vnc"/>']);
  });

  it("renders each serial console kind", () => {
    expect(nodes(render(seed), "/domain/devices/serial")).toEqual([
      '<serial type="tcp"><source host="127.0.0.1" mode="bind" service="47201"/><protocol type="raw"/></serial>',
    ]);
    expect(nodes(render({ ...seed, serial: { type: "pty" } }), "/domain/devices/serial")).toEqual([
      '<serial type="pty"/>',
    ]);
    expect(
      nodes(
        render({ ...seed, serial: { type: "unix", path: "/run/x.sock" } }),
        "/domain/devices/serial",
      ),
    ).toEqual(['<serial type="unix"><source mode="bind" path="/run/x.sock"/></serial>']);
    expect(
      nodes(
        render({ ...seed, serial: { type: "file", path: "/var/log/x.log" } }),
        "/domain/devices/serial",
      ),
    ).toEqual(['<serial type="file"><source path="/var/log/x.log"/></serial>']);
  });

  it("boots a kernel directly when boot is given, from the disk otherwise", () => {
    expect(nodes(render(FIXTURE_SPECS["host-model-bridge"].spec), "/domain/os")).toEqual([
      '<os><type arch="x86_64">hvm</type><kernel>/var/lib/nestlab-fixture/vmlinuz</kernel><initrd>/var/lib/nestlab-fixture/initrd.img</initrd><cmdline>console=ttyS0 quiet</cmdline></os>',
    ]);
    expect(nodes(render(seed), "/domain/os")).toEqual([
      '<os><type arch="x86_64">hvm</type><boot dev="hd"/></os>',
    ]);
  });

  it("records the owner in the domain's metadata", () => {
    expect(nodes(render(seed), "/domain/metadata/*")).toEqual([
      '<nestlab:owner xmlns:nestlab="urn:nestlab:domain:1">nestlab/fixture/custom</nestlab:owner>',
    ]);
  });

  it("applies xmlPatches in order: add, set, remove", () => {
    const xml = render(FIXTURE_SPECS["volume-patched"].spec);
    expect(nodes(xml, "/domain/devices/watchdog")).toEqual([
      '<watchdog action="reset" model="i6300esb"/>',
    ]);
    expect(nodes(xml, "/domain/on_crash")).toEqual(["<on_crash>restart</on_crash>"]);
    expect(nodes(xml, "/domain/features")).toEqual(["<features><acpi/></features>"]);
  });

  it("sets an attribute with a set patch and refuses a patch that matches nothing", () => {
    const xml = render({
      ...seed,
      xmlPatches: [
        { op: "set", xpath: "/domain/devices/disk[1]/driver", attribute: "cache", value: "none" },
      ],
    });
    expect(nodes(xml, "/domain/devices/disk[1]/driver")).toEqual([
      '<driver cache="none" name="qemu" type="qcow2"/>',
    ]);
    expect(() =>
      render({ ...seed, xmlPatches: [{ op: "remove", xpath: "/domain/devices/watchdog" }] }),
    ).toThrow(
      'xmlPatches[0].xpath: "/domain/devices/watchdog" is not valid; expected an XPath that matches at least one node of the generated XML (see the `xml` output).',
    );
  });

  it("gives byte-identical XML for the same arguments", () => {
    for (const f of Object.values(FIXTURE_SPECS)) {
      const a = renderDomainXml(resolveDomainSpec(f.spec, f.facts, f.vncPasswordSet));
      const b = renderDomainXml(
        resolveDomainSpec(JSON.parse(JSON.stringify(f.spec)), f.facts, f.vncPasswordSet),
      );
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    }
  });

  it("escapes a name and paths holding <, & and quotes, and reads them back unchanged", () => {
    const name = `lab <a> & "b" 'c'`;
    const file = `/srv/a&b/<x>/"q" 'y'.qcow2`;
    const xml = render({ ...seed, domainName: name, disks: [{ path: file }] });
    expect(xml).toContain("<name>lab &lt;a&gt; &amp; \"b\" 'c'</name>");
    expect(xml).toContain("<source file=\"/srv/a&amp;b/&lt;x&gt;/&quot;q&quot; 'y'.qcow2\"/>");
    expect(nodes(xml, "/domain/name/text()")).toEqual([
      name.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"),
    ]);
    const doc = new DOMParser().parseFromString(xml, "text/xml");
    expect(xpath.select1("string(/domain/name)", doc as unknown as Node)).toBe(name);
    expect(xpath.select1("string(/domain/devices/disk/source/@file)", doc as unknown as Node)).toBe(
      file,
    );
  });
});

describe("definitionXml", () => {
  it("adds the UUID after the name and the VNC password to the graphics, leaving the rest alone", () => {
    const xml = render(FIXTURE_SPECS["host-model-bridge"].spec, TCG, true);
    const defined = definitionXml(xml, {
      uuid: "3f2c1e4e-0000-4000-8000-000000000001",
      vncPassword: `p<&"'`,
    });
    expect(nodes(defined, "/domain/*[position() <= 2]")).toEqual([
      "<name>nlt-domain-fixture-hostmodel</name>",
      "<uuid>3f2c1e4e-0000-4000-8000-000000000001</uuid>",
    ]);
    const doc = new DOMParser().parseFromString(defined, "text/xml");
    expect(xpath.select1("string(/domain/devices/graphics/@passwd)", doc as unknown as Node)).toBe(
      `p<&"'`,
    );
    expect(xml).not.toContain("passwd");
  });
});

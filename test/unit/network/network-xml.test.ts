import {
  parseIpv4,
  renderNetworkXml,
  validateNetworkSpec,
} from "../../../components/network/network-xml";
import { parseNetInfo } from "../../../components/network/provider";

describe("validateNetworkSpec", () => {
  it("fills the defaults", () => {
    expect(validateNetworkSpec({ networkName: "rhce", address: "192.168.100.1" })).toEqual({
      networkName: "rhce",
      mode: "nat",
      bridgeName: undefined,
      address: "192.168.100.1",
      prefixLength: 24,
      dhcp: undefined,
      autostart: true,
    });
  });

  it.each([
    [
      { networkName: "a b", address: "10.0.0.1" },
      'networkName: "a b" is not valid; expected a libvirt network name (letters, digits, _ . + -, not starting with . or -), e.g. "rhce".',
    ],
    [
      { networkName: "n", address: "10.0.0.1", mode: "bridge" },
      'mode: "bridge" is not valid; expected one of "nat", "route", "isolated".',
    ],
    [
      { networkName: "n", address: "10.0.0.256" },
      'address: "10.0.0.256" is not valid; expected the host\'s IPv4 address on the network, e.g. "192.168.100.1".',
    ],
    [
      { networkName: "n", address: "10.0.0.1", prefixLength: 31 },
      "prefixLength: 31 is not valid; expected a whole number from 8 to 30.",
    ],
    [
      { networkName: "n", address: "10.0.0.1", bridgeName: "a-very-long-bridge-name" },
      'bridgeName: "a-very-long-bridge-name" is not valid; expected an interface name of at most 15 characters, e.g. "virbr10".',
    ],
    [
      { networkName: "n", address: "10.0.0.1", dhcp: { start: "10.0.1.2", end: "10.0.1.9" } },
      'dhcp: {"start":"10.0.1.2","end":"10.0.1.9"} is not valid; expected a range { start, end } of addresses inside 10.0.0.1/24, start before end.',
    ],
    [
      { networkName: "n", address: "10.0.0.1", dhcp: { start: "10.0.0.9", end: "10.0.0.2" } },
      'dhcp: {"start":"10.0.0.9","end":"10.0.0.2"} is not valid; expected a range { start, end } of addresses inside 10.0.0.1/24, start before end.',
    ],
    [
      { networkName: "n", address: "10.0.0.5", dhcp: { start: "10.0.0.2", end: "10.0.0.9" } },
      'dhcp: {"start":"10.0.0.2","end":"10.0.0.9"} is not valid; expected a range that leaves out the host\'s own address 10.0.0.5.',
    ],
  ])("refuses %j", (raw, message) => {
    expect(() => validateNetworkSpec(raw)).toThrow(message);
  });
});

describe("renderNetworkXml", () => {
  it("renders a NAT network with its bridge and DHCP range, byte for byte", () => {
    const spec = validateNetworkSpec({
      networkName: "rhce",
      bridgeName: "virbr10",
      address: "192.168.100.1",
      dhcp: { start: "192.168.100.100", end: "192.168.100.200" },
    });
    const xml = renderNetworkXml(spec);
    expect(xml).toBe(
      [
        "<network>",
        "  <name>rhce</name>",
        '  <forward mode="nat"/>',
        '  <bridge delay="0" name="virbr10" stp="on"/>',
        '  <ip address="192.168.100.1" prefix="24">',
        "    <dhcp>",
        '      <range end="192.168.100.200" start="192.168.100.100"/>',
        "    </dhcp>",
        "  </ip>",
        "</network>",
        "",
      ].join("\n"),
    );
    expect(renderNetworkXml(spec)).toBe(xml);
  });

  it("leaves out <forward> for an isolated network", () => {
    const xml = renderNetworkXml(
      validateNetworkSpec({
        networkName: "lab",
        mode: "isolated",
        address: "10.9.0.1",
        prefixLength: 16,
      }),
    );
    expect(xml).not.toContain("<forward");
    expect(xml).toContain('<ip address="10.9.0.1" prefix="16"/>');
  });

  it("escapes what it writes", () => {
    // Names are validated, but the renderer never builds XML from strings.
    const xml = renderNetworkXml({
      networkName: "a&b<c",
      mode: "nat",
      address: "10.0.0.1",
      prefixLength: 24,
      autostart: true,
    });
    expect(xml).toContain("<name>a&amp;b&lt;c</name>");
  });
});

describe("parseIpv4 and parseNetInfo", () => {
  it("parses addresses", () => {
    expect(parseIpv4("192.168.100.1")).toBe(0xc0a86401);
    expect(parseIpv4("1.2.3")).toBeUndefined();
  });

  it("reads virsh net-info", () => {
    const out =
      "Name:           rhce\nUUID:           5c3f0b7e-1111-2222-3333-444455556666\nActive:         yes\nPersistent:     yes\nAutostart:      no\nBridge:         virbr10\n";
    expect(parseNetInfo(out)).toEqual({
      uuid: "5c3f0b7e-1111-2222-3333-444455556666",
      active: true,
      autostart: false,
      bridge: "virbr10",
    });
  });
});

import { validateNetworkSpec } from "../../../components/network/network-xml";

// The engine hands a dynamic provider's results through protobuf Structs,
// which refuse undefined values ("Unexpected struct type"): a network
// without DHCP or a bridge name must carry no such keys.
test("a NAT network without dhcp or bridgeName has no undefined values in its spec", () => {
  const spec = validateNetworkSpec({ networkName: "rhce", address: "192.168.100.1" });
  expect(spec).toEqual({
    networkName: "rhce",
    mode: "nat",
    address: "192.168.100.1",
    prefixLength: 24,
    autostart: true,
  });
  expect(Object.entries(spec).filter(([, v]) => v === undefined)).toEqual([]);
});

import * as pulumi from "@pulumi/pulumi";
import { Registered } from "../../support/mocks";

// A preview (mocks in preview mode): what a provider would compute is not known yet.
const registered: Registered[] = [];
pulumi.runtime.setMocks(
  {
    newResource(args: pulumi.runtime.MockResourceArgs) {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs });
      return { id: `${args.name}-id`, state: { ...args.inputs } };
    },
    call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
  },
  "nestlab",
  "test",
  true,
);

// Imported after setMocks, as the Pulumi docs require.
import { RhceLab } from "../../../components";

test("a NAT network made in the same update: the classroom host's NIC names it only once it exists", async () => {
  const lab = new RhceLab("rhce", {
    source: "/images/top.vmdk",
    pool: "nestlab",
    hostNested: "skip",
    natNetwork: { networkName: "rhce", address: "192.168.100.1" },
    classroom: { sshPort: 2222 },
  });
  const find = (type: string) => registered.find((r) => r.type === type);
  // In a preview the classroom host's unknown inputs resolve no apply: wait for its registration.
  for (let i = 0; i < 100 && !find("pulumi-nodejs:dynamic/nestlab:NestedDomain"); i++)
    await new Promise((r) => setTimeout(r, 20));
  expect(lab.network).toBeDefined();
  const domain = find("pulumi-nodejs:dynamic/nestlab:NestedDomain")!;
  const network = find("pulumi-nodejs:dynamic/nestlab:Network")!;
  expect(network.inputs.networkName).toBe("rhce");
  // The domain's check looks the network up on the host: it must not see a name before the network exists.
  expect(domain.inputs.networks).toEqual({ __pulumiUnknown: true });
});

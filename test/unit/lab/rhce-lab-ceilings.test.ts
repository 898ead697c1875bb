import * as pulumi from "@pulumi/pulumi";
import { recordResources, value } from "../../support/mocks";

const registered = recordResources({
  "pulumi-nodejs:dynamic/nestlab:NestedDomain": { vncAddress: "127.0.0.1:5920" },
});

// Imported after setMocks, as the Pulumi docs require.
import { RhceLab } from "../../../components";

test("the classroom host's memory and vCPU ceilings reach the domain, so changes below them apply live", async () => {
  const lab = new RhceLab("rhce", {
    source: "/images/top.vmdk",
    pool: "nestlab",
    hostNested: "skip",
    classroom: { memoryMiB: 2048, maxMemoryMiB: 4096, vcpus: 2, maxVcpus: 4 },
  });
  await value(pulumi.all([lab.volume.path, lab.classroom.state]));
  const domain = registered.find((r) => r.type === "pulumi-nodejs:dynamic/nestlab:NestedDomain")!;
  expect([
    domain.inputs.memoryMiB,
    domain.inputs.maxMemoryMiB,
    domain.inputs.vcpus,
    domain.inputs.maxVcpus,
  ]).toEqual([2048, 4096, 2, 4]);
});

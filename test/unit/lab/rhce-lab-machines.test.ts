import * as pulumi from "@pulumi/pulumi";
import { recordResources, value } from "../../support/mocks";

const registered = recordResources({
  "pulumi-nodejs:dynamic/nestlab:NestedDomain": { vncAddress: "127.0.0.1:5920" },
});

// What each LabMachine's registration tells the engine: which resources its
// classroomDomainName comes from. The engine replaces the machine with the
// classroom host only through that property dependency.
const propertyDeps = new Map<string, Record<string, string[]>>();
type Request = {
  getType(): string;
  getName(): string;
  getPropertydependenciesMap(): {
    forEach(f: (v: { getUrnsList(): string[] }, k: string) => void): void;
  };
};
const monitor = pulumi.runtime.getMonitor() as unknown as {
  registerResource(req: Request, callback: unknown): unknown;
};
const register = monitor.registerResource.bind(monitor);
monitor.registerResource = (req, callback) => {
  const deps: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((v, k) => (deps[k] = [...v.getUrnsList()].sort()));
  propertyDeps.set(`${req.getType()} ${req.getName()}`, deps);
  return register(req, callback);
};

// Imported after setMocks, as the Pulumi docs require.
import { RhceLab } from "../../../components";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n-----END OPENSSH PRIVATE KEY-----\n";

test("each lab machine takes the classroom host's domain name from its NestedDomain, as a property dependency", async () => {
  const lab = new RhceLab("rl", {
    source: "/images/RHEL7_Server-000002.vmdk",
    pool: "nestlab",
    hostNested: "skip",
    classroom: { domainName: "nlt-classroom", sshPort: 2222 },
    labMachines: { sshPrivateKey: KEY, sshHostPublicKey: "ssh-ed25519 AAAA" },
  });
  await value(pulumi.all(Object.values(lab.labMachines).map((m) => m.state)));
  // The classroom host's own resource inside its NestedDomain component (as the mocks name it).
  const domainUrn =
    "urn:pulumi:test::nestlab::nestlab:domain:NestedDomain$pulumi-nodejs:dynamic/nestlab:NestedDomain::rl-classroom";
  const machines = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/nestlab:LabMachine");
  expect(machines.map((m) => [m.name, m.inputs.domainName, m.inputs.classroomDomainName])).toEqual([
    ["rl-lab-classroom", "classroom", "nlt-classroom"],
    ["rl-lab-server", "server", "nlt-classroom"],
    ["rl-lab-desktop", "desktop", "nlt-classroom"],
  ]);
  for (const m of machines) {
    const deps = propertyDeps.get(`${m.type} ${m.name}`)!;
    expect(deps.classroomDomainName).toEqual([domainUrn]);
    // Nothing else of the machine comes from the domain: only its replacement replaces the machine.
    expect(Object.entries(deps).filter(([, urns]) => urns.includes(domainUrn))).toEqual([
      ["classroomDomainName", [domainUrn]],
    ]);
  }
});

import * as pulumi from "@pulumi/pulumi";
import { recordResources, value } from "../../support/mocks";

const registered = recordResources({
  "pulumi-nodejs:dynamic/nestlab:NestedVirtualization": {
    vendor: "amd",
    module: "kvm_amd",
    moduleState: "loaded",
    nested: true,
    persisted: null,
    nestedAfterReboot: true,
    pendingReboot: false,
    runningGuests: 0,
    guests: [],
  },
});

// Imported after setMocks, as the Pulumi docs require.
import { NestedVirtualization } from "../../../components/nested";

beforeEach(() => {
  registered.length = 0;
});

describe("NestedVirtualization", () => {
  test("registers the component and one dynamic resource named after it, with the host split from its key", async () => {
    const nested = new NestedVirtualization("host-nested", {
      mode: "enable",
      host: {
        ssh: {
          host: "lab.example.com",
          port: 2222,
          privateKey:
            "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n",
          knownHosts: "[lab.example.com]:2222 ssh-ed25519 AAAA",
        },
      },
    });
    await value(nested.nested);
    const shown = registered.map((r) => {
      const { __provider, ...inputs } = r.inputs;
      return { type: r.type, name: r.name, inputs, hasProvider: typeof __provider === "string" };
    });
    expect(shown).toEqual([
      {
        type: "nestlab:nested:NestedVirtualization",
        name: "host-nested",
        inputs: {},
        hasProvider: false,
      },
      {
        type: "pulumi-nodejs:dynamic/nestlab:NestedVirtualization",
        name: "host-nested",
        hasProvider: true,
        inputs: {
          host: {
            libvirtUri: "qemu:///system",
            rootDir: "",
            ssh: {
              host: "lab.example.com",
              port: 2222,
              user: "root",
              knownHosts: "[lab.example.com]:2222 ssh-ed25519 AAAA",
              connectTimeoutSeconds: 15,
            },
          },
          // A secret: the engine's secret signature around the value.
          sshPrivateKey: {
            "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
            value: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n",
          },
          mode: "enable",
          restoreOnDelete: false,
        },
      },
    ]);
  });

  test("passes the outputs of the resource through", async () => {
    const nested = new NestedVirtualization("n", { mode: "check" });
    expect(
      await value(
        pulumi
          .all([
            nested.vendor,
            nested.module,
            nested.moduleState,
            nested.nested,
            nested.persisted,
            nested.pendingReboot,
            nested.runningGuests,
          ])
          .apply((v) => v),
      ),
    ).toEqual(["amd", "kvm_amd", "loaded", true, null, false, 0]);
  });

  test("takes this machine when no host is given, and restoreOnDelete through", async () => {
    const nested = new NestedVirtualization("local", { mode: "persist", restoreOnDelete: true });
    await value(nested.nested);
    expect(registered[1].inputs).toMatchObject({
      host: { libvirtUri: "qemu:///system", rootDir: "" },
      mode: "persist",
      restoreOnDelete: true,
    });
    expect((registered[1].inputs.host as Record<string, unknown>).ssh).toBeUndefined();
  });

  test("refuses a bad mode before registering anything below the component", async () => {
    expect(() => new NestedVirtualization("bad", { mode: "on" as never })).toThrow(
      'mode: "on" is not valid; expected one of "enable", "persist", "check", "disable".',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(registered.map((r) => r.type)).not.toContain(
      "pulumi-nodejs:dynamic/nestlab:NestedVirtualization",
    );
  });
});

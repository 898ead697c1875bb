import { HostSpec } from "../../../components/host/connection";
import { NestedInputs, NestedState, provider } from "../../../components/nested/provider";

const local: HostSpec = { libvirtUri: "qemu:///system", rootDir: "" };
const remote: HostSpec = {
  libvirtUri: "qemu:///system",
  rootDir: "",
  ssh: { host: "lab", port: 22, user: "root", connectTimeoutSeconds: 15 },
};

function state(over: Partial<NestedState> = {}): NestedState {
  return {
    host: local,
    mode: "enable",
    restoreOnDelete: false,
    vendor: "amd",
    cpuVendorId: "AuthenticAMD",
    module: "kvm_amd",
    moduleState: "loaded",
    moduleAvailable: true,
    kernelRelease: "6.1.0-18-amd64",
    nested: true,
    persisted: null,
    nestedAfterReboot: true,
    pendingReboot: false,
    cmdlineNested: null,
    modprobeFile: null,
    settings: [],
    conflicts: [],
    runningGuests: 0,
    guests: [],
    notes: [],
    previousModprobeContent: null,
    writtenModprobeContent: null,
    previousNested: true,
    ...over,
  };
}

const inputs = (over: Partial<NestedInputs> = {}): NestedInputs => ({
  host: local,
  mode: "enable",
  restoreOnDelete: false,
  ...over,
});

describe("provider.check", () => {
  test("fills the default of restoreOnDelete", async () => {
    expect(await provider.check({}, { host: local, mode: "enable" })).toEqual({
      inputs: { host: local, mode: "enable", restoreOnDelete: false },
    });
  });

  test("refuses a bad mode with the argument's name, as a failure of that property", async () => {
    expect(await provider.check({}, { host: local, mode: "up" })).toEqual({
      inputs: { host: local, mode: "up" },
      failures: [
        {
          property: "mode",
          reason:
            'mode: "up" is not valid; expected one of "enable", "persist", "check", "disable".',
        },
      ],
    });
  });

  test("lets an unknown mode through during preview", async () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    expect(await provider.check({}, { host: local, mode: unknown })).toEqual({
      inputs: { host: local, mode: unknown },
    });
  });
});

describe("provider.diff", () => {
  test.each([
    [
      "nothing changed, host as wanted",
      state(),
      inputs(),
      { changes: false, replaces: [], deleteBeforeReplace: true },
    ],
    [
      "the mode changed",
      state(),
      inputs({ mode: "disable" }),
      { changes: true, replaces: [], deleteBeforeReplace: true },
    ],
    [
      "restoreOnDelete changed",
      state(),
      inputs({ restoreOnDelete: true }),
      { changes: true, replaces: [], deleteBeforeReplace: true },
    ],
    [
      "another host: replaced, the old one restored first",
      state(),
      inputs({ host: remote }),
      { changes: true, replaces: ["host"], deleteBeforeReplace: true },
    ],
    [
      "the same host reached as another user: updated in place",
      state({ host: remote }),
      inputs({ host: { ...remote, ssh: { ...remote.ssh!, user: "admin" } } }),
      { changes: true, replaces: [], deleteBeforeReplace: true },
    ],
    [
      "drift: refresh saw nested off",
      state({ nested: false, pendingReboot: true }),
      inputs(),
      { changes: true, replaces: [], deleteBeforeReplace: true },
    ],
    [
      "drift: refresh saw the persisted value gone",
      state({ nestedAfterReboot: false, persisted: false }),
      inputs(),
      { changes: true, replaces: [], deleteBeforeReplace: true },
    ],
    [
      "check on a host that cannot nest keeps failing",
      state({ mode: "check", nested: false }),
      inputs({ mode: "check" }),
      { changes: true, replaces: [], deleteBeforeReplace: true },
    ],
  ])("%s", async (_name, olds, news, expected) => {
    expect(await provider.diff("id", olds, news)).toEqual(expected);
  });
});

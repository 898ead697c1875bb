import { RHCE_LAB_MACHINES, validateLabMachines } from "../../../components/lab/lab-machines";
import { isActive, startAction } from "../../../components/libvirt/domain-state";
import { parseVirshNames } from "../../../components/libvirt/virsh";

describe("validateLabMachines", () => {
  it("takes the RHCE lab's machines as they are", () => {
    expect(validateLabMachines([...RHCE_LAB_MACHINES])).toEqual(["classroom", "server", "desktop"]);
  });

  it.each<[string, unknown, string]>([
    [
      "not a list",
      "server",
      'labMachines: "server" is not valid; expected a list of libvirt domain names defined inside the classroom host, e.g. ["classroom", "server", "desktop"].',
    ],
    [
      "a name libvirt refuses",
      ["server", "a/b"],
      'labMachines: ["server","a/b"] is not valid; expected a list of libvirt domain names defined inside the classroom host, e.g. ["classroom", "server", "desktop"].',
    ],
    [
      "a name virsh would take for an id",
      ["42"],
      'labMachines: ["42"] is not valid; expected a list of libvirt domain names defined inside the classroom host, e.g. ["classroom", "server", "desktop"].',
    ],
    [
      "a repeat",
      ["server", "desktop", "server"],
      'labMachines: ["server","desktop","server"] is not valid; expected a list without repeats ("server" is given twice).',
    ],
  ])("refuses %s, naming the argument", (_what, names, message) => {
    expect(() => validateLabMachines(names)).toThrow(message);
  });

  it("names the argument it was given", () => {
    expect(() => validateLabMachines("x", "labMachines.names")).toThrow(
      /^labMachines\.names: "x" is not valid/,
    );
  });
});

describe("startAction", () => {
  it.each([
    ["running", "none"],
    ["idle", "none"],
    ["paused", "resume"],
    ["pmsuspended", "wake"],
    ["shut off", "start"],
    ["crashed", "start"],
    ["in shutdown", "refuse"],
    ["dying", "refuse"],
  ])("%s → %s", (state, action) => {
    expect(startAction(state)).toBe(action);
  });
});

describe("isActive", () => {
  it("counts every state but shut off and crashed (and no answer) as running QEMU", () => {
    expect(
      ["running", "idle", "paused", "in shutdown", "pmsuspended", "shut off", "crashed", ""].map(
        isActive,
      ),
    ).toEqual([true, true, true, true, true, false, false, false]);
  });
});

describe("parseVirshNames (virsh list --all --name)", () => {
  it("gives the names in libvirt's order, without blank lines or padding", () => {
    expect(parseVirshNames(" classroom\nserver \n\ndesktop\n")).toEqual([
      "classroom",
      "server",
      "desktop",
    ]);
    expect(parseVirshNames("\n")).toEqual([]);
  });
});

import { InvalidArgumentError, PreconditionError } from "../../../components/core/errors";
import { checkFailures, topLevelArgument } from "../../../components/host/check-failures";

class SourceProblem extends Error {}

describe("checkFailures", () => {
  it("names an argument error's top-level argument, with its message as the reason", () => {
    const e = new InvalidArgumentError(
      "disks[0].path",
      "x",
      "an absolute path on the libvirt host",
    );
    expect(checkFailures(e)).toEqual([
      {
        property: "disks",
        reason: 'disks[0].path: "x" is not valid; expected an absolute path on the libvirt host.',
      },
    ]);
  });

  it("reports the classes it is given under their property, in the order given", () => {
    expect(checkFailures(new SourceProblem("source: gone"), [[SourceProblem, "source"]])).toEqual([
      { property: "source", reason: "source: gone" },
    ]);
    expect(checkFailures(new PreconditionError("not ours"), [[PreconditionError, ""]])).toEqual([
      { property: "", reason: "not ours" },
    ]);
  });

  it("puts an argument error under another property when the resource names it so", () => {
    const e = new InvalidArgumentError("labMachines", ["a/b"], "domain names");
    expect(checkFailures(e, [], { argumentProperty: "domainName" })[0].property).toBe("domainName");
  });

  it("throws anything else on: it is not the user's doing", () => {
    const bug = new TypeError("x is undefined");
    expect(() => checkFailures(bug, [[PreconditionError, ""]])).toThrow(bug);
    expect(() => checkFailures(new PreconditionError("p"))).toThrow("p");
  });
});

describe("topLevelArgument", () => {
  it.each([
    ["vnc.port", "vnc"],
    ["networks[1].user.forwards[0].hostPort", "networks"],
    ["memoryMiB", "memoryMiB"],
  ])("%s → %s", (argument, top) => expect(topLevelArgument(argument)).toBe(top));
});

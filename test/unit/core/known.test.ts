import * as pulumi from "@pulumi/pulumi";
import { InvalidArgumentError } from "../../../components/core/errors";
import { isEventual, knownParts, validateKnown } from "../../../components/core/known";
import { UNKNOWN } from "../../../components/core/unknown";

describe("knownParts", () => {
  it("keeps plain values, turns Outputs, Promises and resources into UNKNOWN, leaves out the keys named", () => {
    const resource = new (class Resource {
      readonly ref = 1;
    })();
    const known = knownParts(
      {
        name: "a",
        size: 3,
        later: pulumi.output("x"),
        promised: Promise.resolve(1),
        list: [1, pulumi.output(2), { password: "p", keep: true }],
        volume: resource,
        host: { ssh: { host: "h" } },
      },
      ["host", "password"],
    );
    expect(known).toEqual({
      name: "a",
      size: 3,
      later: UNKNOWN,
      promised: UNKNOWN,
      list: [1, UNKNOWN, { keep: true }],
      volume: UNKNOWN,
    });
    expect([isEventual(pulumi.output(1)), isEventual(Promise.resolve()), isEventual({})]).toEqual([
      true,
      true,
      false,
    ]);
  });
});

describe("validateKnown", () => {
  const resource = {} as pulumi.Resource;

  it("hands the validator the known parts and returns its answer", () => {
    expect(validateKnown(resource, { a: 1, b: pulumi.output(2) }, (k) => [k.a, k.b])).toEqual([
      1,
      UNKNOWN,
    ]);
  });

  it("turns an argument error, and only that, into the component's ResourceError", () => {
    const refuse = (): void => {
      throw new InvalidArgumentError("a", 1, "two");
    };
    expect(() => validateKnown(resource, { a: 1 }, refuse)).toThrow(pulumi.ResourceError);
    expect(() => validateKnown(resource, { a: 1 }, refuse)).toThrow(
      "a: 1 is not valid; expected two.",
    );
    const bug = new TypeError("boom");
    expect(() =>
      validateKnown(resource, {}, () => {
        throw bug;
      }),
    ).toThrow(bug);
  });
});

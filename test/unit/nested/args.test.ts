import { desiredNested, validateNestedArgs } from "../../../components/nested/args";

describe("validateNestedArgs", () => {
  test.each([
    [{ mode: "enable" }, { mode: "enable", restoreOnDelete: false }],
    [
      { mode: "persist", restoreOnDelete: true },
      { mode: "persist", restoreOnDelete: true },
    ],
    [{ mode: "check" }, { mode: "check", restoreOnDelete: false }],
    [
      { mode: "disable", restoreOnDelete: false },
      { mode: "disable", restoreOnDelete: false },
    ],
  ])("accepts %j", (raw, expected) => expect(validateNestedArgs(raw)).toEqual(expected));

  test.each([
    [
      { mode: "on" },
      'mode: "on" is not valid; expected one of "enable", "persist", "check", "disable".',
    ],
    [{}, 'mode: (nothing) is not valid; expected one of "enable", "persist", "check", "disable".'],
    [
      { mode: "Enable" },
      'mode: "Enable" is not valid; expected one of "enable", "persist", "check", "disable".',
    ],
    [
      { mode: "enable", restoreOnDelete: "yes" },
      'restoreOnDelete: "yes" is not valid; expected true or false.',
    ],
  ])("refuses %j", (raw, message) => expect(() => validateNestedArgs(raw)).toThrow(message));
});

describe("desiredNested", () => {
  test.each([
    ["enable", true],
    ["persist", true],
    ["check", true],
    ["disable", false],
  ] as const)("%s → %s", (mode, expected) => expect(desiredNested(mode)).toBe(expected));
});

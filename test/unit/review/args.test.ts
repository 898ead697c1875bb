import { parseReviewArgs, previewArgv } from "../../../review/args";
import { gateFailure, parseFailOn } from "../../../review/gate";
import { ReviewFacts } from "../../../review/facts";

test("defaults, both flag forms, and the fail-on classes", () => {
  expect(parseReviewArgs([])).toEqual({
    stack: "dev",
    out: undefined,
    json: undefined,
    failOn: [],
    preview: undefined,
  });
  expect(
    parseReviewArgs([
      "--stack",
      "lab",
      "--out=c.md",
      "--json",
      "f.json",
      "--fail-on",
      "replace,delete",
    ]),
  ).toEqual({
    stack: "lab",
    out: "c.md",
    json: "f.json",
    failOn: ["replace", "delete"],
    preview: undefined,
  });
});

test("bad arguments name the argument and what is allowed", () => {
  expect(() => parseReviewArgs(["--stak", "dev"])).toThrow(
    '"--stak" is not valid; expected one of --stack, --out, --json, --fail-on, --preview;',
  );
  expect(() => parseReviewArgs(["--out"])).toThrow(
    "--out: (nothing) is not valid; expected a value after --out",
  );
  expect(() => parseFailOn("replace,reboot")).toThrow(
    '--fail-on: "replace,reboot" is not valid; expected a comma-separated list of impact classes: replace, delete, restart, create, live (e.g. --fail-on replace,delete).',
  );
});

test("the preview argv", () => {
  expect(previewArgv("dev")).toEqual([
    "preview",
    "--json",
    "--show-sames",
    "--non-interactive",
    "--stack",
    "dev",
  ]);
});

test("the gate names the resources that caused it", () => {
  const facts = {
    stack: "dev",
    errors: [],
    rows: [
      { resource: "classroom disk jiaoshiji.qcow2", impact: "replace" },
      { resource: "classroom host jiaoshiji", impact: "restart" },
    ],
  } as unknown as ReviewFacts;
  expect(gateFailure(facts, ["replace", "delete"])).toBe(
    "--fail-on replace,delete: classroom disk jiaoshiji.qcow2 (replace)",
  );
  expect(gateFailure(facts, ["delete"])).toBeUndefined();
  expect(gateFailure({ ...facts, errors: ["boom"] }, [])).toBe("the preview of stack dev failed");
});

import { parseUpdatePlan } from "../../../review/update-plan";

test("the domain provider's plan lines", () => {
  expect(parseUpdatePlan("restart: cpu, vnc; live: memoryMiB")).toEqual({
    replace: [],
    restart: [{ property: "cpu" }, { property: "vnc" }],
    live: [{ property: "memoryMiB" }],
  });
  expect(parseUpdatePlan("replace: domainName")).toEqual({
    replace: [{ property: "domainName" }],
    restart: [],
    live: [],
  });
});

test("a reason in parentheses stays with its property, commas and colons inside it included", () => {
  expect(
    parseUpdatePlan(
      "restart: disks (disk replaced: the state inside it is lost), cpu; live: vcpus",
    ),
  ).toEqual({
    replace: [],
    restart: [
      { property: "disks", reason: "disk replaced: the state inside it is lost" },
      { property: "cpu" },
    ],
    live: [{ property: "vcpus" }],
  });
});

test("not a plan: absent, unknown, or another shape", () => {
  expect(parseUpdatePlan(undefined)).toBeUndefined();
  expect(parseUpdatePlan("04da6b54-80e4-46f7-96ec-b56ff0331ba9")).toBeUndefined();
  expect(parseUpdatePlan("reboot: cpu")).toBeUndefined();
});

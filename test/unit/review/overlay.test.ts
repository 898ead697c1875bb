import { review } from "../../../review";

// A classroom's student disks (OverlayVolume) in a review: a preview in the engine's
// JSON shape (`pulumi preview --json`), reduced to the steps that matter here.

const STACK = "urn:pulumi:class::nestlab::pulumi:pulumi:Stack::nestlab-class";
const OVERLAY_TYPE = "pulumi-nodejs:dynamic/nestlab:OverlayVolume";
const urnOf = (name: string) =>
  `urn:pulumi:class::nestlab::nestlab:classroom:Classroom$nestlab:volume:OverlayVolume$${OVERLAY_TYPE}::${name}`;
const DOMAIN_URN =
  "urn:pulumi:class::nestlab::nestlab:classroom:Classroom$nestlab:domain:NestedDomain$pulumi-nodejs:dynamic/nestlab:NestedDomain::class-s09-classroom";

const BASE_URN =
  "urn:pulumi:class::nestlab::nestlab:classroom:Classroom$nestlab:volume:ConvertedVolume$pulumi-nodejs:dynamic/nestlab:ConvertedVolume::class-hv2-base";

function overlay(student: string, generation: number, updatePlan?: string) {
  return {
    urn: urnOf(`class-${student}-disk`),
    custom: true,
    type: OVERLAY_TYPE,
    inputs: {
      pool: "class",
      volumeName: `class-${student}.qcow2`,
      backingPath: "/var/lib/libvirt/images/class/class-hv1-base.qcow2",
      backingFormat: "qcow2",
      generation,
      label: `lab of student ${student}`,
      ...(updatePlan ? { updatePlan } : {}),
    },
    outputs: {},
  };
}

const RESET = "replace: generation (lab of student s07 reset: its state is lost)";

const preview = JSON.stringify({
  steps: [
    {
      op: "same",
      urn: STACK,
      oldState: { urn: STACK, custom: false, type: "pulumi:pulumi:Stack" },
    },
    {
      op: "replace",
      urn: urnOf("class-s07-disk"),
      oldState: overlay("s07", 0),
      newState: overlay("s07", 1, RESET),
      replaceReasons: ["generation"],
    },
    { op: "create", urn: urnOf("class-s09-disk"), newState: overlay("s09", 0) },
    { op: "delete", urn: urnOf("class-s02-disk"), oldState: overlay("s02", 0) },
    {
      op: "create",
      urn: BASE_URN,
      newState: {
        urn: BASE_URN,
        custom: true,
        type: "pulumi-nodejs:dynamic/nestlab:ConvertedVolume",
        inputs: {
          source: "/srv/rhce/RHEL7_Server-000002.vmdk",
          volumeName: "class-hv2-base.qcow2",
        },
      },
    },
    {
      op: "create",
      urn: DOMAIN_URN,
      newState: {
        urn: DOMAIN_URN,
        custom: true,
        type: "pulumi-nodejs:dynamic/nestlab:NestedDomain",
        inputs: { domainName: "jiaoshiji-s09", running: true },
      },
    },
  ],
});

const INSIDE =
  "everything written in that lab since it was made (its classroom host's files and the lab machines' disks within it)";

test("a reset names the student and says the lab's state is lost; a new student's disk is an empty overlay on the base; the base is converted", () => {
  const { facts } = review(preview, "class");
  expect(facts.rows.map((r) => [r.resource, r.action, r.impact, r.detail])).toEqual([
    [
      "base disk class-hv2-base.qcow2",
      "create",
      "create",
      "converted from RHEL7_Server-000002.vmdk",
    ],
    ["lab disk class-s02.qcow2", "delete", "delete", "the volume file is deleted"],
    [
      "lab disk class-s07.qcow2",
      "replace",
      "replace",
      "generation (lab of student s07 reset: its state is lost)",
    ],
    ["lab disk class-s09.qcow2", "create", "create", "an empty overlay on class-hv1-base.qcow2"],
    ["classroom host jiaoshiji-s09", "create", "create", "defined and started"],
  ]);
  expect(facts.consequences.map((c) => [c.kind, c.resource, c.text])).toEqual([
    [
      "conversion",
      "base disk class-hv2-base.qcow2",
      "base disk class-hv2-base.qcow2 is converted from RHEL7_Server-000002.vmdk: the source's size is known only once it is inspected.",
    ],
    [
      "state-lost",
      "lab disk class-s02.qcow2",
      `lab disk class-s02.qcow2 is deleted, and ${INSIDE} with it.`,
    ],
    [
      "state-lost",
      "lab disk class-s07.qcow2",
      "lab disk class-s07.qcow2 is replaced (generation (lab of student s07 reset: its state is lost)): " +
        `a new, empty overlay on the base takes its place, so ${INSIDE} is lost.`,
    ],
  ]);
  expect(facts.answers.losesData).toBe(true);
  // A conversion is said for the base only: an overlay reads nothing from a source.
  expect(facts.consequences.filter((c) => c.kind === "conversion")).toHaveLength(1);
});

import { review } from "../../../review";

// Why the lab's disk is replaced, in words: a preview in the engine's JSON shape with one step.

const TYPE = "pulumi-nodejs:dynamic/nestlab:ConvertedVolume";
const URN = `urn:pulumi:dev::nestlab::nestlab:lab:RhceLab$nestlab:volume:ConvertedVolume$${TYPE}::rhce-disk`;

function disk(authorizedKey: string) {
  return {
    urn: URN,
    custom: true,
    type: TYPE,
    inputs: {
      source: "/srv/rhce/RHEL7_Server-000002.vmdk",
      volumeName: "jiaoshiji.qcow2",
      rootAccess: { authorizedKey },
    },
    outputs: {},
  };
}

const replaced = (replaceReasons: string[]) =>
  JSON.stringify({
    steps: [
      {
        op: "replace",
        urn: URN,
        oldState: disk("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOld old"),
        newState: disk("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINew new"),
        replaceReasons,
      },
    ],
  });

const KEY = "another key for root: the disk is converted again and the key written into it";

test("another key for root replaces the classroom disk, said in words, and its state is lost", () => {
  const { facts } = review(replaced(["rootAccess"]), "dev");
  expect(facts.rows.map((r) => [r.resource, r.action, r.impact, r.detail])).toEqual([
    ["classroom disk jiaoshiji.qcow2", "replace", "replace", KEY],
  ]);
  expect(facts.consequences.filter((c) => c.kind === "state-lost").map((c) => c.text)).toEqual([
    `classroom disk jiaoshiji.qcow2 is replaced (${KEY}): it is deleted and converted again from the source, ` +
      "so everything written inside it since it was made (the classroom host's files and the lab machines' disks within it) is lost.",
  ]);
});

test("several reasons keep the engine's order, each in words where it has some", () => {
  const { facts } = review(replaced(["pool", "sourceFingerprint", "rootAccess"]), "dev");
  expect(facts.rows.map((r) => r.detail)).toEqual([`pool, source content changed, ${KEY}`]);
});

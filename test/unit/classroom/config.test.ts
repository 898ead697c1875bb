import {
  isClassroomConfig,
  parseClassroomConfig,
  seatsOfRoster,
} from "../../../components/classroom/config";

const LAB = { source: "/srv/top.vmdk", pool: "class" };
const HV = [{ name: "hv1", memoryMiB: 8192, vcpus: 8 }];

describe("the classroom stack's configuration", () => {
  test("a stack that names hypervisors is a classroom", () => {
    expect(isClassroomConfig({ hypervisors: HV })).toBe(true);
    expect(isClassroomConfig({})).toBe(false);
  });

  test("students as ids or objects; hostNested defaults to enable", () => {
    expect(
      parseClassroomConfig({
        hypervisors: HV,
        students: ["s01", { id: "s02", hypervisor: "hv1", generation: 2 }],
        lab: LAB,
      }),
    ).toEqual({
      hypervisors: HV,
      students: [{ id: "s01" }, { id: "s02", hypervisor: "hv1", generation: 2 }],
      lab: LAB,
      hostNested: "enable",
    });
  });

  test("refuses a key in plain configuration, naming the secret to set", () => {
    expect(() =>
      parseClassroomConfig({
        hypervisors: [{ ...HV[0], ssh: { host: "hv1", privateKey: "-----BEGIN" } }],
        students: [],
        lab: LAB,
      }),
    ).toThrow(
      'nestlab:hypervisors[0].ssh.privateKey: "(a key in plain configuration)" is not valid; expected no key here: ' +
        "set the key as a secret, `pulumi config set --secret hypervisorSshKey < key`.",
    );
  });

  test("refuses a lab without its image or pool, and an unknown hostNested", () => {
    expect(() =>
      parseClassroomConfig({ hypervisors: HV, students: [], lab: { pool: "p" } }),
    ).toThrow('nestlab:lab: {"pool":"p"} is not valid; expected { source, pool,');
    expect(() =>
      parseClassroomConfig({ hypervisors: HV, students: [], lab: LAB, hostNested: "on" }),
    ).toThrow(
      'nestlab:hostNested: "on" is not valid; expected enable, persist, check, disable, skip.',
    );
  });

  test("the seats of the last roster; nothing from a stack without one", () => {
    expect(
      seatsOfRoster([
        { student: "s01", hypervisor: "hv2", slot: 0, ssh: "ssh -p 2222 root@127.0.0.1" },
        { student: "s02" },
      ]),
    ).toEqual([{ student: "s01", hypervisor: "hv2", slot: 0 }]);
    expect(seatsOfRoster(undefined)).toEqual([]);
  });
});

import { addressStudents, resolveAddressing } from "../../../components/classroom/addressing";
import {
  HypervisorCapacity,
  placeStudents,
  rank,
  Seat,
  StudentEntry,
} from "../../../components/classroom/placement";

const TWO: HypervisorCapacity[] = [
  { name: "hv1", memoryMiB: 8192, vcpus: 8 },
  { name: "hv2", memoryMiB: 8192, vcpus: 8 },
];
const LAB = { memoryMiB: 2048, vcpus: 2 };
const ids = (...names: string[]): StudentEntry[] => names.map((id) => ({ id }));
const place = (students: StudentEntry[], previous?: Seat[], hypervisors = TWO) =>
  placeStudents({ students, hypervisors, demand: LAB, previous, slots: 100 });
/** Seats and addresses by student, for comparing two deployments. */
const byStudent = (seats: Seat[]) =>
  Object.fromEntries(addressStudents(seats).map((a) => [a.student, a]));

describe("placeStudents", () => {
  test("spreads four students over two hypervisors by rendezvous hashing, slots in id order", () => {
    expect(place(ids("s01", "s02", "s03", "s04"))).toEqual([
      { student: "s01", hypervisor: "hv2", slot: 0 },
      { student: "s02", hypervisor: "hv1", slot: 0 },
      { student: "s03", hypervisor: "hv1", slot: 1 },
      { student: "s04", hypervisor: "hv2", slot: 1 },
    ]);
  });

  test("the list's order does not matter", () => {
    const a = place(ids("s01", "s02", "s03", "s04"));
    const b = place(ids("s04", "s02", "s03", "s01"));
    expect(Object.fromEntries(b.map((s) => [s.student, s]))).toEqual(
      Object.fromEntries(a.map((s) => [s.student, s])),
    );
  });

  test("adding one student changes exactly one student's placement and addressing", () => {
    const before = place(ids("s01", "s02", "s03", "s04"));
    // "a00" sorts first: without the previous seats it would take slot 0 and push the others on.
    const after = place(ids("s01", "s02", "s03", "s04", "a00"), before);
    const old = byStudent(before);
    const now = byStudent(after);
    const changed = Object.keys(now).filter(
      (id) => JSON.stringify(now[id]) !== JSON.stringify(old[id]),
    );
    expect(changed).toEqual(["a00"]);
    expect(now.a00).toEqual({
      student: "a00",
      hypervisor: "hv2",
      slot: 2,
      domainName: "jiaoshiji-a00",
      volumeName: "jiaoshiji-a00.qcow2",
      vncDisplay: 22,
      vncPort: 5922,
      serialPort: 4446,
      sshPort: 2224,
    });
  });

  test("removing one student changes none of the others, and its slot is taken by the next newcomer", () => {
    const before = place(ids("s01", "s02", "s03", "s04"));
    const after = place(ids("s01", "s03", "s04"), before);
    const old = byStudent(before);
    for (const [id, a] of Object.entries(byStudent(after))) expect(a).toEqual(old[id]);
    expect(Object.keys(byStudent(after)).sort()).toEqual(["s01", "s03", "s04"]);
    // s05 ranks hv1 first: it takes the slot s02 left.
    const again = place(ids("s01", "s03", "s04", "s05"), after);
    expect(again.find((s) => s.student === "s05")).toEqual({
      student: "s05",
      hypervisor: "hv1",
      slot: 0,
    });
  });

  test("with full hypervisors the previous seats keep everyone where they are", () => {
    const one: HypervisorCapacity[] = [
      { name: "a", memoryMiB: 2048, vcpus: 2 },
      { name: "b", memoryMiB: 2048, vcpus: 2 },
    ];
    const both = place(ids("s1", "s2"), undefined, one);
    expect(both).toEqual([
      { student: "s1", hypervisor: "b", slot: 0 },
      { student: "s2", hypervisor: "a", slot: 0 },
    ]);
    // s2 alone would rank "b" first: kept on "a" because that is where its lab is.
    expect(rank("s2", one, LAB).map((h) => h.name)).toEqual(["b", "a"]);
    expect(place(ids("s2"), both, one)).toEqual([{ student: "s2", hypervisor: "a", slot: 0 }]);
    expect(place(ids("s2"), undefined, one)).toEqual([{ student: "s2", hypervisor: "b", slot: 0 }]);
  });

  test("a student whose hypervisor left the list is placed anew; the others stay", () => {
    const before = place(ids("s01", "s02", "s03", "s04"));
    const three = [...TWO, { name: "hv3", memoryMiB: 8192, vcpus: 8 }];
    const moved = place(ids("s01", "s02", "s03", "s04"), before, [three[0], three[2]]);
    expect(moved).toEqual([
      { student: "s01", hypervisor: "hv3", slot: 0 },
      { student: "s02", hypervisor: "hv1", slot: 0 },
      { student: "s03", hypervisor: "hv1", slot: 1 },
      { student: "s04", hypervisor: "hv3", slot: 1 },
    ]);
  });

  test("pinned students go where they are pinned, before the others are placed", () => {
    const seats = place([
      { id: "s01", hypervisor: "hv1" },
      { id: "s02" },
      { id: "s03", hypervisor: "hv2" },
      { id: "s04" },
    ]);
    expect(seats).toEqual([
      { student: "s01", hypervisor: "hv1", slot: 0 },
      { student: "s02", hypervisor: "hv1", slot: 1 },
      { student: "s03", hypervisor: "hv2", slot: 0 },
      { student: "s04", hypervisor: "hv2", slot: 1 },
    ]);
  });

  test("a new pin moves only that student, to the lowest free slot there", () => {
    const before = place(ids("s01", "s02", "s03", "s04"));
    const after = place([...ids("s01", "s02", "s03"), { id: "s04", hypervisor: "hv1" }], before);
    expect(after).toEqual([
      { student: "s01", hypervisor: "hv2", slot: 0 },
      { student: "s02", hypervisor: "hv1", slot: 0 },
      { student: "s03", hypervisor: "hv1", slot: 1 },
      { student: "s04", hypervisor: "hv1", slot: 2 },
    ]);
  });

  test("a hypervisor too small for one lab is never chosen", () => {
    const small = [{ name: "tiny", memoryMiB: 1024, vcpus: 8 }, TWO[0]];
    expect(place(ids("s01", "s02", "s03"), undefined, small).map((s) => s.hypervisor)).toEqual([
      "hv1",
      "hv1",
      "hv1",
    ]);
  });

  test("a classroom that does not fit fails, saying how much is missing where", () => {
    expect(() => place(ids(...Array.from({ length: 10 }, (_, i) => `s${i + 1}`)))).toThrow(
      'students: ["s8","s9"] is not valid; expected labs that fit: 2 more labs of 2048 MiB and 2 vCPUs fit on no hypervisor ' +
        '(free: "hv1" 0 MiB and 0 vCPUs, "hv2" 0 MiB and 0 vCPUs); missing: 4096 MiB and 4 vCPUs in all, ' +
        "each lab whole on one hypervisor. Add a hypervisor or capacity, or remove students.",
    );
  });

  test("too many students pinned to one hypervisor fail, naming it and what it lacks", () => {
    const pinned = ["s01", "s02", "s03", "s04", "s05"].map((id) => ({ id, hypervisor: "hv1" }));
    expect(() => place(pinned)).toThrow(
      'students: ["s01","s02","s03","s04","s05"] is not valid; expected labs that fit on their hypervisors: ' +
        '"hv1" (8192 MiB, 8 vCPUs) lacks 2048 MiB and 2 vCPUs for the 5 labs pinned to it or already on it ' +
        "(s01, s02, s03, s04, s05; 2048 MiB and 2 vCPUs each). Give those hypervisors more capacity, or pin some " +
        "of those students elsewhere (a moved lab is made anew: its state is lost).",
    );
  });

  test("capacity lowered under the labs already there fails instead of moving them", () => {
    const before = place(ids("s01", "s02", "s03", "s04"));
    const smaller = [{ name: "hv1", memoryMiB: 2048, vcpus: 8 }, TWO[1]];
    expect(() => place(ids("s01", "s02", "s03", "s04"), before, smaller)).toThrow(
      '"hv1" (2048 MiB, 8 vCPUs) lacks 2048 MiB for the 2 labs pinned to it or already on it (s02, s03;',
    );
  });

  test.each([
    ["s/1", "students[1].id"],
    ["-s1", "students[1].id"],
    ["", "students[1].id"],
    ["s 1", "students[1].id"],
    [".s1", "students[1].id"],
    ["x".repeat(64), "students[1].id"],
  ])("refuses the student id %j", (id, argument) => {
    expect(() => place([{ id: "ok" }, { id }])).toThrow(
      `${argument}: ${JSON.stringify(id)} is not valid; expected an id of 1 to 63 letters, digits, "_", "." or "-", ` +
        "starting with a letter or digit (it becomes part of domain, volume and resource names).",
    );
  });

  test("refuses a student listed twice, a pin to an unknown hypervisor, a hypervisor named twice", () => {
    expect(() => place(ids("s1", "s1"))).toThrow(
      'students[1].id: "s1" is not valid; expected an id not used twice.',
    );
    expect(() => place([{ id: "s1", hypervisor: "hv9" }])).toThrow(
      'students[0].hypervisor: "hv9" is not valid; expected one of the hypervisors: "hv1", "hv2".',
    );
    expect(() => place(ids("s1"), undefined, [TWO[0], TWO[0]])).toThrow(
      'hypervisors[1].name: "hv1" is not valid; expected a name not used twice.',
    );
    expect(() => place(ids("s1"), undefined, [])).toThrow(
      "hypervisors: [] is not valid; expected at least one hypervisor.",
    );
  });
});

describe("addressStudents", () => {
  test("derives names and ports from the slot", () => {
    expect(
      addressStudents([{ student: "s07", hypervisor: "hv2", slot: 3 }], {
        domainPrefix: "rhce",
        vncDisplayBase: 40,
        serialPortBase: 5000,
        sshPortBase: 3000,
      }),
    ).toEqual([
      {
        student: "s07",
        hypervisor: "hv2",
        slot: 3,
        domainName: "rhce-s07",
        volumeName: "rhce-s07.qcow2",
        vncDisplay: 43,
        vncPort: 5943,
        serialPort: 5003,
        sshPort: 3003,
      },
    ]);
  });

  test("no two labs on one hypervisor share a port", () => {
    const seats = place(ids(...Array.from({ length: 8 }, (_, i) => `s${i}`)));
    const addresses = addressStudents(seats);
    for (const hv of ["hv1", "hv2"]) {
      const ports = addresses
        .filter((a) => a.hypervisor === hv)
        .flatMap((a) => [a.vncPort, a.serialPort, a.sshPort]);
      expect(new Set(ports).size).toBe(ports.length);
      expect(ports.length).toBe(12);
    }
  });

  test("refuses an id that makes a domain name libvirt would read as a UUID", () => {
    expect(() =>
      addressStudents([{ student: "1234-1234-1234-123456789012", hypervisor: "hv1", slot: 0 }], {
        domainPrefix: "12345678",
      }),
    ).toThrow(
      'students[0].id: "1234-1234-1234-123456789012" is not valid; expected an id that makes "12345678-<id>" a libvirt domain name',
    );
  });

  test("refuses port ranges that overlap, naming both", () => {
    expect(() => resolveAddressing({ serialPortBase: 2300 })).toThrow(
      "sshPortBase: 2222 is not valid; expected a port range of 100 ports (slots) apart from serialPortBase's 2300-2399.",
    );
    expect(() => resolveAddressing({ vncDisplayBase: 0, sshPortBase: 5950 })).toThrow(
      "sshPortBase: 5950 is not valid; expected a port range of 100 ports (slots) apart from vncDisplayBase's 5900-5999.",
    );
    expect(() => resolveAddressing({ domainPrefix: "a/b" })).toThrow(
      'domainPrefix: "a/b" is not valid',
    );
  });
});

import { createHash } from "crypto";
import { InvalidArgumentError, showValue } from "../core/errors";
import { wholeNumber } from "../core/checks";

/**
 * Which hypervisor each student's lab goes to, and its slot there (which
 * fixes its ports, see addressing.ts). Pure: no Pulumi, no processes.
 *
 * Stable: adding or removing a student never moves another student's lab,
 * since moving one replaces it and loses what the student did in it. No
 * function of the roster alone can promise that once a hypervisor is full
 * (two hypervisors with room for one lab each: whichever of two students
 * keeps the first, removing the other must not move it, and a third student
 * breaks every choice), so the previous placement is an input: a student
 * already placed keeps its hypervisor and slot, and only students new to
 * the roster (or whose hypervisor left the list, or whose pin changed) are
 * placed. Those go by weighted rendezvous hashing (highest random weight):
 * each hypervisor scores each student from a hash of both names, weighted
 * by how many labs it holds, and the student takes the best-scoring
 * hypervisor with room left. The choice depends on the student's own id,
 * not on the list's order or on the others, so even without the previous
 * placement (a new stack, a lost state) the labs land where they landed
 * before for as long as no hypervisor is full.
 */

/** A hypervisor as placement sees it: its name and what it may give to labs. */
export interface HypervisorCapacity {
  /** The hypervisor's name in the classroom (not its host name). */
  readonly name: string;
  /** Memory it may give to labs, in MiB. */
  readonly memoryMiB: number;
  /** vCPUs it may give to labs. */
  readonly vcpus: number;
}

export interface StudentEntry {
  /** The student's id: part of the lab's domain, volume and resource names. */
  readonly id: string;
  /** Put this student's lab on this hypervisor, whatever the others do. */
  readonly hypervisor?: string;
}

/** What one lab takes from its hypervisor. */
export interface LabDemand {
  readonly memoryMiB: number;
  readonly vcpus: number;
}

/** One student's place: the hypervisor and the slot on it (0, 1, …). */
export interface Seat {
  readonly student: string;
  readonly hypervisor: string;
  readonly slot: number;
}

export interface PlacementInput {
  readonly students: readonly StudentEntry[];
  readonly hypervisors: readonly HypervisorCapacity[];
  readonly demand: LabDemand;
  /** The seats of the last deployment (its roster); what makes placement stable. @default [] */
  readonly previous?: readonly Seat[];
  /** Slots a hypervisor has (its port ranges' length, see addressing.ts). */
  readonly slots: number;
}

/**
 * Student ids and hypervisor names become parts of libvirt domain names,
 * volume file names and Pulumi resource names: letters, digits, _ . -, and
 * starting with a letter or digit.
 */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const ID_RULE =
  'an id of 1 to 63 letters, digits, "_", "." or "-", starting with a letter or digit (it becomes part of domain, volume and resource names)';

/**
 * The seats, one per student in the order given. Throws InvalidArgumentError
 * before anything is made when the arguments are wrong or the classroom does
 * not fit, saying how much is missing where.
 */
export function placeStudents(input: PlacementInput): Seat[] {
  const { students, hypervisors, demand, slots } = input;
  validateHypervisors(hypervisors);
  validateStudents(students, hypervisors);
  wholeNumber("lab.memoryMiB", demand.memoryMiB, 1, Number.MAX_SAFE_INTEGER);
  wholeNumber("lab.vcpus", demand.vcpus, 1, Number.MAX_SAFE_INTEGER);

  const listed = new Set(hypervisors.map((h) => h.name));
  const previous = new Map<string, Seat>();
  for (const seat of input.previous ?? []) {
    if (listed.has(seat.hypervisor) && Number.isInteger(seat.slot) && seat.slot >= 0)
      previous.set(seat.student, seat);
  }
  const byId = [...students].sort((a, b) => compare(a.id, b.id));
  const chosen = new Map<string, string>();
  // First those whose place is decided: pinned, or where the last deployment put them.
  for (const s of byId) {
    const at = s.hypervisor ?? previous.get(s.id)?.hypervisor;
    if (at !== undefined) chosen.set(s.id, at);
  }
  const overfull = hypervisors
    .map((h) => shortfall(h, demand, studentsOn(chosen, h.name)))
    .filter((m): m is Shortfall => m !== undefined);
  if (overfull.length > 0) {
    throw new InvalidArgumentError(
      "students",
      overfull.flatMap((m) => m.students),
      `labs that fit on their hypervisors: ${overfull.map((m) => describeShortfall(m, demand)).join("; ")}. ` +
        `Give those hypervisors more capacity, or pin some of those students elsewhere (a moved lab is made anew: its state is lost)`,
    );
  }
  // Then the new ones, each by its own ranking of the hypervisors.
  const homeless: string[] = [];
  for (const s of byId) {
    if (chosen.has(s.id)) continue;
    const home = rank(s.id, hypervisors, demand).find((h) =>
      fits(h, demand, studentsOn(chosen, h.name).length + 1),
    );
    if (home === undefined) homeless.push(s.id);
    else chosen.set(s.id, home.name);
  }
  if (homeless.length > 0) {
    const free = hypervisors
      .map((h) => {
        const used = studentsOn(chosen, h.name).length;
        return `"${h.name}" ${h.memoryMiB - used * demand.memoryMiB} MiB and ${vcpuWord(h.vcpus - used * demand.vcpus)}`;
      })
      .join(", ");
    throw new InvalidArgumentError(
      "students",
      homeless,
      `labs that fit: ${homeless.length} more ${homeless.length === 1 ? "lab" : "labs"} of ${demand.memoryMiB} MiB and ${vcpuWord(demand.vcpus)} ` +
        `fit on no hypervisor (free: ${free}); missing: ${homeless.length * demand.memoryMiB} MiB and ${vcpuWord(homeless.length * demand.vcpus)} in all, ` +
        `each lab whole on one hypervisor. Add a hypervisor or capacity, or remove students`,
    );
  }
  return assignSlots(byId, chosen, previous, slots, students);
}

/** Slots: a student kept where it was keeps its slot; the others take the lowest free one, in id order. */
function assignSlots(
  byId: readonly StudentEntry[],
  chosen: ReadonlyMap<string, string>,
  previous: ReadonlyMap<string, Seat>,
  slots: number,
  order: readonly StudentEntry[],
): Seat[] {
  const taken = new Map<string, Set<number>>();
  const slotOf = new Map<string, number>();
  const used = (hv: string): Set<number> => {
    let set = taken.get(hv);
    if (!set) taken.set(hv, (set = new Set()));
    return set;
  };
  for (const s of byId) {
    const before = previous.get(s.id);
    const hv = chosen.get(s.id) as string;
    if (before && before.hypervisor === hv && before.slot < slots && !used(hv).has(before.slot)) {
      used(hv).add(before.slot);
      slotOf.set(s.id, before.slot);
    }
  }
  for (const s of byId) {
    if (slotOf.has(s.id)) continue;
    const hv = chosen.get(s.id) as string;
    let slot = 0;
    while (used(hv).has(slot)) slot++;
    if (slot >= slots) {
      throw new InvalidArgumentError(
        "students",
        studentsOn(chosen, hv),
        `at most ${slots} labs on one hypervisor (the length of its port ranges); "${hv}" would get ${studentsOn(chosen, hv).length}. ` +
          `Spread the students over more hypervisors`,
      );
    }
    used(hv).add(slot);
    slotOf.set(s.id, slot);
  }
  return order.map((s) => ({
    student: s.id,
    hypervisor: chosen.get(s.id) as string,
    slot: slotOf.get(s.id) as number,
  }));
}

/** How many labs of `demand` a hypervisor holds. */
export function labsThatFit(h: HypervisorCapacity, demand: LabDemand): number {
  return Math.min(Math.floor(h.memoryMiB / demand.memoryMiB), Math.floor(h.vcpus / demand.vcpus));
}

function fits(h: HypervisorCapacity, demand: LabDemand, labs: number): boolean {
  return labs * demand.memoryMiB <= h.memoryMiB && labs * demand.vcpus <= h.vcpus;
}

/**
 * The hypervisors in the order this student prefers them: weighted
 * rendezvous hashing, score = weight / -ln(u) with u in (0, 1) from
 * sha256(hypervisor NUL student), weight = the labs the hypervisor holds.
 * A hypervisor that holds none is never chosen.
 */
export function rank(
  student: string,
  hypervisors: readonly HypervisorCapacity[],
  demand: LabDemand,
): HypervisorCapacity[] {
  return hypervisors
    .map((h) => ({ h, weight: labsThatFit(h, demand), score: score(h.name, student) }))
    .filter((x) => x.weight > 0)
    .map((x) => ({ h: x.h, score: x.weight / -Math.log(x.score) }))
    .sort((a, b) => b.score - a.score || compare(a.h.name, b.h.name))
    .map((x) => x.h);
}

/** A number in (0, 1) from the two names: the first 52 bits of their sha256. */
function score(hypervisor: string, student: string): number {
  const digest = createHash("sha256").update(`${hypervisor}\0${student}`).digest();
  const high = digest.readUInt32BE(0);
  const low = digest.readUInt32BE(4) >>> 12;
  return (high * 2 ** 20 + low + 0.5) / 2 ** 52;
}

interface Shortfall {
  readonly hypervisor: HypervisorCapacity;
  readonly students: readonly string[];
  readonly memoryMiB: number;
  readonly vcpus: number;
}

function shortfall(
  h: HypervisorCapacity,
  demand: LabDemand,
  students: readonly string[],
): Shortfall | undefined {
  const memoryMiB = Math.max(0, students.length * demand.memoryMiB - h.memoryMiB);
  const vcpus = Math.max(0, students.length * demand.vcpus - h.vcpus);
  return memoryMiB > 0 || vcpus > 0 ? { hypervisor: h, students, memoryMiB, vcpus } : undefined;
}

function describeShortfall(m: Shortfall, demand: LabDemand): string {
  const h = m.hypervisor;
  const missing = [
    ...(m.memoryMiB > 0 ? [`${m.memoryMiB} MiB`] : []),
    ...(m.vcpus > 0 ? [vcpuWord(m.vcpus)] : []),
  ].join(" and ");
  return (
    `"${h.name}" (${h.memoryMiB} MiB, ${vcpuWord(h.vcpus)}) lacks ${missing} for the ${m.students.length} labs ` +
    `pinned to it or already on it (${m.students.join(", ")}; ${demand.memoryMiB} MiB and ${vcpuWord(demand.vcpus)} each)`
  );
}

function vcpuWord(n: number): string {
  return `${n} ${n === 1 ? "vCPU" : "vCPUs"}`;
}

function studentsOn(chosen: ReadonlyMap<string, string>, hypervisor: string): string[] {
  return [...chosen].filter(([, h]) => h === hypervisor).map(([s]) => s);
}

function validateHypervisors(hypervisors: readonly HypervisorCapacity[]): void {
  if (!Array.isArray(hypervisors) || hypervisors.length === 0) {
    throw new InvalidArgumentError("hypervisors", hypervisors, "at least one hypervisor");
  }
  const seen = new Set<string>();
  hypervisors.forEach((h, i) => {
    if (typeof h.name !== "string" || !ID_PATTERN.test(h.name))
      throw new InvalidArgumentError(`hypervisors[${i}].name`, h.name, ID_RULE);
    if (seen.has(h.name))
      throw new InvalidArgumentError(`hypervisors[${i}].name`, h.name, "a name not used twice");
    seen.add(h.name);
    wholeNumber(`hypervisors[${i}].memoryMiB`, h.memoryMiB, 0, Number.MAX_SAFE_INTEGER);
    wholeNumber(`hypervisors[${i}].vcpus`, h.vcpus, 0, Number.MAX_SAFE_INTEGER);
  });
}

function validateStudents(
  students: readonly StudentEntry[],
  hypervisors: readonly HypervisorCapacity[],
): void {
  if (!Array.isArray(students))
    throw new InvalidArgumentError("students", students, "a list of students");
  const names = hypervisors.map((h) => h.name);
  const seen = new Set<string>();
  students.forEach((s, i) => {
    if (typeof s.id !== "string" || !ID_PATTERN.test(s.id))
      throw new InvalidArgumentError(`students[${i}].id`, s.id, ID_RULE);
    if (seen.has(s.id))
      throw new InvalidArgumentError(`students[${i}].id`, s.id, "an id not used twice");
    seen.add(s.id);
    if (s.hypervisor !== undefined && !names.includes(s.hypervisor)) {
      throw new InvalidArgumentError(
        `students[${i}].hypervisor`,
        s.hypervisor,
        `one of the hypervisors: ${names.map((n) => showValue(n)).join(", ")}`,
      );
    }
  });
}

/** Code-unit order, the same on every machine and locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

import { hasUnknown } from "../components/core/unknown";
import { UPDATE_KINDS, UpdateKind } from "../components/domain/classify";
import { DEFAULT_SHUTDOWN_TIMEOUT_SECONDS } from "../components/domain/resolve";
import { isLoopback } from "../components/core/checks";
import { listeningPorts } from "../components/domain/ports";
import { DomainSpec } from "../components/domain/spec";
import { desiredNested, NestedMode } from "../components/nested/args";
import { MANAGED_FILE } from "../components/nested/modprobe-conf";
import { asFingerprint, bytes, describeSourceChanges, fileName, sourceBytes } from "./fingerprint";
import { parseUrn, PreviewDigest, previewErrors, PreviewStep } from "./preview";
import { LAB_DISK, Role, roleLabel, ROLE_ORDER, roleOf } from "./roles";
import { parseUpdatePlan } from "./update-plan";
import { isSecret, show } from "./values";

/**
 * A preview, as what it does to the lab: one row per changed resource with
 * its impact class, the consequences a reviewer must not miss, and the
 * property changes, readable. Pure: the same digest gives the same facts.
 */

/** What a change does to what runs: from the providers' own classification and the engine's step. */
export type Impact = "replace" | "delete" | "restart" | "create" | "live";
/** Most disruptive first: the order of the summary line. */
export const IMPACTS: readonly Impact[] = ["replace", "delete", "restart", "create", "live"];

export type Action = "create" | "update" | "replace" | "delete";

export interface Row {
  readonly urn: string;
  readonly kind: Role["kind"];
  /** The role in the lab, e.g. "classroom host jiaoshiji". */
  readonly resource: string;
  readonly noun: string;
  readonly name: string;
  readonly action: Action;
  readonly impact: Impact;
  /** Why, and how: "cpu; ACPI shutdown, forced off after 60 s". */
  readonly detail: string;
}

export type ConsequenceKind = "state-lost" | "downtime" | "host" | "exposed" | "conversion";

export interface Consequence {
  readonly kind: ConsequenceKind;
  readonly resource: string;
  /** One sentence that says what happens and why it matters. */
  readonly text: string;
}

export interface PropertyChange {
  readonly path: string;
  readonly from: string;
  readonly to: string;
}

export interface ResourceChanges {
  readonly resource: string;
  readonly action: Action;
  /** Source files whose content changed (instead of the fingerprint blobs). */
  readonly source: readonly string[];
  readonly changes: readonly PropertyChange[];
}

export interface Answers {
  readonly losesData: boolean;
  readonly downtime: boolean;
  readonly touchesHost: boolean;
  readonly opensPort: boolean;
}

export interface ReviewFacts {
  readonly stack: string;
  /** Non-empty when the preview failed: its error messages. */
  readonly errors: readonly string[];
  readonly counts: Readonly<Record<Impact, number>>;
  readonly answers: Answers;
  readonly rows: readonly Row[];
  readonly consequences: readonly Consequence[];
  readonly properties: readonly ResourceChanges[];
}

/** Inputs that are derived, bookkeeping, or shown elsewhere: never listed as property changes. */
const NOT_SHOWN = new Set([
  "__provider",
  "xml",
  "macs",
  "updatePlan",
  "resolvedDomainType",
  "resolvedHostVendor",
  "owner",
  "resourceName",
  "sourceFingerprint",
  "sourceIdentity",
]);
/** Also left out of a new resource's listing: how it is reached, not what it is. */
const NOT_SHOWN_ON_CREATE = new Set(["host", "classroomHost", "sshPrivateKey"]);

type Inputs = Readonly<Record<string, unknown>>;

/** One resource's step, with what the review needs around it. */
interface Change {
  readonly step: PreviewStep;
  readonly role: Role;
  readonly action: Action;
  readonly olds: Inputs;
  readonly news: Inputs;
  readonly oldOutputs: Inputs;
}

export function reviewFacts(digest: PreviewDigest, stackName?: string): ReviewFacts {
  const steps = dedupe(digest.steps);
  const changes: Change[] = [];
  for (const step of steps) {
    const action = actionOf(step.op);
    const state = step.newState ?? step.oldState;
    if (!action || !state) continue;
    const news = step.newState?.inputs ?? {};
    const olds = step.oldState?.inputs ?? {};
    const role = roleOf(step.urn, state.custom, action === "delete" ? olds : news);
    if (!role) continue;
    changes.push({ step, role, action, olds, news, oldOutputs: step.oldState?.outputs ?? {} });
  }
  changes.sort(
    (a, b) =>
      ROLE_ORDER.indexOf(a.role.kind) - ROLE_ORDER.indexOf(b.role.kind) ||
      compare(a.role.name, b.role.name) ||
      compare(a.step.urn, b.step.urn),
  );
  const rows = changes.map((c) => rowOf(c));
  const consequences = changes.flatMap((c, i) => consequencesOf(c, rows[i], steps));
  const counts = Object.fromEntries(IMPACTS.map((k) => [k, 0])) as Record<Impact, number>;
  for (const r of rows) counts[r.impact]++;
  const has = (k: ConsequenceKind) => consequences.some((c) => c.kind === k);
  return {
    stack: stackOf(digest) || stackName || "",
    errors: previewErrors(digest),
    counts,
    answers: {
      losesData: has("state-lost"),
      downtime: has("downtime"),
      touchesHost: has("host"),
      opensPort: has("exposed"),
    },
    rows,
    consequences,
    properties: changes
      .map((c) => propertiesOf(c))
      .filter((p) => p.changes.length > 0 || p.source.length > 0),
  };
}

function stackOf(digest: PreviewDigest): string {
  const first = digest.steps[0];
  return first ? parseUrn(first.urn).stack : "";
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The engine's step kinds, as a reviewer counts them; undefined: nothing changes. */
function actionOf(op: string): Action | undefined {
  switch (op) {
    case "create":
    case "import":
      return "create";
    case "update":
      return "update";
    case "replace":
    case "create-replacement":
    case "delete-replaced":
    case "import-replacement":
    case "discard-replaced":
      return "replace";
    case "delete":
    case "discard":
      return "delete";
    default:
      return undefined; // same, read, refresh, remove-pending-replace
  }
}

/** One step per resource: the replacement's parts (shown with --show-replacement-steps) fold into one. */
function dedupe(steps: readonly PreviewStep[]): PreviewStep[] {
  const byUrn = new Map<string, PreviewStep>();
  for (const s of steps) {
    const seen = byUrn.get(s.urn);
    if (!seen || (actionOf(s.op) === "replace" && actionOf(seen.op) !== "replace")) {
      byUrn.set(s.urn, seen ? merge(seen, s) : s);
    }
  }
  return [...byUrn.values()];
}

function merge(a: PreviewStep, b: PreviewStep): PreviewStep {
  return {
    ...b,
    op: "replace",
    oldState: b.oldState ?? a.oldState,
    newState: b.newState ?? a.newState,
    replaceReasons: b.replaceReasons ?? a.replaceReasons,
  };
}

// ---------------------------------------------------------------- rows

function rowOf(c: Change): Row {
  const { impact, detail } = impactOf(c);
  return {
    urn: c.step.urn,
    kind: c.role.kind,
    resource: roleLabel(c.role),
    noun: c.role.noun,
    name: c.role.name,
    action: c.action,
    impact,
    detail,
  };
}

function impactOf(c: Change): { impact: Impact; detail: string } {
  switch (c.action) {
    case "create":
      return { impact: "create", detail: createDetail(c) };
    case "delete":
      return { impact: "delete", detail: deleteDetail(c) };
    case "replace":
      return { impact: "replace", detail: replaceDetail(c) };
    case "update":
      return updateImpact(c);
  }
}

function createDetail(c: Change): string {
  switch (c.role.kind) {
    case "disk":
      if (c.role.noun === LAB_DISK)
        return typeof c.news.backingPath === "string"
          ? `an empty overlay on ${fileName(c.news.backingPath)}`
          : "an empty overlay on the base";
      return typeof c.news.source === "string"
        ? `converted from ${fileName(c.news.source)}`
        : "converted from the source";
    case "network":
      return cidrOf(c.news);
    case "classroom-host":
    case "domain":
      return c.news.running === false ? "defined, not started" : "defined and started";
    case "lab-machine":
      return "started inside the classroom host";
    case "host-nested":
      return `mode ${show(c.news.mode)}`;
    default:
      return "";
  }
}

function deleteDetail(c: Change): string {
  switch (c.role.kind) {
    case "disk":
      return "the volume file is deleted";
    case "classroom-host":
    case "domain":
      return `${shutdown(c.olds)}, then undefined`;
    case "lab-machine":
      return "stopped";
    case "host-nested":
      return `${MANAGED_FILE} restored`;
    default:
      return "";
  }
}

/** A volume's replacing inputs, in words (the others by their names). */
const DISK_REASONS: Readonly<Record<string, string>> = {
  sourceFingerprint: "source content changed",
  rootAccess: "another key for root: the disk is converted again and the key written into it",
};

/** Why a lab machine is replaced with the classroom host it runs in. */
const LAB_MACHINE_WITH_HOST = "the classroom host is replaced: started again inside the new one";

function replaceDetail(c: Change): string {
  const reasons = c.step.replaceReasons ?? [];
  // A provider that writes its own plan (the domain, the overlay) says why, with its reason
  // ("disks (disk replaced: …)", "generation (lab of student s07 reset: its state is lost)").
  const plan = parseUpdatePlan(c.news.updatePlan);
  if (plan && plan.replace.length > 0)
    return plan.replace
      .map((e) => (e.reason ? `${e.property} (${e.reason})` : e.property))
      .join(", ");
  if (c.role.kind === "lab-machine") {
    // Replaced with the classroom host it runs in: the engine gives no reason for a replacement it
    // derives from another, or names the input the machine takes from that host's domain.
    const others = reasons.filter((r) => r !== "classroomDomainName");
    if (reasons.length === 0 || others.length < reasons.length)
      return [LAB_MACHINE_WITH_HOST, ...others].join(", ");
  }
  if (c.role.kind === "disk") {
    return reasons.map((r) => DISK_REASONS[r] ?? r).join(", ");
  }
  return reasons.join(", ");
}

/** "ACPI shutdown, forced off after 60 s" */
function shutdown(inputs: Inputs): string {
  const t =
    typeof inputs.shutdownTimeoutSeconds === "number"
      ? inputs.shutdownTimeoutSeconds
      : DEFAULT_SHUTDOWN_TIMEOUT_SECONDS;
  return `ACPI shutdown, forced off after ${t} s`;
}

function updateImpact(c: Change): { impact: Impact; detail: string } {
  switch (c.role.kind) {
    case "classroom-host":
    case "domain": {
      const d = domainUpdate(c);
      const why = domainWhy(d);
      if (d.kind === "replace") return { impact: "replace", detail: why };
      if (d.kind === "restart")
        return { impact: "restart", detail: `${why}; ${shutdown(c.news)}, then started` };
      return { impact: "live", detail: whyLive(why ? [why] : []) };
    }
    case "host-nested": {
      const n = nestedUpdate(c);
      return n.reload
        ? { impact: "restart", detail: `${n.modeChange}; reloads ${n.module}` }
        : {
            impact: "live",
            detail: `${n.modeChange || changedKeys(c).join(", ")}${n.refusal ? "; will be refused" : ""}`,
          };
    }
    default:
      return { impact: "live", detail: whyLive(changedKeys(c)) };
  }
}

/** "memoryMiB; applies while running", or only the second half when no input changed (drift found by a refresh). */
function whyLive(keys: readonly string[]): string {
  return keys.length > 0 ? `${keys.join(", ")}; applies while running` : "applies while running";
}

/** The top-level inputs that changed (the engine's diffReasons, else compared here). */
function changedKeys(c: Change): string[] {
  const keys =
    c.step.diffReasons && c.step.diffReasons.length > 0
      ? [...c.step.diffReasons]
      : [...new Set([...Object.keys(c.olds), ...Object.keys(c.news)])].filter(
          (k) => show(c.olds[k] ?? undefined) !== show(c.news[k] ?? undefined),
        );
  return keys.filter((k) => !NOT_SHOWN.has(k)).sort();
}

interface DomainUpdate {
  readonly kind: UpdateKind;
  /** What the plan names: "cpu", "disks (disk replaced: …)". */
  readonly named: string[];
  /** Inputs still unknown in the preview, whose change the plan cannot say yet. */
  readonly unknown: string[];
  /** Only unknown inputs say so: the change may be milder once they are known. */
  readonly uncertain: boolean;
}

/** "cpu, vnc", "hostVendor known after up", "cpu; networks known after up". */
function domainWhy(d: DomainUpdate): string {
  const unknown = d.unknown.length > 0 ? [`${d.unknown.join(", ")} known after up`] : [];
  return [...(d.named.length > 0 ? [d.named.join(", ")] : []), ...unknown].join("; ");
}

/**
 * What the domain's provider says an update does (its `updatePlan`), plus
 * the inputs still unknown in the preview, classified the way the provider
 * classifies them (UPDATE_KINDS): a NIC on a network still to be made is a
 * restart even before the plan can say so. An input the provider does not
 * classify (hostVendor, known once the nested setting is read) changes the
 * XML: a restart.
 */
function domainUpdate(c: Change): DomainUpdate {
  const plan = parseUpdatePlan(c.news.updatePlan);
  const kindOf = (k: string): UpdateKind =>
    k in UPDATE_KINDS ? UPDATE_KINDS[k as keyof typeof UPDATE_KINDS] : "restart";
  const named = new Map<string, { kind: UpdateKind; label: string }>();
  if (plan) {
    for (const kind of ["replace", "restart", "live"] as const)
      for (const e of plan[kind])
        named.set(e.property, {
          kind,
          label: e.reason ? `${e.property} (${e.reason})` : e.property,
        });
  }
  const unknown = Object.keys(c.news)
    .filter((k) => !NOT_SHOWN.has(k) && !named.has(k) && hasUnknown(c.news[k]))
    .sort();
  if (!plan && unknown.length === 0) {
    // Neither a plan nor anything unknown: classify the changed inputs directly.
    for (const k of changedKeys(c)) named.set(k, { kind: kindOf(k), label: k });
  }
  const kinds = [...[...named.values()].map((n) => n.kind), ...unknown.map(kindOf)];
  const kind: UpdateKind = kinds.includes("replace")
    ? "replace"
    : kinds.includes("restart")
      ? "restart"
      : "live";
  const order = (k: UpdateKind) => ["replace", "restart", "live"].indexOf(k);
  return {
    kind,
    named: [...named.entries()]
      .sort(([a, x], [b, y]) => order(x.kind) - order(y.kind) || compare(a, b))
      .map(([, n]) => n.label),
    unknown,
    uncertain: named.size === 0 && unknown.length > 0,
  };
}

interface NestedUpdate {
  /** "mode persist → enable", or "". */
  readonly modeChange: string;
  /** The module that is reloaded, if the new mode reloads it. */
  readonly reload: boolean;
  readonly module: string;
  /** Why the provider will refuse the update, if it will (from what the last refresh saw). */
  readonly refusal?: string;
  readonly guests: string[];
}

/**
 * What a new mode does on the host, from what the last `up` or `refresh`
 * read there (the resource's outputs): the same rules as the provider's plan
 * (components/nested/plan.ts), which decides again at `up` on fresh facts.
 */
function nestedUpdate(c: Change): NestedUpdate {
  const o = c.oldOutputs;
  const oldMode = c.olds.mode;
  const mode = c.news.mode as NestedMode;
  const modeChange = oldMode !== mode ? `mode ${show(oldMode)} → ${show(mode)}` : "";
  const module = typeof o.module === "string" ? o.module : "the KVM module";
  const guests = Array.isArray(o.guests) ? o.guests.map(String) : [];
  const changesLive = mode === "enable" || mode === "disable";
  const desired = changesLive ? desiredNested(mode) : undefined;
  const reload =
    changesLive &&
    o.moduleState === "loaded" &&
    typeof o.nested === "boolean" &&
    o.nested !== desired;
  let refusal: string | undefined;
  if (changesLive && (o.module === null || o.vendor === "none") && mode === "enable")
    refusal = "this host's CPU has no vmx or svm, so nothing can nest";
  else if (changesLive && o.moduleState === "builtin" && o.nested !== desired)
    refusal = `${module} is built into the kernel: it changes only through the kernel command line and a reboot`;
  else if (reload && guests.length > 0)
    refusal = `${guests.join(", ")} ran on the host at the last refresh`;
  return { modeChange, reload, module, refusal, guests };
}

// ---------------------------------------------------------------- consequences

function consequencesOf(c: Change, row: Row, steps: readonly PreviewStep[]): Consequence[] {
  const out: Consequence[] = [];
  const who = row.resource;
  const add = (kind: ConsequenceKind, text: string) => out.push({ kind, resource: who, text });
  switch (c.role.kind) {
    case "disk":
      diskConsequences(c, row, add);
      break;
    case "classroom-host":
    case "domain":
      domainConsequences(c, row, steps, add);
      break;
    case "lab-machine":
      if ((c.action === "delete" || c.action === "replace") && !hostStops(steps, c.step))
        add("downtime", `${who} is stopped${c.action === "replace" ? " and started again" : ""}.`);
      break;
    case "host-nested":
      nestedConsequences(c, add);
      break;
    case "network":
      networkConsequences(c, add);
      break;
    default:
      break;
  }
  return out;
}

type Add = (kind: ConsequenceKind, text: string) => void;

function diskConsequences(c: Change, row: Row, add: Add): void {
  if (c.role.noun === LAB_DISK) return overlayConsequences(c, row, add);
  const inLab = c.role.noun === "classroom disk";
  const inside = inLab
    ? "everything written inside it since it was made (the classroom host's files and the lab machines' disks within it)"
    : "everything written inside it since it was made";
  if (c.action === "replace") {
    add(
      "state-lost",
      `${row.resource} is replaced (${row.detail}): it is deleted and converted again from the source, so ${inside} is lost.`,
    );
  } else if (c.action === "delete") {
    add("state-lost", `${row.resource} is deleted, and ${inside} with it.`);
  }
  if (c.action === "create" || c.action === "replace") {
    const fp = asFingerprint(c.news.sourceFingerprint);
    const total = fp && sourceBytes(fp);
    const files = fp ? Object.keys(fp).length : 0;
    const from = typeof c.news.source === "string" ? fileName(c.news.source) : "the source";
    const chain = files > 1 ? ` and ${files - 1} parent${files > 2 ? "s" : ""}` : "";
    add(
      "conversion",
      total === undefined
        ? `${row.resource} is converted from ${from}: the source's size is known only once it is inspected.`
        : `${row.resource} is converted from ${from}${chain}: the host reads ${bytes(total)} and writes the volume.`,
    );
  }
}

/** A student's overlay: made empty on the base, so a replacement is a reset. */
function overlayConsequences(c: Change, row: Row, add: Add): void {
  const inside =
    "everything written in that lab since it was made (its classroom host's files and the lab machines' disks within it)";
  if (c.action === "replace") {
    add(
      "state-lost",
      `${row.resource} is replaced (${row.detail}): a new, empty overlay on the base takes its place, so ${inside} is lost.`,
    );
  } else if (c.action === "delete") {
    add("state-lost", `${row.resource} is deleted, and ${inside} with it.`);
  }
}

function domainConsequences(c: Change, row: Row, steps: readonly PreviewStep[], add: Add): void {
  const who = row.resource;
  const wasRunning = c.oldOutputs.state === undefined || c.oldOutputs.state === "running";
  const inside = labMachinesIn(steps, c.step);
  const withThem =
    inside.length > 0 ? `, and the lab machines in it (${inside.join(", ")}) stop with it` : "";
  if (c.action === "replace" || (c.action === "update" && row.impact === "replace")) {
    const withDisk = parseUpdatePlan(c.news.updatePlan)?.replace.some(
      (e) => e.property === "disks" && e.reason !== undefined,
    );
    add(
      "state-lost",
      withDisk
        ? `${who} is replaced with its disk: it is shut down and undefined before the disk is deleted, then defined and started on the new one, so what ran in it and its memory are lost.`
        : `${who} is replaced (${row.detail}): it is undefined and defined anew, so what ran in it, its memory and its NVRAM are lost (its disk stays).`,
    );
    if (wasRunning)
      add("downtime", `${who} stops (${shutdown(c.olds)}) while it is replaced${withThem}.`);
  } else if (c.action === "delete") {
    add(
      "state-lost",
      `${who} is undefined: what ran in it, its memory and its NVRAM are lost (its disk stays).`,
    );
    if (wasRunning) add("downtime", `${who} stops (${shutdown(c.olds)})${withThem}.`);
  } else if (c.action === "update" && row.impact === "restart") {
    const d = domainUpdate(c);
    if (wasRunning) {
      add(
        "downtime",
        `${who} ${d.uncertain ? "may restart" : "restarts"} (${domainWhy(d)}): ${shutdown(c.news)}, then started again${withThem}.`,
      );
    }
  } else if (c.action === "update" && c.olds.running !== false && c.news.running === false) {
    if (wasRunning) add("downtime", `${who} is shut down (${shutdown(c.news)})${withThem}.`);
  }
  if (c.action === "create" || c.action === "update" || c.action === "replace") {
    const before = c.action === "update" || c.action === "replace" ? endpoints(c.olds) : [];
    for (const e of endpoints(c.news)) {
      if (!e.exposed) continue;
      if (before.some((b) => b.exposed && b.key === e.key)) continue;
      add("exposed", `${e.what} of ${who} ${e.sentence}`);
    }
  }
}

/** The lab machines (by name) that run inside this domain: LabMachine resources that depend on it. */
function labMachinesIn(steps: readonly PreviewStep[], domain: PreviewStep): string[] {
  const urns = new Set([domain.urn]);
  const parent = (domain.newState ?? domain.oldState)?.parent;
  if (parent) urns.add(parent);
  const names: string[] = [];
  for (const s of steps) {
    const state = s.newState ?? s.oldState;
    if (!state?.type.endsWith(":LabMachine")) continue;
    if (!(state.dependencies ?? []).some((d) => urns.has(d))) continue;
    const name = state.inputs?.domainName;
    names.push(typeof name === "string" ? name : parseUrn(s.urn).name);
  }
  return names.sort();
}

/** Whether the domain a lab machine runs in stops in this change (its stop is said there). */
function hostStops(steps: readonly PreviewStep[], machine: PreviewStep): boolean {
  const deps = new Set((machine.newState ?? machine.oldState)?.dependencies ?? []);
  return steps.some((s) => {
    const state = s.newState ?? s.oldState;
    if (!state?.type.endsWith(":NestedDomain")) return false;
    if (!deps.has(s.urn) && !(state.parent && deps.has(state.parent))) return false;
    return (
      ["replace", "delete", "delete-replaced", "create-replacement"].includes(s.op) ||
      (s.op === "update" && /restart|replace/.test(String(state.inputs?.updatePlan ?? "")))
    );
  });
}

interface Endpoint {
  /** "VNC", "The serial console", "The port forward tcp 2222 → 22". */
  readonly what: string;
  readonly key: string;
  readonly exposed: boolean;
  readonly sentence: string;
}

/**
 * Where a domain listens on the host (VNC, a TCP serial console, user-mode
 * port forwards), as the domain's own listeningPorts reads them from its
 * inputs, defaults included.
 */
function endpoints(inputs: Inputs): Endpoint[] {
  const ports: { argument: string; protocol: string; address: string; port: number | string }[] =
    listeningPorts(inputs as unknown as DomainSpec);
  // A VNC port chosen at start (autoport) is not in listeningPorts, but listens all the same.
  const vnc = inputs.vnc as { listen?: unknown } | undefined;
  if (vnc && typeof vnc === "object" && !ports.some((p) => p.argument.startsWith("vnc."))) {
    const listen = vnc.listen ?? "127.0.0.1";
    if (typeof listen === "string" && !hasUnknown(listen))
      ports.push({
        argument: "vnc.autoport",
        protocol: "tcp",
        address: listen,
        port: "chosen at start",
      });
  }
  return ports.map((p) => {
    const where = `${p.address === "0.0.0.0" || p.address === "::" ? "every address of the host" : p.address}, port ${p.port}`;
    const forward = /^networks\[\d+\]\.user\.forwards\[(\d+)\]/.exec(p.argument);
    const base = {
      key: `${p.argument} ${p.protocol}:${p.address}:${p.port}`,
      exposed: !isLoopback(p.address),
    };
    if (p.argument.startsWith("vnc."))
      return {
        ...base,
        what: "VNC",
        sentence: `listens on ${where}: anyone who can reach it and has the VNC password gets the console.`,
      };
    if (p.argument.startsWith("serial."))
      return {
        ...base,
        what: "The serial console",
        sentence: `listens on ${where} with no password: anyone who can reach it gets a console.`,
      };
    const guestPort = forwardGuestPort(inputs, p.argument, forward);
    return {
      ...base,
      what: `The port forward ${p.protocol} ${p.port} → ${guestPort}`,
      sentence: `listens on ${where}: the guest's port ${guestPort} is reachable from outside the host.`,
    };
  });
}

function forwardGuestPort(inputs: Inputs, argument: string, m: RegExpExecArray | null): string {
  const n = /^networks\[(\d+)\]/.exec(argument);
  if (!m || !n) return "?";
  const networks = inputs.networks as { user?: { forwards?: { guestPort?: unknown }[] } }[];
  return String(networks?.[Number(n[1])]?.user?.forwards?.[Number(m[1])]?.guestPort ?? "?");
}

function nestedConsequences(c: Change, add: Add): void {
  const who = "The host nested setting";
  if (c.action === "create") {
    const mode = c.news.mode;
    if (mode === "check") return;
    add(
      "host",
      mode === "persist"
        ? `${who} writes ${MANAGED_FILE} on the host: nested changes at the next module load or reboot.`
        : `${who} writes ${MANAGED_FILE} on the host and, where nested is not yet ${mode === "disable" ? "off" : "on"}, reloads the KVM module, which needs every guest on the host stopped (refused otherwise).`,
    );
    return;
  }
  if (c.action === "delete") {
    add(
      "host",
      `${who} is removed: ${MANAGED_FILE} is restored as it was${c.olds.restoreOnDelete === true ? ", and the live value too (a module reload, refused while guests run)" : ""}.`,
    );
    return;
  }
  if (c.action !== "update") return;
  const n = nestedUpdate(c);
  if (n.refusal && !n.reload) {
    add("host", `${who} (${n.modeChange}) will be refused: ${n.refusal}.`);
    return;
  }
  if (n.reload) {
    const to = c.news.mode === "disable" ? "off" : "on";
    add(
      "host",
      `${who} (${n.modeChange}) reloads ${n.module} on the host to turn nested ${to}, which needs every guest on the host stopped` +
        (n.refusal
          ? `: ${n.refusal}, so the update is refused until ${n.guests.length === 1 ? "it is" : "they are"} stopped.`
          : ` (refused otherwise).`),
    );
    return;
  }
  if (n.modeChange) add("host", `${who} (${n.modeChange}) rewrites ${MANAGED_FILE} on the host.`);
}

/** "192.168.100.1/24" (the network provider's default prefix is 24). */
function cidrOf(inputs: Inputs): string {
  const address = typeof inputs.address === "string" ? inputs.address : show(inputs.address);
  return `${address}/${typeof inputs.prefixLength === "number" ? inputs.prefixLength : 24}`;
}

function networkConsequences(c: Change, add: Add): void {
  const inputs = c.action === "delete" ? c.olds : c.news;
  const cidr = cidrOf(inputs);
  const dhcp = inputs.dhcp && typeof inputs.dhcp === "object" ? ", a DHCP server" : "";
  const who = `The ${c.role.noun} ${c.role.name}`;
  if (c.action === "create" || c.action === "replace") {
    const rules =
      inputs.mode === "isolated"
        ? ""
        : inputs.mode === "route"
          ? " and routing"
          : " and NAT firewall rules";
    add("host", `${who} adds a bridge with ${cidr} to the host${dhcp}${rules}.`);
    if (inputs.mode === "route")
      add("exposed", `${who} is routed: machines on it are reachable from outside the host.`);
  } else if (c.action === "delete") {
    add("host", `${who} is removed from the host with its bridge (${cidr}).`);
  }
}

// ---------------------------------------------------------------- properties

function propertiesOf(c: Change): ResourceChanges {
  const resource = roleLabel(c.role);
  if (c.action === "delete") return { resource, action: c.action, source: [], changes: [] };
  const source: string[] = [];
  const before = asFingerprint(c.olds.sourceFingerprint);
  const after = asFingerprint(c.news.sourceFingerprint);
  if (c.action !== "create" && before && after)
    source.push(...describeSourceChanges(before, after));
  const changes: PropertyChange[] = [];
  // A secret shows as [secret] on both sides: whether it changed comes from the
  // engine (diffReasons) or the provider's plan (a new VNC password restarts).
  const plan = parseUpdatePlan(c.news.updatePlan);
  const diffReasons = new Set([
    ...(c.step.diffReasons ?? []),
    ...(plan ? [...plan.live, ...plan.restart, ...plan.replace].map((e) => e.property) : []),
  ]);
  const keys = [...new Set([...Object.keys(c.olds), ...Object.keys(c.news)])]
    .filter((k) => !NOT_SHOWN.has(k))
    .filter((k) => c.action !== "create" || !NOT_SHOWN_ON_CREATE.has(k))
    .sort();
  for (const k of keys) {
    const o = c.action === "create" ? undefined : (c.olds[k] ?? undefined);
    const n = c.news[k] ?? undefined;
    diffValues(k, o, n, changes, diffReasons.has(k));
  }
  return { resource, action: c.action, source, changes };
}

/** Old → new for every leaf that differs; a secret only says that it changed. */
function diffValues(
  path: string,
  o: unknown,
  n: unknown,
  out: PropertyChange[],
  engineSaysChanged: boolean,
): void {
  if (isSecret(o) && isSecret(n)) {
    if (engineSaysChanged) out.push({ path, from: show(o), to: `${show(n)} (changed)` });
    return;
  }
  if (isContainer(o) && isContainer(n) && Array.isArray(o) === Array.isArray(n)) {
    const keys = Array.isArray(o)
      ? [...Array(Math.max(o.length, (n as unknown[]).length)).keys()].map(String)
      : [...new Set([...Object.keys(o), ...Object.keys(n as object)])].sort();
    for (const k of keys) {
      const sub = Array.isArray(o) ? `${path}[${k}]` : `${path}.${k}`;
      const ov = (o as Record<string, unknown>)[k] ?? undefined;
      const nv = (n as Record<string, unknown>)[k] ?? undefined;
      diffValues(sub, ov, nv, out, engineSaysChanged);
    }
    return;
  }
  if (show(o) !== show(n)) out.push({ path, from: show(o), to: show(n) });
}

function isContainer(v: unknown): v is object {
  return v !== null && typeof v === "object" && !isSecret(v);
}

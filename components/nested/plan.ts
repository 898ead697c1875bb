import { desiredNested, NestedMode } from "./args";
import { KvmModule } from "../libvirt/cpu";
import {
  conflictingSettings,
  describeSetting,
  effectiveSettings,
  liveNested,
  NestedFacts,
  NestedObserved,
  nextNested,
  unavailableSentence,
  withManagedFile,
} from "./facts";
import { CMDLINE_SOURCE } from "./kernel-cmdline";
import {
  MANAGED_FILE,
  nestedSettingsInFile,
  renderManagedFile,
  revertManagedFile,
} from "./modprobe-conf";
import { assertNever } from "../core/checks";

/** Changing the live value: reload a loaded module, or load one that is installed. */
export type LiveChange =
  | { readonly kind: "reload"; readonly from: boolean; readonly to: boolean }
  | { readonly kind: "load"; readonly to: boolean };

/** What to do on the host for a mode, decided from the facts alone. */
export type Plan =
  | { readonly kind: "none" }
  | { readonly kind: "refuse"; readonly reason: string }
  | {
      readonly kind: "change";
      readonly module: KvmModule;
      /** New content for MANAGED_FILE, null to remove it, undefined to leave it. */
      readonly fileContent: string | null | undefined;
      readonly live: LiveChange | undefined;
    };

/**
 * Decides what `mode` needs on a host in the state `facts`. Refuses (with the
 * reason and the way out) rather than doing something unsafe or pointless:
 * no vmx/svm or no module, a built-in module whose value is wrong, another
 * file or the kernel command line setting the opposite value, guests running
 * when the module would have to be reloaded, not root.
 */
export function planNested(mode: NestedMode, facts: NestedFacts): Plan {
  const module = facts.module;
  if (!module || (facts.moduleState === "absent" && !facts.moduleAvailable)) {
    // Nothing can nest here; for disable that is the desired state.
    return mode === "disable"
      ? { kind: "none" }
      : { kind: "refuse", reason: unavailableSentence(facts) };
  }
  switch (mode) {
    case "check":
      return checkPlan(module, facts);
    case "enable":
    case "persist":
    case "disable":
      return changePlan(mode, module, facts);
    default:
      return assertNever(mode);
  }
}

function checkPlan(module: KvmModule, facts: NestedFacts): Plan {
  if (facts.moduleState === "absent") {
    return {
      kind: "refuse",
      reason: `${module} is not loaded on ${facts.hostLabel}, so guests cannot use KVM now: load it (modprobe ${module}) or use mode "enable".`,
    };
  }
  if (liveNested(facts)) return { kind: "none" };
  return {
    kind: "refuse",
    reason:
      `Nested virtualization is off on ${facts.hostLabel}: /sys/module/${module}/parameters/nested reads ${showRaw(facts.nestedRaw)}. ` +
      (facts.moduleState === "builtin"
        ? builtinWayOut(module, true)
        : `Use mode "enable" to turn it on (it reloads ${module}, which needs all guests stopped), or "persist" and reboot.`),
  };
}

function changePlan(
  mode: "enable" | "persist" | "disable",
  module: KvmModule,
  facts: NestedFacts,
): Plan {
  const desired = desiredNested(mode);
  const live = liveNested(facts);

  if (facts.moduleState === "builtin") {
    const { after } = nextNested(facts);
    if (after === desired && (mode === "persist" || live === desired)) return { kind: "none" };
    return { kind: "refuse", reason: builtinReason(module, desired, facts) };
  }

  const conflicts = conflictingSettings(facts, desired);
  if (conflicts.length > 0)
    return { kind: "refuse", reason: conflictReason(module, desired, conflicts, facts) };

  const managed = facts.configFiles.find((f) => f.path === MANAGED_FILE);
  const ownSettings = managed ? nestedSettingsInFile(managed, module) : [];
  const needsWrite =
    ownSettings.some((s) => s.value !== desired) || nextNested(facts).after !== desired;
  const fileContent = needsWrite ? renderManagedFile(managed?.content, module, desired) : undefined;
  if (
    fileContent !== undefined &&
    nextNested(facts, withManagedFile(facts.configFiles, fileContent)).after !== desired
  ) {
    // Unreachable while the conflict rule holds; a guard against writing a file that does nothing.
    return {
      kind: "refuse",
      reason: `Writing ${MANAGED_FILE} would not make ${module} load with nested=${desired ? 1 : 0} on ${facts.hostLabel}; settings: ${effectiveSettings(facts).map(describeSetting).join("; ") || "none"}.`,
    };
  }

  let change: LiveChange | undefined;
  if (mode !== "persist") {
    if (facts.moduleState === "loaded" && live !== desired)
      change = { kind: "reload", from: live, to: desired };
    if (facts.moduleState === "absent" && desired) change = { kind: "load", to: desired };
  }
  if (change?.kind === "reload") {
    const busy = busyReason(
      `Refusing to reload ${module} on ${facts.hostLabel}`,
      facts,
      `or use mode "persist" and reboot ${facts.hostLabel}: the setting then takes effect at boot.`,
    );
    if (busy) return { kind: "refuse", reason: busy };
  }
  return finish(module, facts, fileContent, change);
}

/** A change, unless there is nothing to do or the user is not root. */
function finish(
  module: KvmModule,
  facts: NestedFacts,
  fileContent: string | null | undefined,
  live: LiveChange | undefined,
): Plan {
  if (fileContent === undefined && live === undefined) return { kind: "none" };
  if (facts.uid !== undefined && facts.uid !== 0) {
    const actions = [
      ...(fileContent === undefined
        ? []
        : [`${fileContent === null ? "removing" : "writing"} ${MANAGED_FILE}`]),
      ...(live === undefined
        ? []
        : [`${live.kind === "reload" ? "reloading" : "loading"} ${module}`]),
    ];
    return {
      kind: "refuse",
      reason:
        `Changing the nested setting on ${facts.hostLabel} needs root (commands run as uid ${facts.uid}): ` +
        `${actions.join(" and ")} would be denied. ` +
        'Run pulumi as root (sudo -E pulumi up), or connect as root (host.ssh.user "root"). Nothing was changed.',
    };
  }
  return { kind: "change", module, fileContent, live };
}

/** What the resource remembers about the host from before it existed. */
export interface RestoreState {
  readonly module: KvmModule | null;
  /** MANAGED_FILE before the resource existed (undefined: no file). */
  readonly previousContent: string | undefined;
  /** What the resource last wrote to MANAGED_FILE (undefined: it never wrote). */
  readonly writtenContent: string | undefined;
  /** The live value before the resource existed (undefined: module not in the kernel). */
  readonly previousNested: boolean | undefined;
  /** Put the live value back too (reloads the module). */
  readonly restoreLive: boolean;
}

/**
 * What destroying the resource does: MANAGED_FILE back as it was before (see
 * revertManagedFile), and the live value only when asked (restoreOnDelete),
 * never while guests run.
 */
export function planDelete(facts: NestedFacts, state: RestoreState): Plan {
  const module = state.module;
  if (!module) return { kind: "none" };
  const current = facts.configFiles.find((f) => f.path === MANAGED_FILE)?.content;
  const target = revertManagedFile(current, state.writtenContent, state.previousContent, module);
  const fileContent = target === current ? undefined : (target ?? null);
  let live: LiveChange | undefined;
  if (
    state.restoreLive &&
    state.previousNested !== undefined &&
    facts.module === module &&
    facts.moduleState === "loaded" &&
    liveNested(facts) !== state.previousNested
  ) {
    live = { kind: "reload", from: liveNested(facts), to: state.previousNested };
    const busy = busyReason(
      `Refusing to put back the live value of ${module} on ${facts.hostLabel} (restoreOnDelete)`,
      facts,
      "or set restoreOnDelete to false to leave the live value as it is (the modprobe.d file is restored either way).",
    );
    if (busy) return { kind: "refuse", reason: busy };
  }
  return finish(module, facts, fileContent, live);
}

function busyReason(lead: string, facts: NestedFacts, otherWay: string): string | undefined {
  const ways = `Either stop them (virsh shutdown <name>, or end the process) and run again, ${otherWay}`;
  if (facts.guests.length > 0) {
    const n = facts.guests.length;
    return (
      `${lead}: ${n} guest${n > 1 ? "s are" : " is"} running (${facts.guests.join(", ")}). ` +
      `Reloading the module would fail while they hold /dev/kvm, or take KVM away from them. ` +
      ways
    );
  }
  if (facts.moduleRefcount !== undefined && facts.moduleRefcount > 0) {
    return (
      `${lead}: the module is in use (reference count ${facts.moduleRefcount}) although no running guest was found ` +
      `(processes of other users or containers may hold /dev/kvm). ` +
      ways
    );
  }
  return undefined;
}

function conflictReason(
  module: KvmModule,
  desired: boolean,
  conflicts: readonly { source: string; text: string; raw: string }[],
  facts: NestedFacts,
): string {
  const want = desired ? 1 : 0;
  const parts = conflicts.map((c) => {
    if (c.source === CMDLINE_SOURCE) {
      return (
        `The kernel command line sets ${c.text}, which modprobe applies after every modprobe.d file, so ${module} nested=${want} in ${MANAGED_FILE} would have no effect. ` +
        `Remove ${c.text} from the kernel command line (Debian: GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub; RHEL: grubby --update-kernel=ALL --remove-args=${c.text}) and reboot.`
      );
    }
    return `${c.source} sets "${c.text}", which contradicts nested=${want}: change it to nested=${want} or remove that line.`;
  });
  return (
    `Refusing to change the nested setting of ${module} on ${facts.hostLabel}: another setting says otherwise, and NestedVirtualization does not edit what it does not own. ` +
    parts.join(" ") +
    " Then run again."
  );
}

function builtinReason(module: KvmModule, desired: boolean, facts: NestedFacts): string {
  const cmdline = effectiveSettings(facts);
  const now = cmdline.length ? ` (it now has ${cmdline.map((s) => s.text).join(" ")})` : "";
  return (
    `${module} is built into the kernel on ${facts.hostLabel}: its nested setting changes only on the kernel command line${now}, and only at boot; ` +
    `modprobe and /etc/modprobe.d cannot change it. ` +
    builtinWayOut(module, desired)
  );
}

function builtinWayOut(module: KvmModule, desired: boolean): string {
  const arg = `${module}.nested=${desired ? 1 : 0}`;
  return (
    `Put ${arg} on the kernel command line (Debian: GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub; ` +
    `RHEL: grubby --update-kernel=ALL --args=${arg}) and reboot.`
  );
}

function showRaw(raw: string | undefined): string {
  return raw === undefined ? "nothing" : `"${raw.trim()}"`;
}

/**
 * Whether the reported state already meets the mode: the diff uses it on the
 * last outputs, so after `pulumi refresh` a host that drifted shows a change.
 */
export function satisfies(mode: NestedMode, observed: NestedObserved): boolean {
  const noKvm =
    observed.module === null || (observed.moduleState === "absent" && !observed.moduleAvailable);
  switch (mode) {
    case "check":
      return !noKvm && observed.moduleState !== "absent" && observed.nested;
    case "enable":
      return !noKvm && observed.nested && observed.nestedAfterReboot === true;
    case "persist":
      return !noKvm && observed.nestedAfterReboot === true;
    case "disable":
      return noKvm || (!observed.nested && observed.nestedAfterReboot === false);
    default:
      return assertNever(mode);
  }
}

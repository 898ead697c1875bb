import { assertNever } from "../core/checks";
import { PreconditionError } from "../core/errors";
import { UNKNOWN } from "../core/unknown";
import { HostAccess, HostSpec, describeHost, diffHost, withHost } from "../host";
import { checkFailures } from "../host/check-failures";
import { asGiven, HostProvider } from "../host/provider";
import { applyChange } from "./apply";
import { NestedArgs, NestedMode, validateNestedArgs } from "./args";
import { detectNested } from "./detect";
import { liveNested, NestedFacts, NestedObserved, observe } from "./facts";
import { MANAGED_FILE } from "./modprobe-conf";
import { planDelete, planNested, satisfies } from "./plan";

/** What the component passes in. */
export interface NestedInputs {
  readonly host: HostSpec;
  readonly sshPrivateKey?: string;
  readonly mode: NestedMode;
  readonly restoreOnDelete?: boolean;
}

/** What check() is given: the mode as written, checked there. */
export type NestedGivenInputs = Omit<NestedInputs, "mode"> & { readonly mode: string };

/** The state: inputs, what was observed, and what to put back on delete. */
export interface NestedState extends NestedInputs, NestedObserved {
  readonly restoreOnDelete: boolean;
  /** MANAGED_FILE before the resource existed; null: there was none. */
  readonly previousModprobeContent: string | null;
  /** What the resource last wrote to MANAGED_FILE; null: it never wrote. */
  readonly writtenModprobeContent: string | null;
  /** The live value before the resource existed; null: the module was not in the kernel. */
  readonly previousNested: boolean | null;
}

function contextOf(spec: HostSpec) {
  return { rootDir: spec.rootDir, libvirtUri: spec.libvirtUri };
}

/**
 * Brings the host to `mode` (or refuses, changing nothing) and returns the
 * facts read back after the change, and what was written.
 */
async function enforce(
  host: HostAccess,
  spec: HostSpec,
  mode: NestedMode,
  facts: NestedFacts,
): Promise<{ facts: NestedFacts; written: string | undefined }> {
  const plan = planNested(mode, facts);
  switch (plan.kind) {
    case "none":
      return { facts, written: undefined };
    case "refuse":
      throw new PreconditionError(plan.reason);
    case "change": {
      let after = facts;
      await applyChange(host, spec.rootDir, {
        module: plan.module,
        fileContent: plan.fileContent,
        fileBefore: facts.configFiles.find((f) => f.path === MANAGED_FILE)?.content,
        live: plan.live,
        verify: async () => {
          after = await detectNested(host, contextOf(spec));
          const seen = observe(mode, after);
          if (!satisfies(mode, seen)) {
            throw new Error(
              `After the change, ${host.label} does not meet mode "${mode}": nested is ${seen.nested ? "on" : "off"} now ` +
                `and ${seen.nestedAfterReboot ? "on" : "off"} after the next load or reboot (settings: ${seen.settings.join("; ") || "none"}).`,
            );
          }
        },
      });
      return { facts: after, written: plan.fileContent ?? undefined };
    }
    default:
      return assertNever(plan);
  }
}

function idOf(spec: HostSpec): string {
  return `nested@${describeHost(spec)}${spec.rootDir ? `:${spec.rootDir}` : ""}`;
}

function checkedArgs(inputs: { mode?: unknown; restoreOnDelete?: unknown }): NestedArgs {
  return validateNestedArgs(inputs);
}

export const provider: HostProvider<NestedInputs, NestedState, NestedGivenInputs> = {
  async check(_olds, news) {
    if (news.mode === UNKNOWN) return asGiven(news);
    try {
      return { inputs: { ...news, ...checkedArgs(news) } };
    } catch (e) {
      return asGiven(news, checkFailures(e));
    }
  },

  async diff(_id: string, olds: NestedState, news: NestedInputs) {
    const host = diffHost(olds, news);
    const replaces = host.replaces;
    const changed: string[] = [...replaces, ...host.updates];
    if (olds.mode !== news.mode) changed.push("mode");
    if ((olds.restoreOnDelete ?? false) !== (news.restoreOnDelete ?? false))
      changed.push("restoreOnDelete");
    // Drift: after `pulumi refresh` the last outputs are what the host shows now.
    if (changed.length === 0 && (news.mode as string) !== UNKNOWN && !satisfies(news.mode, olds)) {
      changed.push("nested");
    }
    return { changes: changed.length > 0, replaces, deleteBeforeReplace: true };
  },

  async create(inputs: NestedInputs) {
    const args = checkedArgs(inputs);
    return withHost(inputs.host, inputs.sshPrivateKey, async (host) => {
      const before = await detectNested(host, contextOf(inputs.host));
      const { facts, written } = await enforce(host, inputs.host, args.mode, before);
      const outs: NestedState = {
        ...inputs,
        ...args,
        ...observe(args.mode, facts),
        previousModprobeContent:
          before.configFiles.find((f) => f.path === MANAGED_FILE)?.content ?? null,
        writtenModprobeContent: written ?? null,
        previousNested:
          before.moduleState === "absent" || !before.module ? null : liveNested(before),
      };
      return { id: idOf(inputs.host), outs };
    });
  },

  async read(id: string, props: NestedState) {
    return withHost(props.host, props.sshPrivateKey, async (host) => {
      const facts = await detectNested(host, contextOf(props.host));
      return { id, props: { ...props, ...observe(props.mode, facts) } };
    });
  },

  async update(_id: string, olds: NestedState, news: NestedInputs) {
    const args = checkedArgs(news);
    return withHost(news.host, news.sshPrivateKey, async (host) => {
      const before = await detectNested(host, contextOf(news.host));
      const { facts, written } = await enforce(host, news.host, args.mode, before);
      const outs: NestedState = {
        ...news,
        ...args,
        ...observe(args.mode, facts),
        previousModprobeContent: olds.previousModprobeContent ?? null,
        writtenModprobeContent: written ?? olds.writtenModprobeContent ?? null,
        previousNested: olds.previousNested ?? null,
      };
      return { outs };
    });
  },

  async delete(_id: string, props: NestedState) {
    await withHost(props.host, props.sshPrivateKey, async (host) => {
      const facts = await detectNested(host, contextOf(props.host));
      const plan = planDelete(facts, {
        module: props.module ?? null,
        previousContent: props.previousModprobeContent ?? undefined,
        writtenContent: props.writtenModprobeContent ?? undefined,
        previousNested: props.previousNested ?? undefined,
        restoreLive: props.restoreOnDelete ?? false,
      });
      switch (plan.kind) {
        case "none":
          return;
        case "refuse":
          throw new PreconditionError(plan.reason);
        case "change":
          await applyChange(host, props.host.rootDir, {
            module: plan.module,
            fileContent: plan.fileContent,
            fileBefore: facts.configFiles.find((f) => f.path === MANAGED_FILE)?.content,
            live: plan.live,
          });
          return;
        default:
          return assertNever(plan);
      }
    });
  },
};

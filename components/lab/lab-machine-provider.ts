import { CommandError, PreconditionError } from "../core/errors";
import { HostAccess } from "../host/access";
import { checkFailures } from "../host/check-failures";
import { diffHost, HostSpec } from "../host/connection";
import { asGiven, HostProvider } from "../host/provider";
import { withHost } from "../host/index";
import { domainState, sleep, startAction, stopDomain } from "../libvirt/domain-state";
import { parseVirshNames, virsh } from "../libvirt/virsh";
import { classroomHostReplaced, validateLabMachines } from "./lab-machines";
import { assertNever } from "../core/checks";

/**
 * A lab machine that the classroom image defines inside itself: this
 * provider starts it (and stops it on delete) through the classroom host's
 * own libvirtd, reached over SSH. It never defines or undefines it: the
 * machine belongs to the image.
 */
export interface LabMachineInputs {
  readonly host: HostSpec;
  readonly sshPrivateKey?: string;
  readonly domainName: string;
  /**
   * The classroom host's domain, from its NestedDomain: when the engine
   * replaces that domain, the machine is replaced with it (stopped before the
   * host goes, started in the new one).
   */
  readonly classroomDomainName?: string;
  /** How long the classroom host may take to answer SSH after it starts. */
  readonly bootTimeoutSeconds: number;
  /** How long a shutdown may take before the machine is forced off. */
  readonly shutdownTimeoutSeconds: number;
}

export interface LabMachineOutputs extends LabMachineInputs {
  readonly state: string;
}

/** Waits until the classroom host answers SSH and its libvirtd answers virsh. */
async function waitForClassroom(
  host: HostAccess,
  uri: string,
  timeoutSeconds: number,
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = "";
  for (;;) {
    try {
      const r = await host.run(virsh(uri, "version"), { allowFailure: true, timeoutMs: 30_000 });
      if (r.exitCode === 0) return;
      last = r.stderr.trim();
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) {
      throw new PreconditionError(
        `The classroom host (${host.label}) did not answer within ${timeoutSeconds} s: ${last}`,
      );
    }
    await sleep(3000);
  }
}

async function ensureRunning(inputs: LabMachineInputs): Promise<LabMachineOutputs> {
  return withHost(inputs.host, inputs.sshPrivateKey, async (host) => {
    const uri = inputs.host.libvirtUri;
    await waitForClassroom(host, uri, inputs.bootTimeoutSeconds);
    const state = await domainState(host, uri, inputs.domainName);
    if (state === undefined) {
      const names = parseVirshNames((await host.run(virsh(uri, "list", "--all", "--name"))).stdout);
      throw new PreconditionError(
        `The classroom host defines no machine "${inputs.domainName}" (it defines: ${names.join(", ") || "none"}). Check labMachines, or the image.`,
      );
    }
    const action = startAction(state);
    switch (action) {
      case "none":
        break;
      case "start":
        await host.run(virsh(uri, "start", inputs.domainName));
        break;
      case "resume":
        await host.run(virsh(uri, "resume", inputs.domainName));
        break;
      case "wake":
        await host.run(virsh(uri, "dompmwakeup", inputs.domainName));
        break;
      case "refuse":
        throw new PreconditionError(
          `"${inputs.domainName}" is ${state} on the classroom host: run \`pulumi up\` again once it has stopped.`,
        );
      default:
        return assertNever(action);
    }
    return { ...inputs, state: (await domainState(host, uri, inputs.domainName)) ?? "gone" };
  });
}

export const provider: HostProvider<LabMachineInputs, LabMachineOutputs> = {
  async check(_olds, news) {
    try {
      validateLabMachines([news.domainName], "labMachines");
    } catch (e) {
      return asGiven(news, checkFailures(e, [], { argumentProperty: "domainName" }));
    }
    return { inputs: news };
  },

  async diff(_id, olds, news) {
    const host = diffHost(olds, news);
    const replaces = [
      ...(olds.domainName !== news.domainName ? ["domainName"] : []),
      ...(classroomHostReplaced(olds.classroomDomainName, news.classroomDomainName)
        ? ["classroomDomainName"]
        : []),
      ...host.replaces,
    ];
    const changes =
      replaces.length > 0 ||
      host.updates.length > 0 ||
      olds.state !== "running" ||
      olds.bootTimeoutSeconds !== news.bootTimeoutSeconds ||
      olds.shutdownTimeoutSeconds !== news.shutdownTimeoutSeconds;
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const outs = await ensureRunning(inputs);
    return {
      id: `${inputs.host.ssh?.host ?? "local"}:${inputs.host.ssh?.port ?? 0}/${inputs.domainName}`,
      outs,
    };
  },

  async read(id, props: LabMachineOutputs) {
    // Refresh shows a machine stopped by hand (state drifts from "running").
    return withHost(props.host, props.sshPrivateKey, async (host) => {
      const state = await domainState(host, props.host.libvirtUri, props.domainName);
      return { id, props: { ...props, state: state ?? "gone" } };
    });
  },

  async update(_id, _olds, news) {
    return { outs: await ensureRunning(news) };
  },

  async delete(_id, props) {
    await withHost(props.host, props.sshPrivateKey, async (host) => {
      const uri = props.host.libvirtUri;
      let state: string | undefined;
      try {
        state = await domainState(host, uri, props.domainName);
      } catch (e) {
        // Nothing listens at the classroom host's SSH port: it is off, and the machine inside it too.
        // Any other failure (a timeout, a refused login, sshd not up yet) may leave it running: an error.
        if (
          e instanceof CommandError &&
          e.exitCode === undefined &&
          /Connection refused/.test(e.stderr)
        )
          return;
        throw e;
      }
      if (state === undefined) return;
      await stopDomain(host, uri, props.domainName, props.shutdownTimeoutSeconds);
    });
  },
};

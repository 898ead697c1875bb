import { PreconditionError } from "../core/errors";
import { hasUnknown } from "../core/unknown";
import { checkFailures } from "../host/check-failures";
import { HostSpec } from "../host/connection";
import { withHost } from "../host/index";
import { asGiven, GONE, HostProvider } from "../host/provider";
import { requireTools } from "../host/tools";
import { runWithDocument, virsh } from "../libvirt/virsh";
import { renderOverlayVolumeXml } from "./libvirt-xml";
import {
  backingChangeProblem,
  diffOverlay,
  PlainOverlayArgs,
  resetPlan,
  validateOverlayArgs,
} from "./overlay";
import {
  fileId,
  poolState,
  requireNoOverlays,
  requireUnused,
  volumeFacts,
  volumeFactsByPath,
} from "./pool-ops";
import { isRecordedFile } from "./volume-file";

/** What the OverlayVolume resource hands its provider. */
export interface OverlayInputs extends PlainOverlayArgs {
  readonly host: HostSpec;
  readonly sshPrivateKey?: string;
  /** Filled in by check() for a reset: the preview's words (see overlay.ts resetPlan). */
  readonly updatePlan?: string;
}

export interface OverlayOutputs extends OverlayInputs {
  readonly path: string;
  readonly virtualSizeBytes: number;
  readonly allocatedBytes: number;
  /** The overlay's file (see volume-file.ts): delete and refresh act only on it. */
  readonly fileId: string;
}

/** The OverlayVolume provider: a qcow2 overlay of a base volume, made and deleted through libvirt. */
export const provider: HostProvider<OverlayInputs, OverlayOutputs> = {
  async check(olds, news) {
    try {
      validateOverlayArgs(news);
    } catch (e) {
      return asGiven(news, checkFailures(e));
    }
    const moved = backingChangeProblem(olds, news);
    if (moved !== undefined) return asGiven(news, [{ property: "backingPath", reason: moved }]);
    const { updatePlan: _stale, ...rest } = news;
    const plan = hasUnknown(news.generation) ? undefined : resetPlan(olds, news);
    return { inputs: plan === undefined ? rest : { ...rest, updatePlan: plan } };
  },

  async diff(_id, olds, news) {
    return diffOverlay(olds, news);
  },

  /**
   * `virsh vol-create` with the overlay's XML on stdin: libvirt writes a
   * qcow2 whose backing file is the base, with the base's format pinned.
   * Refuses a name already taken and a base that is not a volume of the
   * pool; read back and checked, removed again if anything is off.
   */
  async create(raw) {
    const { updatePlan: _plan, ...inputs } = raw;
    validateOverlayArgs(inputs);
    const uri = inputs.host.libvirtUri;
    return withHost(inputs.host, inputs.sshPrivateKey, async (host) => {
      await requireTools(host, ["virsh"]);
      const state = await poolState(host, uri, inputs.pool);
      if (state !== "running") {
        throw new PreconditionError(
          `pool: "${inputs.pool}" is ${state ?? "not a libvirt storage pool"} on ${host.label}: the overlay goes into a running pool ` +
            `(the base volume's, or another on the same host).`,
        );
      }
      await host.run(virsh(uri, "pool-refresh", inputs.pool));
      if (await volumeFacts(host, uri, inputs.pool, inputs.volumeName)) {
        throw new PreconditionError(
          `volumeName: "${inputs.volumeName}" already exists in pool "${inputs.pool}" on ${host.label}, and this stack did not create it ` +
            `(or no longer tracks it). An overlay never overwrites a volume: choose another name, or delete the old one ` +
            `(virsh vol-delete --pool ${inputs.pool} ${inputs.volumeName}) if it is not needed.`,
        );
      }
      const base = await volumeFactsByPath(host, uri, inputs.backingPath);
      if (!base) {
        throw new PreconditionError(
          `backingPath: ${inputs.backingPath} is not a libvirt volume on ${host.label}: the base of an overlay is a volume of a pool there.`,
        );
      }
      const xml = renderOverlayVolumeXml({
        volumeName: inputs.volumeName,
        capacityBytes: base.capacityBytes,
        backingPath: inputs.backingPath,
        backingFormat: inputs.backingFormat,
      });
      await runWithDocument(host, uri, ["vol-create", "--pool", inputs.pool], xml);
      try {
        const made = await volumeFacts(host, uri, inputs.pool, inputs.volumeName);
        if (!made || made.format !== "qcow2" || made.backingPath !== inputs.backingPath) {
          throw new PreconditionError(
            `libvirt does not list "${inputs.volumeName}" as a qcow2 overlay of ${inputs.backingPath} after vol-create ` +
              `(it says ${made ? `${made.format}, backing ${made.backingPath ?? "none"}` : "nothing"}): removed it again.`,
          );
        }
        const outs: OverlayOutputs = {
          ...inputs,
          path: made.path,
          virtualSizeBytes: made.capacityBytes,
          allocatedBytes: made.allocationBytes,
          fileId: (await fileId(host, made.path)) ?? "",
        };
        return { id: made.path, outs };
      } catch (e) {
        await host.run(virsh(uri, "vol-delete", "--pool", inputs.pool, inputs.volumeName), {
          allowFailure: true,
        });
        throw e;
      }
    });
  },

  /** Refresh: its sizes as libvirt sees them; gone when its file is gone or another took its name. */
  async read(id, props) {
    return withHost(props.host, props.sshPrivateKey, async (host) => {
      const now = await fileId(host, props.path);
      if (now === undefined || !isRecordedFile(props, now)) return GONE;
      const uri = props.host.libvirtUri;
      if ((await poolState(host, uri, props.pool)) !== "running") return { id, props };
      await host.run(virsh(uri, "pool-refresh", props.pool));
      const vol = await volumeFacts(host, uri, props.pool, props.volumeName);
      return vol
        ? {
            id,
            props: {
              ...props,
              virtualSizeBytes: vol.capacityBytes,
              allocatedBytes: vol.allocationBytes,
            },
          }
        : { id, props };
    });
  },

  /** A new way to reach the host, a rotated key or a new label: the overlay stays. */
  async update(_id, olds, news) {
    return {
      outs: { ...olds, host: news.host, sshPrivateKey: news.sshPrivateKey, label: news.label },
    };
  },

  /**
   * Deletes the overlay this resource made, and nothing else: never while a
   * process holds it (a running lab's QEMU) or another volume rests on it.
   * Already gone is success.
   */
  async delete(_id, state) {
    const uri = state.host.libvirtUri;
    await withHost(state.host, state.sshPrivateKey, async (host) => {
      const now = await fileId(host, state.path);
      if (now === undefined) return;
      if (!isRecordedFile(state, now)) {
        process.stderr.write(
          `OverlayVolume ${state.volumeName}: ${state.path} is not the overlay this stack made (another file took its name): left in place.\n`,
        );
        return;
      }
      await requireUnused(host, uri, state.path, "deleting");
      if ((await poolState(host, uri, state.pool)) === "running") {
        await requireNoOverlays(host, uri, state.pool, state.path, "deleting");
        if (await volumeFacts(host, uri, state.pool, state.volumeName)) {
          await host.run(virsh(uri, "vol-delete", "--pool", state.pool, state.volumeName));
          return;
        }
      }
      await host.run(["rm", "-f", "--", state.path]);
    });
  },
};

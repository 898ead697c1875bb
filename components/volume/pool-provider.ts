import { PreconditionError } from "../core/errors";
import { checkFailures } from "../host/check-failures";
import { asGiven, GONE, HostProvider } from "../host/provider";
import { requireTools } from "../host/tools";
import { virsh } from "../libvirt/virsh";
import { diffHost, HostSpec } from "../host/connection";
import { withHost } from "../host/index";
import { validatePoolName, validatePoolPath } from "./args";
import { hasUnknown } from "../core/unknown";
import { poolState } from "./pool-ops";

/** What the StoragePool resource (createPool) hands its provider. */
export interface StoragePoolInputs {
  readonly host: HostSpec;
  readonly sshPrivateKey?: string;
  /** The pool's name. */
  readonly pool: string;
  /** The folder that holds its volumes. */
  readonly path: string;
}

/** The argv that define, build and start a directory pool, in order. */
export function definePoolArgv(uri: string, pool: string, path: string): string[][] {
  return [
    virsh(uri, "pool-define-as", pool, "dir", "--target", path),
    virsh(uri, "pool-build", pool),
    virsh(uri, "pool-start", pool),
    virsh(uri, "pool-autostart", pool),
  ];
}

export const provider: HostProvider<StoragePoolInputs, StoragePoolInputs> = {
  async check(_olds, news) {
    if (hasUnknown(news)) return asGiven(news);
    try {
      return {
        inputs: {
          ...news,
          pool: validatePoolName(news.pool),
          path: validatePoolPath(news.path, "path"),
        },
      };
    } catch (e) {
      return asGiven(news, checkFailures(e));
    }
  },

  async diff(_id, olds, news) {
    const replaces: string[] = (["pool", "path"] as const).filter(
      (k) => hasUnknown(news[k]) || olds[k] !== news[k],
    );
    const host = diffHost(olds, news);
    replaces.push(...host.replaces);
    // Two pools cannot share a name or a folder: the old one goes first.
    return {
      changes: replaces.length > 0 || host.updates.length > 0,
      replaces,
      deleteBeforeReplace: replaces.length > 0,
    };
  },

  /** Defines, builds (mkdir), starts and autostarts a dir pool; refuses a pool that exists already. */
  async create(inputs) {
    const uri = inputs.host.libvirtUri;
    return withHost(inputs.host, inputs.sshPrivateKey, async (host) => {
      await requireTools(host, ["virsh"]);
      if ((await poolState(host, uri, inputs.pool)) !== undefined) {
        throw new PreconditionError(
          `createPool: the pool "${inputs.pool}" already exists on ${host.label}, and this stack did not create it. ` +
            `Drop createPool to use it as it is, or choose another pool name.`,
        );
      }
      try {
        for (const argv of definePoolArgv(uri, inputs.pool, inputs.path)) await host.run(argv);
      } catch (e) {
        await host.run(virsh(uri, "pool-destroy", inputs.pool), { allowFailure: true });
        await host.run(virsh(uri, "pool-undefine", inputs.pool), { allowFailure: true });
        throw e;
      }
      return { id: inputs.pool, outs: { ...inputs } };
    });
  },

  async read(id, props) {
    return withHost(props.host, props.sshPrivateKey, async (host) =>
      (await poolState(host, props.host.libvirtUri, props.pool)) === undefined
        ? GONE
        : { id, props },
    );
  },

  async update(_id, olds, news) {
    return { outs: { ...olds, host: news.host, sshPrivateKey: news.sshPrivateKey } };
  },

  /**
   * Stops and undefines the pool. Its folder is removed only when empty: the
   * files in it (a volume kept with retainOnDelete) stay.
   */
  async delete(_id, state) {
    const uri = state.host.libvirtUri;
    await withHost(state.host, state.sshPrivateKey, async (host) => {
      const s = await poolState(host, uri, state.pool);
      if (s === undefined) return;
      if (s === "running") await host.run(virsh(uri, "pool-destroy", state.pool));
      await host.run(virsh(uri, "pool-undefine", state.pool));
      await host.run(["rmdir", "--", state.path], { allowFailure: true });
    });
  },
};

import { PreconditionError } from "../core/errors";
import { hasUnknown } from "../core/unknown";
import { HostAccess } from "../host/access";
import { checkFailures } from "../host/check-failures";
import { diffHost, HostSpec } from "../host/connection";
import { withHost } from "../host/index";
import { asGiven, GONE, HostProvider } from "../host/provider";
import { requireTools } from "../host/tools";
import { virshLookup, runWithDocument, virsh } from "../libvirt/virsh";
import { NetworkSpec, renderNetworkXml, validateNetworkSpec } from "./network-xml";

/** What the Network resource hands its provider. */
export interface NetworkInputs extends NetworkSpec {
  readonly host: HostSpec;
  readonly sshPrivateKey?: string;
}

/** What the component hands check(): the defaults are filled in there. */
export type NetworkGivenInputs = Omit<NetworkInputs, "mode" | "prefixLength" | "autostart"> &
  Partial<Pick<NetworkInputs, "mode" | "prefixLength" | "autostart">>;

export interface NetworkOutputs extends NetworkInputs {
  /** The network's UUID: delete and refresh act only on the network this resource made. */
  readonly uuid: string;
  /** The bridge libvirt made (named by libvirt unless bridgeName was given). */
  readonly bridge: string;
  readonly active: boolean;
}

/** Properties whose change needs a new network (libvirt cannot change them on a live one). */
const REPLACE_KEYS = [
  "networkName",
  "mode",
  "bridgeName",
  "address",
  "prefixLength",
  "dhcp",
] as const;

interface NetInfo {
  readonly uuid: string;
  readonly active: boolean;
  readonly autostart: boolean;
  readonly bridge: string;
}

/** `virsh net-info` → its fields; undefined when the network does not exist. */
async function netInfo(host: HostAccess, uri: string, name: string): Promise<NetInfo | undefined> {
  const info = await virshLookup(host, uri, "network", ["net-info", name]);
  return info === undefined ? undefined : parseNetInfo(info);
}

export function parseNetInfo(stdout: string): NetInfo {
  const field = (key: string) =>
    new RegExp(`^${key}:\\s*(.*)$`, "m").exec(stdout)?.[1].trim() ?? "";
  return {
    uuid: field("UUID"),
    active: field("Active") === "yes",
    autostart: field("Autostart") === "yes",
    bridge: field("Bridge"),
  };
}

async function defineAndStart(host: HostAccess, spec: NetworkInputs): Promise<NetworkOutputs> {
  const uri = spec.host.libvirtUri;
  let defined = false;
  try {
    await runWithDocument(host, uri, ["net-define"], renderNetworkXml(spec));
    defined = true;
    await host.run(virsh(uri, "net-start", spec.networkName));
    if (spec.autostart) await host.run(virsh(uri, "net-autostart", spec.networkName));
  } catch (e) {
    // Nothing half-made: a network that would not start is undefined again.
    if (defined) {
      await host.run(virsh(uri, "net-destroy", spec.networkName), { allowFailure: true });
      await host.run(virsh(uri, "net-undefine", spec.networkName), { allowFailure: true });
    }
    throw e;
  }
  const info = await netInfo(host, uri, spec.networkName);
  if (!info?.active)
    throw new PreconditionError(
      `network ${spec.networkName} was defined but is not active on ${host.label}`,
    );
  return { ...spec, uuid: info.uuid, bridge: info.bridge, active: info.active };
}

function changed(
  olds: NetworkOutputs,
  news: NetworkInputs,
  key: (typeof REPLACE_KEYS)[number] | "autostart",
): boolean {
  return JSON.stringify(olds[key] ?? null) !== JSON.stringify(news[key] ?? null);
}

export const provider: HostProvider<NetworkInputs, NetworkOutputs, NetworkGivenInputs> = {
  async check(olds, news) {
    try {
      const spec = validateNetworkSpec(news);
      // A preview with values not known yet: nothing to look up on the host.
      if (hasUnknown(news)) return asGiven(news);
      const inputs = { ...news, ...spec } as NetworkInputs;
      // A network of that name that this stack did not make is never taken over.
      if (!olds || olds.networkName !== spec.networkName) {
        const taken = await withHost(inputs.host, inputs.sshPrivateKey, async (host) => {
          await requireTools(host, ["virsh"]);
          return netInfo(host, inputs.host.libvirtUri, spec.networkName);
        });
        if (taken) {
          return asGiven(news, [
            {
              property: "networkName",
              reason: `networkName: a network "${spec.networkName}" exists already on the host and this stack did not make it; choose another name, or remove it (virsh net-destroy/net-undefine ${spec.networkName}).`,
            },
          ]);
        }
      }
      return { inputs };
    } catch (e) {
      return asGiven(news, checkFailures(e));
    }
  },

  async diff(_id, olds, news) {
    const host = diffHost(olds, news);
    const replaces = [...REPLACE_KEYS.filter((k) => changed(olds, news, k)), ...host.replaces];
    const changes =
      replaces.length > 0 ||
      host.updates.length > 0 ||
      changed(olds, news, "autostart") ||
      !olds.active;
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const outs = await withHost(inputs.host, inputs.sshPrivateKey, (host) =>
      defineAndStart(host, inputs),
    );
    return { id: outs.uuid, outs };
  },

  async read(id, props) {
    return withHost(props.host, props.sshPrivateKey, async (host) => {
      const info = await netInfo(host, props.host.libvirtUri, props.networkName);
      // Gone, or a different network under the same name: not ours any more.
      if (!info || info.uuid !== props.uuid) return GONE;
      return {
        id,
        props: { ...props, active: info.active, autostart: info.autostart, bridge: info.bridge },
      };
    });
  },

  async update(_id, olds, news) {
    return withHost(news.host, news.sshPrivateKey, async (host) => {
      const uri = news.host.libvirtUri;
      if (!olds.active) await host.run(virsh(uri, "net-start", news.networkName));
      await host.run(
        virsh(uri, "net-autostart", news.networkName, ...(news.autostart ? [] : ["--disable"])),
      );
      const info = await netInfo(host, uri, news.networkName);
      return {
        outs: {
          ...news,
          uuid: olds.uuid,
          bridge: info?.bridge ?? olds.bridge,
          active: info?.active ?? false,
        },
      };
    });
  },

  async delete(_id, props) {
    await withHost(props.host, props.sshPrivateKey, async (host) => {
      const uri = props.host.libvirtUri;
      const info = await netInfo(host, uri, props.networkName);
      if (!info || info.uuid !== props.uuid) return; // already gone, or not ours
      if (info.active) await host.run(virsh(uri, "net-destroy", props.networkName));
      await host.run(virsh(uri, "net-undefine", props.networkName));
    });
  },
};

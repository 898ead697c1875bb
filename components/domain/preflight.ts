import { InvalidArgumentError, PreconditionError } from "../core/errors";
import { HostAccess } from "../host/access";
import { compareHosts } from "../host/connection";
import { requireTools } from "../host/tools";
import { parseVirshNames, runWithDocument, virsh } from "../libvirt/virsh";
import { domainUuid, notOurs } from "./domain-ops";
import {
  ownerOf,
  parseDomainCapabilities,
  parseListeners,
  parseNodeInfo,
  portTaken,
} from "./host-facts";
import { fieldsFromXml } from "./normalise";
import { DomainInputs, specOf } from "./inputs";
import { ListeningPort, listeningPorts } from "./ports";
import { renderCpuXml } from "./render";
import { DomainSpec, ResolvedDomainSpec } from "./spec";

/**
 * Everything that can be known before defining, checked against the host:
 * the CPU (domcapabilities, hypervisor-cpu-compare), memory and vCPUs
 * (nodeinfo), the name, ports, networks, bridges, volumes and files. Throws
 * InvalidArgumentError or PreconditionError; changes nothing.
 */
export async function preflight(
  host: HostAccess,
  inputs: DomainInputs,
  spec: ResolvedDomainSpec,
  olds: Partial<DomainInputs>,
): Promise<void> {
  await requireTools(host, ["virsh"]);
  const uri = inputs.host.libvirtUri;
  const caps = parseDomainCapabilities(
    (await host.run(virsh(uri, "domcapabilities", "--virttype", spec.domainType))).stdout,
  );
  if (caps.modes[spec.cpu.mode] !== true) {
    throw new InvalidArgumentError(
      "cpu.mode",
      spec.cpu.mode,
      `a mode this host supports for domain type "${spec.domainType}" (${supported(caps.modes)})`,
    );
  }
  if (spec.cpu.mode === "custom") {
    const model = caps.models.get(spec.cpu.model ?? "");
    if (!model)
      throw new InvalidArgumentError(
        "cpu.model",
        spec.cpu.model,
        `a model this host knows (\`virsh domcapabilities\` lists ${[...caps.models.keys()].slice(0, 12).join(", ")}, …)`,
      );
  }
  if (spec.cpu.mode !== "host-passthrough") {
    const compare = await runWithDocument(
      host,
      uri,
      ["hypervisor-cpu-compare", "--virttype", spec.domainType, "--error"],
      renderCpuXml(spec),
      { allowFailure: true },
    );
    if (compare.exitCode !== 0) {
      const reason =
        compare.stderr
          .split("\n")
          .filter((l) => l.startsWith("error:"))
          .pop()
          ?.replace(/^error:\s*/, "") ?? compare.stderr.trim();
      throw new InvalidArgumentError(
        "cpu",
        { mode: spec.cpu.mode, model: spec.cpu.model, features: spec.cpu.features },
        `a CPU this host can give a "${spec.domainType}" domain; libvirt says: ${reason}`,
      );
    }
  }
  const node = parseNodeInfo((await host.run(virsh(uri, "nodeinfo"))).stdout);
  if (spec.maxMemoryMiB * 1024 > node.memoryKiB) {
    throw new InvalidArgumentError(
      spec.maxMemoryMiB === spec.memoryMiB ? "memoryMiB" : "maxMemoryMiB",
      spec.maxMemoryMiB,
      `at most the host's memory (${Math.floor(node.memoryKiB / 1024)} MiB)`,
    );
  }
  if (spec.vcpus > node.cpus)
    throw new InvalidArgumentError("vcpus", spec.vcpus, `at most the host's ${node.cpus} CPUs`);
  if (spec.maxVcpus > caps.maxVcpus)
    throw new InvalidArgumentError(
      "maxVcpus",
      spec.maxVcpus,
      `at most ${caps.maxVcpus} (the hypervisor's limit)`,
    );

  const sameHypervisor =
    olds.host !== undefined && compareHosts(olds.host, inputs.host) !== "other";
  const ours = olds.domainName === spec.domainName && sameHypervisor;
  if (!ours) {
    const uuid = await domainUuid(host, uri, spec.domainName);
    if (uuid) throw notOurs(spec.domainName, uuid, host.label);
  }
  // The ports the resource holds now are its own, under its old name too: a
  // replacement (a rename) removes the old domain before it makes the new one.
  await checkPorts(host, spec, sameHypervisor ? olds : {}, uri);
  for (const [i, n] of spec.networks.entries()) {
    if (n.network !== undefined) {
      const info = await host.run(virsh(uri, "net-info", n.network), { allowFailure: true });
      if (info.exitCode !== 0)
        throw new InvalidArgumentError(
          `networks[${i}].network`,
          n.network,
          `a libvirt network on ${host.label} (\`virsh net-list --all\`)`,
        );
      if (spec.running && !/^Active:\s*yes/m.test(info.stdout)) {
        throw new InvalidArgumentError(
          `networks[${i}].network`,
          n.network,
          `an active network (start it: virsh net-start ${n.network})`,
        );
      }
    }
    if (
      n.bridge !== undefined &&
      (await host.listDir(`/sys/class/net/${n.bridge}/bridge`)).length === 0
    ) {
      throw new InvalidArgumentError(
        `networks[${i}].bridge`,
        n.bridge,
        `a bridge interface on ${host.label} (\`ip -br link show type bridge\`)`,
      );
    }
  }
  for (const [i, d] of spec.disks.entries()) {
    if (d.volume) {
      const r = await host.run(
        virsh(uri, "vol-path", "--pool", d.volume.pool, d.volume.volumeName),
        { allowFailure: true },
      );
      if (r.exitCode !== 0) {
        throw new InvalidArgumentError(
          `disks[${i}].volume`,
          d.volume,
          `a volume that exists (\`virsh vol-list ${d.volume.pool}\`); libvirt says: ${r.stderr.trim().split("\n").pop()}`,
        );
      }
    } else if (d.path !== undefined) {
      await requireFile(host, `disks[${i}].path`, d.path);
    }
  }
  if (spec.boot) {
    await requireFile(host, "boot.kernel", spec.boot.kernel);
    if (spec.boot.initrd !== undefined) await requireFile(host, "boot.initrd", spec.boot.initrd);
  }
}

export async function requireFile(host: HostAccess, argument: string, file: string): Promise<void> {
  const r = await host.run(["test", "-f", file], { allowFailure: true });
  if (r.exitCode !== 0)
    throw new InvalidArgumentError(argument, file, `a file that exists on ${host.label}`);
}

/**
 * Ports this domain will listen on must be free, except those the resource
 * itself holds: its current definition (`olds`), or, when the engine checks
 * a replacement again without olds, a running domain recorded as this
 * resource's (same owner), which goes before the new one is made.
 */
export async function checkPorts(
  host: HostAccess,
  spec: ResolvedDomainSpec,
  olds: Partial<DomainInputs>,
  uri: string,
): Promise<void> {
  const key = (p: ListeningPort): string => `${p.protocol}:${p.address}:${p.port}`;
  const held = new Set(olds.domainName !== undefined ? listeningPorts(specOf(olds)).map(key) : []);
  const wanted = listeningPorts(spec).filter((p) => !held.has(key(p)));
  if (wanted.length === 0) return;
  if (!(await host.hasCommand("ss"))) {
    throw new PreconditionError(
      `ss was not found on ${host.label}: apt-get install iproute2 (it checks that the domain's ports are free).`,
    );
  }
  // A listener at exactly a port the current definition holds is the domain's own, gone once it restarts.
  const others = (protocol: "tcp" | "udp", text: string) =>
    parseListeners(text).filter((l) => !held.has(`${protocol}:${l.address}:${l.port}`));
  const tcp = others("tcp", (await host.run(["ss", "-H", "-l", "-n", "-t"])).stdout);
  const udp = others("udp", (await host.run(["ss", "-H", "-l", "-n", "-u"])).stdout);
  const taken = wanted.filter((p) =>
    portTaken(p.protocol === "udp" ? udp : tcp, p.address, p.port),
  );
  if (taken.length === 0) return;
  const own = new Set((await portsOfOwner(host, uri, spec.owner)).map(key));
  for (const p of taken) {
    if (!own.has(key(p))) {
      throw new InvalidArgumentError(
        p.argument,
        p.port,
        `a ${p.protocol.toUpperCase()} port that is free on ${p.address} of ${host.label} (something already listens there: \`ss -ltnp\`)`,
      );
    }
  }
}

/** The ports the running domains recorded as `owner`'s listen on (from their definitions). */
async function portsOfOwner(
  host: HostAccess,
  uri: string,
  owner: string | undefined,
): Promise<ListeningPort[]> {
  if (owner === undefined) return [];
  const running = parseVirshNames((await host.run(virsh(uri, "list", "--name"))).stdout);
  const ports: ListeningPort[] = [];
  for (const name of running) {
    const r = await host.run(virsh(uri, "dumpxml", "--inactive", name), { allowFailure: true });
    if (r.exitCode === 0 && ownerOf(r.stdout) === owner)
      ports.push(...listeningPorts(fieldsFromXml(r.stdout) as unknown as DomainSpec));
  }
  return ports;
}

function supported(modes: Readonly<Record<string, boolean>>): string {
  const yes = Object.entries(modes)
    .filter(([, v]) => v)
    .map(([k]) => k);
  return yes.length ? `supported: ${yes.join(", ")}` : "none supported";
}

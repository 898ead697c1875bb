import { PreconditionError } from "../core/errors";
import { HostAccess } from "../host/access";
import { readHostCpuFacts } from "../libvirt/cpu-ops";
import { domainState, isActive, sleep } from "../libvirt/domain-state";
import { virshLookup, runWithDocument, virsh } from "../libvirt/virsh";
import { liveAddresses, ownerOf, parseDomIfAddr, parseDomInfoLive } from "./host-facts";
import { DomainInputs, Observed } from "./inputs";
import { DEFAULT_IP_WAIT_SECONDS, HostFacts } from "./resolve";

/**
 * What the NestedDomain provider does on the host through virsh, apart from
 * its CRUD: the host facts, the owned definition, defining, observing.
 */

/**
 * What the XML depends on besides the arguments. An explicit domainType or
 * hostVendor wins; otherwise the value chosen when the domain was made is
 * kept (loading kvm_amd later must not silently replace a running domain);
 * otherwise the host decides: "kvm" only with kvm_intel or kvm_amd loaded.
 * The host's identity (for default MACs) is read for a new domain only; a
 * domain keeps the one it was made with, and one made before has none.
 */
export async function hostFacts(
  host: HostAccess,
  news: DomainInputs,
  olds: Partial<DomainInputs>,
): Promise<HostFacts> {
  const made = olds.xml !== undefined;
  const hostId = made ? olds.resolvedHostId : await readHostId(host, news.host.libvirtUri);
  const withId = hostId === undefined ? {} : { hostId };
  const domainType = news.domainType ?? olds.resolvedDomainType;
  const hostVendor = news.hostVendor ?? olds.resolvedHostVendor;
  if (domainType !== undefined && hostVendor !== undefined)
    return { domainType, hostVendor, ...withId };
  const read = await readHostCpuFacts(host, news.host.rootDir);
  return {
    domainType: domainType ?? read.domainType,
    hostVendor: hostVendor ?? read.hostVendor,
    ...withId,
  };
}

/** The hypervisor's identity: its /etc/machine-id, else the host UUID libvirt reports. */
async function readHostId(host: HostAccess, uri: string): Promise<string | undefined> {
  const machineId = (await host.readFile("/etc/machine-id"))?.trim();
  if (machineId) return machineId;
  const caps = await host.run(virsh(uri, "capabilities"), { allowFailure: true });
  return /<host>\s*<uuid>([^<]+)<\/uuid>/.exec(caps.stdout)?.[1];
}

/**
 * libvirt's stored definition of a domain this resource made, or undefined
 * when the domain is gone. Refuses (PreconditionError) a domain whose
 * recorded owner is not `expected.owner`: it is never touched.
 */
export async function readOwnedDefinition(
  host: HostAccess,
  uri: string,
  uuid: string,
  expected: { readonly domainName: string; readonly owner: string | undefined },
): Promise<string | undefined> {
  const xml = await virshLookup(host, uri, "domain", ["dumpxml", "--inactive", uuid]);
  if (xml === undefined) return undefined;
  if (ownerOf(xml) !== expected.owner) throw notOurs(expected.domainName, uuid, host.label);
  return xml;
}

export function notOurs(name: string, uuid: string, label: string): PreconditionError {
  return new PreconditionError(
    `A domain named ${JSON.stringify(name)} (${uuid}) already exists on ${label} and was not created by this stack's resource; it is left untouched. ` +
      "Choose another domainName, or remove that domain yourself (virsh undefine) if it is no longer needed.",
  );
}

/** Whether a domain of that name exists and was made by the resource `owner` names. */
export async function ownDomainExists(
  host: HostAccess,
  uri: string,
  name: string,
  owner: string | undefined,
): Promise<boolean> {
  const uuid = await domainUuid(host, uri, name);
  if (uuid === undefined || owner === undefined) return false;
  const r = await host.run(virsh(uri, "dumpxml", "--inactive", uuid), { allowFailure: true });
  return r.exitCode === 0 && ownerOf(r.stdout) === owner;
}

/** The UUID of the domain of that name, or undefined when there is none. */
export async function domainUuid(
  host: HostAccess,
  uri: string,
  name: string,
): Promise<string | undefined> {
  return (await virshLookup(host, uri, "domain", ["domuuid", name]))?.trim();
}

/**
 * The stored definition with its secrets (the VNC password), to define again
 * as it was: held in memory only, never written or shown.
 */
export async function definitionWithSecrets(
  host: HostAccess,
  uri: string,
  uuid: string,
): Promise<string> {
  return (await host.run(virsh(uri, "dumpxml", "--inactive", "--security-info", uuid))).stdout;
}

/** `virsh define` of a definition handed on stdin (it may hold the VNC password). */
export async function defineDomain(
  host: HostAccess,
  uri: string,
  definition: string,
): Promise<void> {
  await runWithDocument(host, uri, ["define"], definition);
}

/** The domain's state; a domain that is gone is an error here. */
export async function requireState(host: HostAccess, uri: string, uuid: string): Promise<string> {
  const state = await domainState(host, uri, uuid);
  if (state === undefined)
    throw new PreconditionError(`The domain ${uuid} is gone from ${host.label}.`);
  return state;
}

/**
 * What the outputs report: state, where VNC and the serial console listen,
 * IP addresses, and what the running guest really has (memory, vCPUs, read
 * back) against what `inputs` define.
 */
export async function observe(
  host: HostAccess,
  inputs: DomainInputs,
  uuid: string,
  waitForIp: boolean,
): Promise<Observed> {
  const uri = inputs.host.libvirtUri;
  const state = await requireState(host, uri, uuid);
  const live = isActive(state)
    ? parseDomInfoLive((await host.run(virsh(uri, "dominfo", uuid))).stdout)
    : undefined;
  const liveMemoryMiB =
    live?.usedMemoryKiB === undefined ? null : Math.round(live.usedMemoryKiB / 1024);
  const pendingRestart = [
    ...(liveMemoryMiB !== null && liveMemoryMiB !== inputs.memoryMiB ? ["memoryMiB"] : []),
    ...(live?.cpus !== undefined && live.cpus !== inputs.vcpus ? ["vcpus"] : []),
  ];
  const { vncAddress, serialAddress } = liveAddresses(
    (await host.run(virsh(uri, "dumpxml", uuid))).stdout,
  );
  const leased = (inputs.networks ?? []).some(
    (n) => n.network !== undefined || n.bridge !== undefined,
  );
  const wait = waitForIp ? (inputs.ipWaitSeconds ?? DEFAULT_IP_WAIT_SECONDS) : 0;
  const ipAddresses = isActive(state) && leased ? await ipAddressesOf(host, uri, uuid, wait) : [];
  return {
    uuid,
    state,
    vncAddress,
    serialAddress,
    ipAddresses,
    liveMemoryMiB,
    pendingRestart,
  };
}

/** How long a live memory change may take to show in the guest, at most. */
const BALLOON_WAIT_MS = 30_000;
/** A balloon that has not moved for this long is not going to: no driver in the guest. */
const BALLOON_STILL_MS = 3_000;

/**
 * After `setmem --live`: waits until the guest's memory reaches `targetMiB`
 * (its balloon driver moves it, a little at a time), or stops moving. What
 * it reached is for observe() to report; nothing is assumed.
 */
export async function settleMemory(
  host: HostAccess,
  uri: string,
  uuid: string,
  targetMiB: number,
): Promise<void> {
  const started = Date.now();
  let last: number | undefined;
  let lastMove = started;
  for (;;) {
    const kib = parseDomInfoLive(
      (await host.run(virsh(uri, "dominfo", uuid))).stdout,
    ).usedMemoryKiB;
    if (kib === undefined || Math.round(kib / 1024) === targetMiB) return;
    const now = Date.now();
    if (kib !== last) {
      last = kib;
      lastMove = now;
    }
    if (now - lastMove >= BALLOON_STILL_MS || now - started >= BALLOON_WAIT_MS) return;
    await sleep(500);
  }
}

/** How often a domain's addresses are asked for while waiting. */
const IP_POLL_MS = 2000;

/**
 * Addresses from the DHCP lease (libvirt networks), then from the guest
 * agent; polled until one shows or the wait ends. None is a valid answer.
 */
export async function ipAddressesOf(
  host: HostAccess,
  uri: string,
  uuid: string,
  waitSeconds: number,
): Promise<string[]> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    for (const source of ["lease", "agent"]) {
      const r = await host.run(virsh(uri, "domifaddr", uuid, "--source", source), {
        allowFailure: true,
        timeoutMs: 10_000,
      });
      const found = r.exitCode === 0 ? parseDomIfAddr(r.stdout) : [];
      if (found.length) return found;
    }
    if (Date.now() >= deadline) return [];
    await sleep(IP_POLL_MS);
  }
}

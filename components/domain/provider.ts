import { isDeepStrictEqual } from "util";
import { CommandError, PreconditionError } from "../core/errors";
import { hasUnknown, isUnknown, UNKNOWN } from "../core/unknown";
import { checkFailures } from "../host/check-failures";
import { compareHosts, diffHost, HostAccess, resolveHost, withHost } from "../host";
import { asGiven, GONE, HostProvider } from "../host/provider";
import { requireTools } from "../host/tools";
import { isActive, stopDomain } from "../libvirt/domain-state";
import { virsh } from "../libvirt/virsh";
import { describePlan, DISK_REPLACED_PLAN } from "./classify";
import {
  defineDomain,
  definitionWithSecrets,
  domainUuid,
  hostFacts,
  notOurs,
  observe,
  ownDomainExists,
  readOwnedDefinition,
  requireState,
  settleMemory,
} from "./domain-ops";
import { parseAutostart, parseDomInfoLive } from "./host-facts";
import {
  DomainInputs,
  DomainOutputs,
  driftFrom,
  OUTPUT_ONLY,
  passwordOf,
  planBetween,
  specOf,
  withoutKeys,
} from "./inputs";
import { preflight } from "./preflight";
import { definitionXml, renderDomainXml } from "./render";
import { acpiWaitSeconds, resolveDomainSpec } from "./resolve";
import { validateDomainSpec, validateVncPassword } from "./validate";

export type { DomainInputs, DomainOutputs } from "./inputs";

/** Inputs whose XML is still unknown (a preview): check again once known. */
const NOT_RENDERED = { xml: UNKNOWN, macs: UNKNOWN as never, updatePlan: UNKNOWN };

/**
 * The NestedDomain provider: check renders and checks against the host,
 * the rest defines, starts, updates, observes and undefines through virsh.
 */
export const provider: HostProvider<DomainInputs, DomainOutputs> = {
  async check(olds, news) {
    const spec = specOf(news);
    try {
      validateDomainSpec(spec, { vncPasswordSet: passwordOf(news) !== undefined });
      validateVncPassword(passwordOf(news));
      if (!isUnknown(news.host)) resolveHost(news.host as never);
    } catch (e) {
      return asGiven(news, checkFailures(e, [[PreconditionError, ""]]));
    }
    if (isUnknown(news.host) || hasUnknown(news.host)) return asGiven({ ...news, ...NOT_RENDERED });
    // Facts chosen on this hypervisor are kept, however it is reached.
    const sameHost = olds.host !== undefined && compareHosts(olds.host, news.host) !== "other";
    return withHost(news.host, news.sshPrivateKey, async (host) => {
      const facts = await hostFacts(host, news, sameHost ? olds : {});
      const withFacts: DomainInputs = {
        ...withoutKeys(news, ["resolvedHostId"]),
        resolvedDomainType: facts.domainType,
        resolvedHostVendor: facts.hostVendor,
        ...(facts.hostId !== undefined ? { resolvedHostId: facts.hostId } : {}),
      };
      if (hasUnknown(spec)) {
        // Checked afresh (no olds) while this resource's own domain exists, with disks still to
        // come: the engine replaces it with a volume it runs on (see diff). The preview says why.
        const replacedWithDisk =
          olds.xml === undefined &&
          hasUnknown(news.disks) &&
          !isUnknown(news.domainName) &&
          (await ownDomainExists(host, news.host.libvirtUri, news.domainName, news.owner));
        return asGiven({
          ...withFacts,
          ...NOT_RENDERED,
          ...(replacedWithDisk ? { updatePlan: DISK_REPLACED_PLAN } : {}),
        });
      }
      let xml: string;
      let macs: string[];
      try {
        // Rendered once; the preflight works on the resolved spec.
        const resolved = resolveDomainSpec(spec, facts, passwordOf(news) !== undefined);
        xml = renderDomainXml(resolved);
        macs = resolved.networks.map((n) => n.mac);
        await preflight(host, withFacts, resolved, olds);
      } catch (e) {
        return asGiven(withFacts, checkFailures(e, [[PreconditionError, ""]]));
      }
      const out = withoutKeys({ ...withFacts, xml, macs }, ["updatePlan"]);
      if (olds.xml === undefined || olds.domainName === undefined) return { inputs: out };
      const plan = describePlan(planBetween(olds as DomainInputs, out));
      return { inputs: plan ? { ...out, updatePlan: plan } : out };
    });
  },

  async diff(_id, olds, news) {
    // The engine asks this, with the disks unknown and every other input as stored, before it
    // deletes a resource they come from to make it again (a ConvertedVolume whose source changed).
    // The guest must not run on while its disk's file is deleted: it is replaced, deleted first,
    // and made again on the new disk.
    if (hasUnknown(news.disks) && !hasUnknown(news.xml))
      return { changes: true, replaces: ["disks"], deleteBeforeReplace: true };
    if (hasUnknown(news.xml) || hasUnknown(specOf(news))) {
      const replaces: string[] = (["domainName", "domainType"] as const).filter(
        (k) => !isUnknown(news[k]) && !isDeepStrictEqual(olds[k], news[k]),
      );
      replaces.push(...diffHost(olds, news).replaces);
      return { changes: true, replaces, deleteBeforeReplace: true };
    }
    const plan = planBetween(olds, news);
    const changes = plan.replace.length + plan.restart.length + plan.live.length > 0;
    // Replacing deletes first: the new domain takes the same disks (QEMU locks them) and often the same name.
    return { changes, replaces: [...plan.replace], deleteBeforeReplace: true };
  },

  async create(inputs) {
    const xml = requireXml(inputs);
    return withHost(inputs.host, inputs.sshPrivateKey, async (host) => {
      await requireTools(host, ["virsh"]);
      const uri = inputs.host.libvirtUri;
      const existing = await domainUuid(host, uri, inputs.domainName);
      if (existing) throw notOurs(inputs.domainName, existing, host.label);
      await defineDomain(host, uri, definitionXml(xml, { vncPassword: passwordOf(inputs) }));
      const uuid = await domainUuid(host, uri, inputs.domainName);
      if (!uuid)
        throw new Error(
          `virsh define reported success but ${inputs.domainName} is not defined on ${host.label}`,
        );
      try {
        if (inputs.autostart) await host.run(virsh(uri, "autostart", uuid));
        if (inputs.running ?? true) await host.run(virsh(uri, "start", uuid));
      } catch (e) {
        // Transactional: a domain that could not be started is not left behind.
        await stopDomain(host, uri, uuid, 0);
        await host.run(virsh(uri, "undefine", uuid, "--nvram"), { allowFailure: true });
        throw e;
      }
      const observed = await observe(host, inputs, uuid, inputs.running ?? true);
      return { id: uuid, outs: { ...withoutKeys(inputs, ["updatePlan"]), ...observed } };
    });
  },

  async read(id, props) {
    return withHost(props.host, props.sshPrivateKey, async (host) => {
      const uri = props.host.libvirtUri;
      const inactive = await readOwnedDefinition(host, uri, id, props);
      if (inactive === undefined) return GONE;
      const dominfo = await host.run(virsh(uri, "dominfo", id));
      const state = await requireState(host, uri, id);
      const drift = props.xml ? driftFrom(props.xml, inactive) : {};
      const liveDrift = memoryDrift(props, drift, state, dominfo.stdout);
      const observedRunning = state === "running";
      const running =
        observedRunning === (props.running ?? true) ? {} : { running: observedRunning };
      const autostart =
        parseAutostart(dominfo.stdout) === (props.autostart ?? false)
          ? {}
          : { autostart: parseAutostart(dominfo.stdout) };
      const observed = await observe(host, { ...props, ...drift }, id, false);
      const inputs = {
        ...withoutKeys(props, OUTPUT_ONLY),
        ...drift,
        ...liveDrift,
        ...running,
        ...autostart,
      };
      return { id, props: { ...inputs, ...observed }, inputs };
    });
  },

  async update(id, olds, news) {
    const xml = requireXml(news);
    return withHost(news.host, news.sshPrivateKey, async (host) => {
      await requireTools(host, ["virsh"]);
      const uri = news.host.libvirtUri;
      if ((await readOwnedDefinition(host, uri, id, olds)) === undefined) {
        throw new PreconditionError(
          `The domain ${olds.domainName} (${id}) is gone from ${host.label}: run \`pulumi refresh\`, then \`pulumi up\` makes it again.`,
        );
      }
      const plan = planBetween(olds, news);
      const redefined = plan.restart.length > 0 || plan.live.length > 0;
      // Kept to put back if the new definition does not start (with the VNC password: memory only).
      const previous = redefined ? await definitionWithSecrets(host, uri, id) : undefined;
      const start = () => startOrPutBack(host, uri, id, olds.domainName, previous);
      if (redefined) {
        await defineDomain(
          host,
          uri,
          definitionXml(xml, { uuid: id, vncPassword: passwordOf(news) }),
        );
      }
      const timeout = acpiWaitSeconds(news);
      const wantRunning = news.running ?? true;
      const active = isActive(await requireState(host, uri, id));
      if (active && wantRunning && plan.restart.length > 0) {
        await stopDomain(host, uri, id, timeout);
        await start();
      } else if (active && wantRunning) {
        const o = specOf(olds);
        const n = specOf(news);
        if (o.memoryMiB !== n.memoryMiB) {
          await host.run(virsh(uri, "setmem", id, `${n.memoryMiB}MiB`, "--live"));
          // Read back below: only the guest's balloon driver moves it.
          await settleMemory(host, uri, id, n.memoryMiB);
        }
        if (o.vcpus !== n.vcpus)
          await host.run(virsh(uri, "setvcpus", id, String(n.vcpus), "--live"));
      } else if (active && !wantRunning) {
        await stopDomain(host, uri, id, timeout);
      } else if (!active && wantRunning) {
        await start();
      }
      if ((olds.autostart ?? false) !== (news.autostart ?? false) || plan.restart.length > 0) {
        await host.run(virsh(uri, "autostart", id, ...(news.autostart ? [] : ["--disable"])));
      }
      const observed = await observe(host, news, id, wantRunning);
      return { outs: { ...news, ...observed } };
    });
  },

  async delete(id, props) {
    await withHost(props.host, props.sshPrivateKey, async (host) => {
      await requireTools(host, ["virsh"]);
      const uri = props.host.libvirtUri;
      if ((await readOwnedDefinition(host, uri, id, props)) === undefined) return; // already gone
      const timeout = acpiWaitSeconds(props);
      await stopDomain(host, uri, id, timeout);
      // Disks belong to their volumes and stay; NVRAM belongs to the domain.
      await host.run(virsh(uri, "undefine", id, "--nvram"));
    });
  },
};

/**
 * Starts the domain. If it does not start on a definition this update wrote,
 * the previous one (`previous`) is defined again and started, and the update
 * fails saying so: a domain is never left down on a new definition that
 * cannot run (a disk gone, a port taken, a CPU the host refuses).
 */
async function startOrPutBack(
  host: HostAccess,
  uri: string,
  uuid: string,
  name: string,
  previous: string | undefined,
): Promise<void> {
  const first = await host.run(virsh(uri, "start", uuid), { allowFailure: true });
  if (first.exitCode === 0) return;
  const said = first.stderr.trim();
  if (previous === undefined) {
    throw new CommandError(virsh(uri, "start", uuid), first.exitCode, said, host.label);
  }
  await defineDomain(host, uri, previous);
  const again = await host.run(virsh(uri, "start", uuid), { allowFailure: true });
  if (again.exitCode === 0) {
    throw new PreconditionError(
      `restart: ${name} did not start on its new definition, so its previous definition is back and running. ` +
        `virsh start said: ${said}`,
    );
  }
  throw new PreconditionError(
    `restart: ${name} did not start on its new definition; its previous definition is back, but did not start either ` +
      `(it is shut off). virsh start said: ${said}; and on the previous definition: ${again.stderr.trim()}`,
  );
}

/**
 * Memory changed live by hand (`virsh setmem --live`): the running guest's
 * memory moved since it was last read back, and not to what is defined. It
 * shows as drift of memoryMiB, so the preview shows it and `up` puts it back.
 * A guest whose balloon never moved (no driver) shows nothing: nothing changed.
 */
function memoryDrift(
  props: DomainOutputs,
  drift: Partial<DomainInputs>,
  state: string,
  dominfo: string,
): Partial<DomainInputs> {
  const kib = parseDomInfoLive(dominfo).usedMemoryKiB;
  if (!isActive(state) || kib === undefined || drift.memoryMiB !== undefined) return {};
  if (props.liveMemoryMiB === undefined || props.liveMemoryMiB === null) return {};
  const live = Math.round(kib / 1024);
  return live !== props.liveMemoryMiB && live !== props.memoryMiB ? { memoryMiB: live } : {};
}

function requireXml(i: DomainInputs): string {
  if (!i.xml || isUnknown(i.xml))
    throw new Error("The domain XML was not rendered: check() did not run with known inputs.");
  return i.xml;
}

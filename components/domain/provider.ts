import * as pulumi from "@pulumi/pulumi";
import { XMLSerializer } from "@xmldom/xmldom";
import { createHash, randomBytes } from "crypto";
import { isDeepStrictEqual } from "util";
import { InvalidArgumentError, PreconditionError } from "../core/errors";
import { requireTools } from "../host/tools";
import { virsh } from "../libvirt/virsh";
import { HostAccess, HostSpec, resolveHost, withHost } from "../host";
import { classifyUpdate, describePlan, Side, UpdatePlan } from "./classify";
import {
  parseAutostart,
  parseDomainCapabilities,
  parseDomIfAddr,
  parseListeners,
  parseNodeInfo,
  portTaken,
} from "./host-facts";
import { comparableXml, DomainFields, fieldsFromXml, normaliseDomainXml } from "./normalise";
import { definitionXml, renderDomainXml } from "./render";
import { HostFacts, resolveDomainSpec } from "./resolve";
import { chooseDomainType, vendorFromCpuinfo } from "../libvirt/cpu";
import { parseDomState } from "../libvirt/domain-state";
import {
  DomainSpec,
  DomainType,
  hasUnknown,
  HostVendor,
  isUnknown,
  ResolvedDomainSpec,
  UNKNOWN,
} from "./spec";
import { validateDomainSpec, validateVncPassword } from "./validate";
import { elements, firstChild, NESTLAB_NS, parseXml, textOf } from "../core/xml-doc";

/** The dynamic resource's inputs: the spec, the host, and what check() adds. */
export interface DomainInputs extends DomainSpec {
  readonly host: HostSpec;
  readonly sshPrivateKey?: string;
  readonly vncPassword?: string;
  /** The domain type used (domainType, or what the host allows; kept once chosen). */
  readonly resolvedDomainType?: DomainType;
  /** The host CPU vendor used (hostVendor, or /proc/cpuinfo; kept once chosen). */
  readonly resolvedHostVendor?: HostVendor;
  /** The domain XML that is (or will be) defined: VNC password and UUID left out. */
  readonly xml?: string;
  readonly macs?: string[];
  /** What an update will do ("restart: cpu; live: memoryMiB"), shown by `pulumi preview --diff`. */
  readonly updatePlan?: string;
}

export interface DomainOutputs extends DomainInputs {
  readonly uuid: string;
  readonly state: string;
  readonly vncAddress: string | null;
  readonly serialAddress: string | null;
  readonly ipAddresses: string[];
}

const OUTPUT_ONLY = ["uuid", "state", "vncAddress", "serialAddress", "ipAddresses"] as const;

export const provider: Required<pulumi.dynamic.ResourceProvider> = {
  /** Nothing to configure: every call carries its host in its inputs. */
  async configure(): Promise<void> {},

  async check(
    olds: Partial<DomainInputs>,
    news: DomainInputs,
  ): Promise<pulumi.dynamic.CheckResult> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const fail = (e: unknown): void => {
      if (e instanceof InvalidArgumentError)
        failures.push({ property: e.argument.split(/[.[]/)[0], reason: e.message });
      else if (e instanceof PreconditionError) failures.push({ property: "", reason: e.message });
      else throw e;
    };
    const spec = specOf(news);
    try {
      validateDomainSpec(spec, { vncPasswordSet: passwordOf(news) !== undefined });
      validateVncPassword(passwordOf(news));
      if (!isUnknown(news.host)) resolveHost(news.host as never);
    } catch (e) {
      fail(e);
      return { inputs: news, failures };
    }
    if (isUnknown(news.host) || hasUnknown(news.host)) {
      return { inputs: { ...news, xml: UNKNOWN, macs: UNKNOWN as never, updatePlan: UNKNOWN } };
    }
    const sameHost = olds.host !== undefined && isDeepStrictEqual(olds.host, news.host);
    const inputs = await withHost(news.host, news.sshPrivateKey, async (host) => {
      const facts = await hostFacts(host, news, sameHost ? olds : {});
      const withFacts: DomainInputs = {
        ...news,
        resolvedDomainType: facts.domainType,
        resolvedHostVendor: facts.hostVendor,
      };
      if (hasUnknown(spec))
        return { ...withFacts, xml: UNKNOWN, macs: UNKNOWN as never, updatePlan: UNKNOWN };
      let resolved: ResolvedDomainSpec;
      let xml: string;
      try {
        resolved = resolveDomainSpec(spec, facts, passwordOf(news) !== undefined);
        xml = renderDomainXml(resolved);
        await preflight(host, withFacts, resolved, olds);
      } catch (e) {
        fail(e);
        return withFacts;
      }
      const out: DomainInputs = { ...withFacts, xml, macs: resolved.networks.map((n) => n.mac) };
      if (olds.xml !== undefined && olds.domainName !== undefined) {
        const plan = describePlan(planBetween(olds as DomainInputs, out));
        return plan ? { ...out, updatePlan: plan } : withoutKey(out, "updatePlan");
      }
      return withoutKey(out, "updatePlan");
    });
    return failures.length ? { inputs, failures } : { inputs };
  },

  async diff(
    _id: string,
    olds: DomainOutputs,
    news: DomainInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    if (hasUnknown(news.xml) || hasUnknown(specOf(news))) {
      const replaces = (["domainName", "domainType", "host"] as const).filter(
        (k) => !isUnknown(news[k]) && !isDeepStrictEqual(olds[k], news[k]),
      );
      return { changes: true, replaces, deleteBeforeReplace: true };
    }
    const plan = planBetween(olds, news);
    const changes = plan.replace.length + plan.restart.length + plan.live.length > 0;
    // Replacing deletes first: the new domain takes the same disks (QEMU locks them) and often the same name.
    return { changes, replaces: [...plan.replace], deleteBeforeReplace: true };
  },

  async create(inputs: DomainInputs): Promise<pulumi.dynamic.CreateResult> {
    const xml = requireXml(inputs);
    return withHost(inputs.host, inputs.sshPrivateKey, async (host) => {
      await requireTools(host, ["virsh"]);
      const uri = inputs.host.libvirtUri;
      const existing = await domainUuid(host, uri, inputs.domainName);
      if (existing) throw notOurs(inputs.domainName, existing, host.label);
      await withFile(
        host,
        inputs.host,
        definitionXml(xml, { vncPassword: passwordOf(inputs) }),
        (file) => host.run(virsh(uri, "define", file)),
      );
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
      return { id: uuid, outs: { ...withoutKey(inputs, "updatePlan"), ...observed } };
    });
  },

  async read(id: string, props: DomainOutputs): Promise<pulumi.dynamic.ReadResult> {
    return withHost(props.host, props.sshPrivateKey, async (host) => {
      const uri = props.host.libvirtUri;
      const inactive = await host.run(virsh(uri, "dumpxml", "--inactive", id), {
        allowFailure: true,
      });
      if (inactive.exitCode !== 0) {
        if (isNoDomain(inactive.stderr)) return { id: "", props: {} };
        throw new Error(`virsh dumpxml ${id} on ${host.label} failed: ${inactive.stderr.trim()}`);
      }
      const owner = ownerOf(inactive.stdout);
      if (owner !== props.owner) throw notOurs(props.domainName, id, host.label);
      const dominfo = await host.run(virsh(uri, "dominfo", id));
      const state = parseDomState((await host.run(virsh(uri, "domstate", id))).stdout);
      const drift = props.xml ? driftFrom(props, inactive.stdout) : {};
      const observedRunning = state === "running";
      const running =
        observedRunning === (props.running ?? true) ? {} : { running: observedRunning };
      const autostart =
        parseAutostart(dominfo.stdout) === (props.autostart ?? false)
          ? {}
          : { autostart: parseAutostart(dominfo.stdout) };
      const observed = await observe(host, { ...props, ...drift }, id, false);
      const inputs = { ...withoutKeys(props, OUTPUT_ONLY), ...drift, ...running, ...autostart };
      return { id, props: { ...inputs, ...observed }, inputs };
    });
  },

  async update(
    id: string,
    olds: DomainOutputs,
    news: DomainInputs,
  ): Promise<pulumi.dynamic.UpdateResult> {
    const xml = requireXml(news);
    return withHost(news.host, news.sshPrivateKey, async (host) => {
      await requireTools(host, ["virsh"]);
      const uri = news.host.libvirtUri;
      await requireOwned(host, uri, id, olds);
      const plan = planBetween(olds, news);
      if (plan.restart.length > 0 || plan.live.length > 0) {
        await withFile(
          host,
          news.host,
          definitionXml(xml, { uuid: id, vncPassword: passwordOf(news) }),
          (file) => host.run(virsh(uri, "define", file)),
        );
      }
      const timeout = news.shutdownTimeoutSeconds ?? 60;
      const wantRunning = news.running ?? true;
      const active = isActive(await domState(host, uri, id));
      if (active && wantRunning && plan.restart.length > 0) {
        await stopDomain(host, uri, id, timeout);
        await host.run(virsh(uri, "start", id));
      } else if (active && wantRunning) {
        const o = specOf(olds);
        const n = specOf(news);
        if (o.memoryMiB !== n.memoryMiB)
          await host.run(virsh(uri, "setmem", id, `${n.memoryMiB}MiB`, "--live"));
        if (o.vcpus !== n.vcpus)
          await host.run(virsh(uri, "setvcpus", id, String(n.vcpus), "--live"));
      } else if (active && !wantRunning) {
        await stopDomain(host, uri, id, timeout);
      } else if (!active && wantRunning) {
        await host.run(virsh(uri, "start", id));
      }
      if ((olds.autostart ?? false) !== (news.autostart ?? false) || plan.restart.length > 0) {
        await host.run(virsh(uri, "autostart", id, ...(news.autostart ? [] : ["--disable"])));
      }
      const observed = await observe(host, news, id, wantRunning);
      return { outs: { ...news, ...observed } };
    });
  },

  async delete(id: string, props: DomainOutputs): Promise<void> {
    await withHost(props.host, props.sshPrivateKey, async (host) => {
      await requireTools(host, ["virsh"]);
      const uri = props.host.libvirtUri;
      const inactive = await host.run(virsh(uri, "dumpxml", "--inactive", id), {
        allowFailure: true,
      });
      if (inactive.exitCode !== 0) {
        if (isNoDomain(inactive.stderr)) return; // already gone
        throw new Error(`virsh dumpxml ${id} on ${host.label} failed: ${inactive.stderr.trim()}`);
      }
      if (ownerOf(inactive.stdout) !== props.owner) throw notOurs(props.domainName, id, host.label);
      await stopDomain(host, uri, id, props.shutdownTimeoutSeconds ?? 60);
      // Disks belong to their volumes and stay; NVRAM belongs to the domain.
      await host.run(virsh(uri, "undefine", id, "--nvram"));
    });
  },
};

/** The spec part of the inputs (everything rendering depends on, except the facts). */
function specOf(i: Partial<DomainInputs>): DomainSpec {
  const keys = [
    "domainName",
    "domainType",
    "hostVendor",
    "memoryMiB",
    "maxMemoryMiB",
    "vcpus",
    "maxVcpus",
    "topology",
    "cpu",
    "disks",
    "networks",
    "vnc",
    "serial",
    "boot",
    "autostart",
    "running",
    "shutdownTimeoutSeconds",
    "ipWaitSeconds",
    "xmlPatches",
    "owner",
  ] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (i[k] !== undefined) out[k] = i[k];
  return out as unknown as DomainSpec;
}

function factsOf(i: DomainInputs): HostFacts {
  return {
    domainType: i.resolvedDomainType ?? i.domainType ?? "qemu",
    hostVendor: i.resolvedHostVendor ?? i.hostVendor ?? "none",
  };
}

function sideOf(i: DomainInputs): Side {
  const password = passwordOf(i);
  const spec = resolveDomainSpec(specOf(i), factsOf(i), password !== undefined);
  return {
    spec,
    host: i.host,
    vncPasswordDigest:
      password === undefined ? undefined : createHash("sha256").update(password).digest("hex"),
    xml: i.xml ?? "",
  };
}

/** The VNC password, if one is set (an unset secret arrives as null). */
function passwordOf(i: Partial<DomainInputs>): string | undefined {
  return i.vncPassword ?? undefined;
}

function planBetween(olds: DomainInputs, news: DomainInputs): UpdatePlan {
  return classifyUpdate(sideOf(olds), sideOf(news));
}

/**
 * What the XML depends on besides the arguments. An explicit domainType or
 * hostVendor wins; otherwise the value chosen when the domain was made is
 * kept (loading kvm_amd later must not silently replace a running domain);
 * otherwise the host decides: "kvm" only with kvm_intel or kvm_amd loaded.
 */
async function hostFacts(
  host: HostAccess,
  news: DomainInputs,
  olds: Partial<DomainInputs>,
): Promise<HostFacts> {
  let domainType = news.domainType ?? olds.resolvedDomainType;
  let hostVendor = news.hostVendor ?? olds.resolvedHostVendor;
  if (hostVendor === undefined)
    hostVendor = vendorFromCpuinfo((await host.readFile("/proc/cpuinfo")) ?? "");
  if (domainType === undefined) {
    const intel = (await host.listDir("/sys/module/kvm_intel")).length > 0;
    const amd = (await host.listDir("/sys/module/kvm_amd")).length > 0;
    const devKvm = (await host.listDir("/dev")).includes("kvm");
    domainType = chooseDomainType({ vendorKvmModule: intel || amd, devKvm });
  }
  return { domainType, hostVendor };
}

/**
 * Everything that can be known before defining, checked against the host:
 * the CPU (domcapabilities, hypervisor-cpu-compare), memory and vCPUs
 * (nodeinfo), the name, ports, networks, bridges, volumes and files. Throws
 * InvalidArgumentError or PreconditionError; changes nothing.
 */
async function preflight(
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
    const cpuXml = cpuElementXml(renderDomainXml(spec));
    const compare = await withFile(host, inputs.host, cpuXml, (file) =>
      host.run(
        virsh(uri, "hypervisor-cpu-compare", "--virttype", spec.domainType, "--error", file),
        { allowFailure: true },
      ),
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

  const ours = olds.domainName === spec.domainName && isDeepStrictEqual(olds.host, inputs.host);
  if (!ours) {
    const uuid = await domainUuid(host, uri, spec.domainName);
    if (uuid) throw notOurs(spec.domainName, uuid, host.label);
  }
  await checkPorts(host, spec, ours ? olds : {});
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

async function requireFile(host: HostAccess, argument: string, file: string): Promise<void> {
  const r = await host.run(["test", "-f", file], { allowFailure: true });
  if (r.exitCode !== 0)
    throw new InvalidArgumentError(argument, file, `a file that exists on ${host.label}`);
}

/** Ports this domain will listen on must be free, except those its own current definition holds. */
async function checkPorts(
  host: HostAccess,
  spec: ResolvedDomainSpec,
  olds: Partial<DomainInputs>,
): Promise<void> {
  const held = new Set<string>();
  if (olds.xml) {
    const old = fieldsFromXml(olds.xml);
    for (const p of portsOf(old)) held.add(`${p.protocol}:${p.address}:${p.port}`);
  }
  const wanted = portsOf(fieldsFromXml(renderDomainXml(spec))).filter(
    (p) => !held.has(`${p.protocol}:${p.address}:${p.port}`),
  );
  if (wanted.length === 0) return;
  if (!(await host.hasCommand("ss"))) {
    throw new PreconditionError(
      `ss was not found on ${host.label}: apt-get install iproute2 (it checks that the domain's ports are free).`,
    );
  }
  const tcp = parseListeners((await host.run(["ss", "-H", "-l", "-n", "-t"])).stdout);
  const udp = parseListeners((await host.run(["ss", "-H", "-l", "-n", "-u"])).stdout);
  for (const p of wanted) {
    if (portTaken(p.protocol === "udp" ? udp : tcp, p.address, p.port)) {
      throw new InvalidArgumentError(
        p.argument,
        p.port,
        `a ${p.protocol.toUpperCase()} port that is free on ${p.address} of ${host.label} (something already listens there: \`ss -ltnp\`)`,
      );
    }
  }
}

function portsOf(
  f: DomainFields,
): { argument: string; protocol: string; address: string; port: number }[] {
  const out: { argument: string; protocol: string; address: string; port: number }[] = [];
  if (f.vnc && typeof f.vnc.port === "number")
    out.push({ argument: "vnc", protocol: "tcp", address: String(f.vnc.listen), port: f.vnc.port });
  if (f.serial && f.serial.type === "tcp")
    out.push({
      argument: "serial.port",
      protocol: "tcp",
      address: String(f.serial.host),
      port: Number(f.serial.port),
    });
  f.networks.forEach((n, i) => {
    const user = n.user as
      { forwards: { protocol: string; hostAddress: string; hostPort: number }[] } | undefined;
    user?.forwards.forEach((fw, j) =>
      out.push({
        argument: `networks[${i}].user.forwards[${j}].hostPort`,
        protocol: fw.protocol,
        address: fw.hostAddress,
        port: fw.hostPort,
      }),
    );
  });
  return out;
}

function supported(modes: Readonly<Record<string, boolean>>): string {
  const yes = Object.entries(modes)
    .filter(([, v]) => v)
    .map(([k]) => k);
  return yes.length ? `supported: ${yes.join(", ")}` : "none supported";
}

/** The `<cpu>` element of a domain XML, as a document of its own (for hypervisor-cpu-compare). */
function cpuElementXml(xml: string): string {
  const cpu = firstChild(parseXml(xml).documentElement as never, "cpu");
  return cpu ? new XMLSerializer().serializeToString(cpu) : "<cpu/>";
}

/**
 * Drift: libvirt's stored definition, normalised, against what was defined.
 * Each typed argument whose value differs is returned with the observed
 * value, and `xml` with libvirt's (normalised) document, so the next preview
 * shows exactly what changed and `up` puts it back.
 */
function driftFrom(props: DomainOutputs, inactiveXml: string): Partial<DomainInputs> {
  const defined = props.xml as string;
  const live = normaliseDomainXml(inactiveXml, defined);
  if (live === comparableXml(defined)) return {};
  const want = fieldsFromXml(defined);
  const have = fieldsFromXml(live);
  const out: Record<string, unknown> = { xml: live };
  for (const key of Object.keys({ ...want, ...have }) as (keyof DomainFields)[]) {
    if (isDeepStrictEqual(want[key], have[key])) continue;
    out[key] = key === "disks" ? have.disks.map(diskArg) : (have[key] ?? null);
  }
  return out as Partial<DomainInputs>;
}

function diskArg(d: Record<string, string | boolean>): Record<string, unknown> {
  const { pool, volumeName, ...rest } = d;
  return pool !== undefined ? { volume: { pool, volumeName }, ...rest } : rest;
}

/** What the outputs report: state, where VNC and the serial console listen, IP addresses. */
async function observe(
  host: HostAccess,
  inputs: DomainInputs,
  uuid: string,
  waitForIp: boolean,
): Promise<Omit<DomainOutputs, keyof DomainInputs>> {
  const uri = inputs.host.libvirtUri;
  const state = await domState(host, uri, uuid);
  const live = (await host.run(virsh(uri, "dumpxml", uuid))).stdout;
  const devices = firstChild(parseXml(live).documentElement as never, "devices");
  const devs = devices ? elements(devices) : [];
  const graphics = devs.find((d) => d.nodeName === "graphics" && d.getAttribute("type") === "vnc");
  const port = graphics?.getAttribute("port");
  const vncAddress =
    graphics && port && port !== "-1"
      ? `${graphics.getAttribute("listen") ?? "127.0.0.1"}:${port}`
      : null;
  const serial = devs.find((d) => d.nodeName === "serial");
  const source = serial ? firstChild(serial, "source") : undefined;
  let serialAddress: string | null = null;
  switch (serial?.getAttribute("type")) {
    case "tcp":
      serialAddress = `${source?.getAttribute("host")}:${source?.getAttribute("service")}`;
      break;
    case "pty":
    case "unix":
    case "file":
      serialAddress = source?.getAttribute("path") ?? null;
      break;
  }
  const leased = (inputs.networks ?? []).some(
    (n) => n.network !== undefined || n.bridge !== undefined,
  );
  const ipAddresses =
    isActive(state) && leased
      ? await ipAddressesOf(host, uri, uuid, waitForIp ? (inputs.ipWaitSeconds ?? 30) : 0)
      : [];
  return { uuid, state, vncAddress, serialAddress, ipAddresses };
}

/**
 * Addresses from the DHCP lease (libvirt networks), then from the guest
 * agent; polled until one shows or the wait ends. None is a valid answer.
 */
async function ipAddressesOf(
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
    await sleep(2000);
  }
}

async function domState(host: HostAccess, uri: string, uuid: string): Promise<string> {
  return parseDomState((await host.run(virsh(uri, "domstate", uuid))).stdout);
}

function isActive(state: string): boolean {
  return state !== "shut off" && state !== "crashed" && state !== "";
}

/** ACPI shutdown, waiting up to timeoutSeconds, then a forced stop. Nothing to do when off. */
async function stopDomain(
  host: HostAccess,
  uri: string,
  uuid: string,
  timeoutSeconds: number,
): Promise<void> {
  if (!isActive(await domState(host, uri, uuid))) return;
  if (timeoutSeconds > 0) {
    await host.run(virsh(uri, "shutdown", uuid, "--mode", "acpi"), { allowFailure: true });
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (Date.now() < deadline) {
      if (!isActive(await domState(host, uri, uuid))) return;
      await sleep(500);
    }
  }
  const r = await host.run(virsh(uri, "destroy", uuid), { allowFailure: true });
  if (r.exitCode !== 0 && isActive(await domState(host, uri, uuid))) {
    throw new Error(`virsh destroy ${uuid} on ${host.label} failed: ${r.stderr.trim()}`);
  }
}

async function domainUuid(
  host: HostAccess,
  uri: string,
  name: string,
): Promise<string | undefined> {
  const r = await host.run(virsh(uri, "domuuid", name), { allowFailure: true });
  if (r.exitCode === 0) return r.stdout.trim();
  if (isNoDomain(r.stderr)) return undefined;
  throw new Error(`virsh domuuid ${name} on ${host.label} failed: ${r.stderr.trim()}`);
}

async function requireOwned(
  host: HostAccess,
  uri: string,
  uuid: string,
  olds: DomainOutputs,
): Promise<void> {
  const r = await host.run(virsh(uri, "dumpxml", "--inactive", uuid), { allowFailure: true });
  if (r.exitCode !== 0) {
    if (isNoDomain(r.stderr))
      throw new PreconditionError(
        `The domain ${olds.domainName} (${uuid}) is gone from ${host.label}: run \`pulumi refresh\`, then \`pulumi up\` makes it again.`,
      );
    throw new Error(`virsh dumpxml ${uuid} on ${host.label} failed: ${r.stderr.trim()}`);
  }
  if (ownerOf(r.stdout) !== olds.owner) throw notOurs(olds.domainName, uuid, host.label);
}

/** The owner recorded in the domain's `<metadata>` by this project, if any. */
export function ownerOf(xml: string): string | undefined {
  const metadata = firstChild(parseXml(xml).documentElement as never, "metadata");
  const owner = metadata
    ? elements(metadata).find((e) => e.namespaceURI === NESTLAB_NS && e.localName === "owner")
    : undefined;
  return textOf(owner);
}

function notOurs(name: string, uuid: string, label: string): PreconditionError {
  return new PreconditionError(
    `A domain named ${JSON.stringify(name)} (${uuid}) already exists on ${label} and was not created by this stack's resource; it is left untouched. ` +
      "Choose another domainName, or remove that domain yourself (virsh undefine) if it is no longer needed.",
  );
}

function isNoDomain(stderr: string): boolean {
  return /failed to get domain|Domain not found|no domain with matching/i.test(stderr);
}

function requireXml(i: DomainInputs): string {
  if (!i.xml || isUnknown(i.xml))
    throw new Error("The domain XML was not rendered: check() did not run with known inputs.");
  return i.xml;
}

function withoutKey<T extends object, K extends string>(o: T, key: K): Omit<T, K> {
  const copy = { ...o } as Record<string, unknown>;
  delete copy[key];
  return copy as Omit<T, K>;
}

function withoutKeys<T extends object>(o: T, keys: readonly string[]): Partial<T> {
  const copy = { ...o } as Record<string, unknown>;
  for (const k of keys) delete copy[k];
  return copy as Partial<T>;
}

/**
 * Hands virsh a document through a private temporary file on the host
 * (virsh reads files only, and the define document may hold the VNC
 * password): mode 0600, removed afterwards whatever happens.
 */
async function withFile<T>(
  host: HostAccess,
  spec: HostSpec,
  content: string,
  body: (file: string) => Promise<T>,
): Promise<T> {
  const name = `/tmp/nestlab-domain-${process.pid}-${randomBytes(6).toString("hex")}.xml`;
  await host.writeFileAtomic(name, content, 0o600);
  try {
    return await body(`${spec.rootDir}${name}`);
  } finally {
    await host.removeFile(name);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

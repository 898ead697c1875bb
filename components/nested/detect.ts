import { PreconditionError } from "../core/errors";
import { virsh } from "../core/tools";
import { HostAccess } from "../host/access";
import { detectVendor, KvmModule, parseCpuInfo } from "./cpuinfo";
import { NestedFacts } from "./facts";
import {
  describeGuests,
  KvmHolder,
  LIST_FDS_SCRIPT,
  parseKvmHolders,
  parseVirshNames,
} from "./guests";
import { listsModule, moduleState } from "./kernel-module";
import { crossCheckVendor, parseHostCpu } from "./libvirt-caps";
import { ConfigFile, MODPROBE_DIRS, modprobeReadOrder } from "./modprobe-conf";

/** Where the host is and how detection reaches the parts that are not plain files. */
export interface DetectContext {
  /** The root prefix of the host's files (tests); "" for the real root. */
  readonly rootDir: string;
  /** libvirt's URI on the host, for `virsh list` and `virsh capabilities`. */
  readonly libvirtUri: string;
}

/** Reads everything the plan needs from the host. Changes nothing. */
export async function detectNested(host: HostAccess, ctx: DetectContext): Promise<NestedFacts> {
  // The first command alone: over SSH it opens the shared connection that the
  // parallel reads below then use.
  const uid = await readUid(host);
  const [cpuText, cmdline, release, sysModules] = await Promise.all([
    host.readFile("/proc/cpuinfo"),
    host.readFile("/proc/cmdline"),
    host.readFile("/proc/sys/kernel/osrelease"),
    host.listDir("/sys/module"),
  ]);
  if (cpuText === undefined) {
    throw new PreconditionError(`Cannot read /proc/cpuinfo on ${host.label}: is /proc mounted?`);
  }
  const cpu = parseCpuInfo(cpuText);
  const { vendor, module } = detectVendor(cpu, host.label);
  const kernelRelease = (release ?? "").trim();
  const otherKvmModules = sysModules.filter(
    (m) => m.startsWith("kvm_") && m !== "kvm_intel" && m !== "kvm_amd",
  );

  const [moduleFacts, configFiles, guests, libvirtRemark] = await Promise.all([
    module ? readModule(host, module, kernelRelease) : Promise.resolve(undefined),
    readModprobeConfig(host),
    readGuests(host, ctx),
    readLibvirtRemark(host, ctx, vendor),
  ]);

  return {
    hostLabel: host.label,
    cpuVendorId: cpu.vendorId,
    vendor,
    module,
    moduleState: moduleFacts?.state ?? "absent",
    moduleAvailable: moduleFacts?.available ?? false,
    kernelRelease,
    nestedRaw: moduleFacts?.nestedRaw,
    cmdline: cmdline ?? "",
    configFiles,
    guests,
    moduleRefcount: moduleFacts?.refcount,
    uid,
    otherKvmModules,
    remarks: libvirtRemark ? [libvirtRemark] : [],
  };
}

async function readUid(host: HostAccess): Promise<number | undefined> {
  const r = await host.run(["id", "-u"], { allowFailure: true });
  const uid = Number.parseInt(r.stdout.trim(), 10);
  return r.exitCode === 0 && Number.isInteger(uid) ? uid : undefined;
}

async function readModule(host: HostAccess, module: KvmModule, release: string) {
  const dir = `/sys/module/${module}`;
  const [entries, initstate, nestedRaw, refcnt] = await Promise.all([
    host.listDir(dir),
    host.readFile(`${dir}/initstate`),
    host.readFile(`${dir}/parameters/nested`),
    host.readFile(`${dir}/refcnt`),
  ]);
  const sysfs = { entries, initstate: initstate?.trim() };
  let builtinIndex: string | undefined;
  let available = true;
  if (entries.length === 0) {
    // Not in the kernel now: built in without parameters, installed, or missing.
    const [builtin, dep] = await Promise.all([
      host.readFile(`/lib/modules/${release}/modules.builtin`),
      host.readFile(`/lib/modules/${release}/modules.dep`),
    ]);
    builtinIndex = builtin;
    available = listsModule(builtin, module) || listsModule(dep, module);
  }
  const refcount = refcnt === undefined ? undefined : Number.parseInt(refcnt.trim(), 10);
  return {
    state: moduleState(module, sysfs, builtinIndex),
    available,
    nestedRaw,
    refcount: refcount !== undefined && Number.isInteger(refcount) ? refcount : undefined,
  };
}

/** Every modprobe.d file modprobe would read, in its order, with its content. */
export async function readModprobeConfig(host: HostAccess): Promise<ConfigFile[]> {
  const listings = await Promise.all(
    MODPROBE_DIRS.map(async (dir) => ({ dir, names: await host.listDir(dir) })),
  );
  const paths = modprobeReadOrder(listings);
  const contents = await Promise.all(paths.map((p) => host.readFile(p)));
  return paths.map((path, i) => ({ path, content: contents[i] ?? "" }));
}

async function readGuests(host: HostAccess, ctx: DetectContext): Promise<string[]> {
  const [names, ls] = await Promise.all([
    readLibvirtGuests(host, ctx),
    host.run(["sh", "-c", LIST_FDS_SCRIPT, "sh", ctx.rootDir], { allowFailure: true }),
  ]);
  const pids = parseKvmHolders(ls.stdout);
  const holders: KvmHolder[] = await Promise.all(
    pids.map(async (pid) => {
      const [comm, cmdline] = await Promise.all([
        host.readFile(`/proc/${pid}/comm`),
        host.readFile(`/proc/${pid}/cmdline`),
      ]);
      return { pid, comm, cmdline };
    }),
  );
  return describeGuests(names, holders);
}

/**
 * Running libvirt domains. A host without virsh has none; a libvirtd that
 * does not answer cannot be running any either (its guests' QEMU processes
 * are still found through /dev/kvm).
 */
async function readLibvirtGuests(host: HostAccess, ctx: DetectContext): Promise<string[]> {
  if (!(await host.hasCommand("virsh"))) return [];
  const r = await host.run(virsh(ctx.libvirtUri, "list", "--name"), {
    allowFailure: true,
    timeoutMs: 30_000,
  });
  return r.exitCode === 0 ? parseVirshNames(r.stdout) : [];
}

async function readLibvirtRemark(
  host: HostAccess,
  ctx: DetectContext,
  vendor: NestedFacts["vendor"],
): Promise<string | undefined> {
  if (vendor === "none" || !(await host.hasCommand("virsh"))) return undefined;
  const r = await host.run(virsh(ctx.libvirtUri, "capabilities"), {
    allowFailure: true,
    timeoutMs: 30_000,
  });
  if (r.exitCode !== 0) return undefined;
  return crossCheckVendor(vendor, parseHostCpu(r.stdout));
}

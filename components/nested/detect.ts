import { PreconditionError } from "../core/errors";
import { parseVirshNames, virsh } from "../libvirt/virsh";
import { HostAccess } from "../host/access";
import { detectVendor, KvmModule, parseCpuInfo } from "../libvirt/cpu";
import { NestedFacts } from "./facts";
import { describeGuests, KvmHolder, LIST_FDS_SCRIPT, parseKvmHolders } from "./guests";
import { listsModule, ModuleState, moduleState } from "./kernel-module";
import { crossCheckVendor, parseHostCpu } from "./libvirt-caps";
import { ConfigFile, MODPROBE_DIRS, modprobeReadOrder } from "./modprobe-conf";
import { HostSnapshot } from "../host/read-many";

/** Where the host is and how detection reaches the parts that are not plain files. */
export interface DetectContext {
  /** The root prefix of the host's files (tests); "" for the real root. */
  readonly rootDir: string;
  /** libvirt's URI on the host, for `virsh list` and `virsh capabilities`. */
  readonly libvirtUri: string;
}

const MODULES: readonly KvmModule[] = ["kvm_intel", "kvm_amd"];

function moduleFiles(m: KvmModule): string[] {
  const dir = `/sys/module/${m}`;
  return [dir, `${dir}/initstate`, `${dir}/parameters/nested`, `${dir}/refcnt`];
}

/**
 * Reads everything the plan needs from the host, changing nothing, in a few
 * sequential commands (files are read in batches: see read-many.ts).
 */
export async function detectNested(host: HostAccess, ctx: DetectContext): Promise<NestedFacts> {
  const uid = await readUid(host);
  const first = await HostSnapshot.read(host, ctx.rootDir, [
    "/proc/cpuinfo",
    "/proc/cmdline",
    "/proc/sys/kernel/osrelease",
    "/sys/module",
    ...MODULES.flatMap(moduleFiles),
    ...MODPROBE_DIRS,
  ]);
  const cpuText = first.file("/proc/cpuinfo");
  if (cpuText === undefined) {
    throw new PreconditionError(`Cannot read /proc/cpuinfo on ${host.label}: is /proc mounted?`);
  }
  const cpu = parseCpuInfo(cpuText);
  const { vendor, module } = detectVendor(cpu, host.label);
  const kernelRelease = (first.file("/proc/sys/kernel/osrelease") ?? "").trim();
  const otherKvmModules = first
    .names("/sys/module")
    .filter((m) => m.startsWith("kvm_") && m !== "kvm_intel" && m !== "kvm_amd");
  const configPaths = modprobeReadOrder(
    MODPROBE_DIRS.map((dir) => ({ dir, names: first.names(dir) })),
  );
  const sysfsEntries = module ? first.names(`/sys/module/${module}`) : [];
  const moduleIndexes =
    module && sysfsEntries.length === 0
      ? [
          `/lib/modules/${kernelRelease}/modules.builtin`,
          `/lib/modules/${kernelRelease}/modules.dep`,
        ]
      : [];

  const fds = await host.run(["sh", "-c", LIST_FDS_SCRIPT, "sh", ctx.rootDir], {
    allowFailure: true,
  });
  const pids = parseKvmHolders(fds.stdout);
  const second = await HostSnapshot.read(host, ctx.rootDir, [
    ...configPaths,
    ...moduleIndexes,
    ...pids.flatMap((pid) => [`/proc/${pid}/comm`, `/proc/${pid}/cmdline`]),
  ]);

  const configFiles: ConfigFile[] = configPaths.map((path) => ({
    path,
    content: second.file(path) ?? "",
  }));
  const holders: KvmHolder[] = pids.map((pid) => ({
    pid,
    comm: second.file(`/proc/${pid}/comm`),
    cmdline: second.file(`/proc/${pid}/cmdline`),
  }));

  let state: ModuleState = "absent";
  let available = false;
  let nestedRaw: string | undefined;
  let moduleRefcount: number | undefined;
  if (module) {
    const dir = `/sys/module/${module}`;
    const builtinIndex = second.file(`/lib/modules/${kernelRelease}/modules.builtin`);
    state = moduleState(
      module,
      { entries: sysfsEntries, initstate: first.file(`${dir}/initstate`)?.trim() },
      builtinIndex,
    );
    available =
      sysfsEntries.length > 0 ||
      listsModule(builtinIndex, module) ||
      listsModule(second.file(`/lib/modules/${kernelRelease}/modules.dep`), module);
    nestedRaw = first.file(`${dir}/parameters/nested`);
    const refcnt = Number.parseInt(first.file(`${dir}/refcnt`)?.trim() ?? "", 10);
    moduleRefcount = Number.isInteger(refcnt) ? refcnt : undefined;
  }

  const hasVirsh = await host.hasCommand("virsh");
  const libvirtNames = hasVirsh ? await readLibvirtGuests(host, ctx) : [];
  const libvirtRemark = hasVirsh ? await readLibvirtRemark(host, ctx, vendor) : undefined;

  return {
    hostLabel: host.label,
    cpuVendorId: cpu.vendorId,
    vendor,
    module,
    moduleState: state,
    moduleAvailable: available,
    kernelRelease,
    nestedRaw,
    cmdline: first.file("/proc/cmdline") ?? "",
    configFiles,
    guests: describeGuests(libvirtNames, holders),
    moduleRefcount,
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

/**
 * Running libvirt domains. A host without virsh has none; a libvirtd that
 * does not answer cannot be running any either (its guests' QEMU processes
 * are still found through /dev/kvm).
 */
async function readLibvirtGuests(host: HostAccess, ctx: DetectContext): Promise<string[]> {
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
  if (vendor === "none") return undefined;
  const r = await host.run(virsh(ctx.libvirtUri, "capabilities"), {
    allowFailure: true,
    timeoutMs: 30_000,
  });
  if (r.exitCode !== 0) return undefined;
  return crossCheckVendor(vendor, parseHostCpu(r.stdout));
}

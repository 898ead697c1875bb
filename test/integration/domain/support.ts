import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { spawnCollect } from "../../../components/host/spawn";
import { virshOn } from "../../support/virsh";
import { DomainInputs, DomainOutputs, provider } from "../../../components/domain/provider";
import { OUTPUT_ONLY, withoutKeys } from "../../../components/domain/inputs";

/** Every libvirt object these tests make starts with this; afterAll removes only those. */
export const PREFIX = "nlt-domain-it-";
export const OWNER_PREFIX = "nestlab-test/integration/";
export { URI, HOST } from "../../support/virsh";

const local = virshOn();
/** virsh on this machine: exit code and output, never throws on the exit code. */
export const virsh = local.run;
/** virsh on this machine: its output; throws with its stderr when it fails. */
export const virshOk = local.out;

/** A private folder libvirt's QEMU can read, with a small empty qcow2 disk. */
export async function scratchDir(tag: string): Promise<{ dir: string; disk: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `${PREFIX}${tag}-`));
  await fs.chmod(dir, 0o755);
  const disk = path.join(dir, "disk.qcow2");
  const r = await spawnCollect(["qemu-img", "create", "-q", "-f", "qcow2", disk, "64M"]);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return { dir, disk };
}

/** Names of all domains (defined or running). */
export async function domainNames(): Promise<string[]> {
  return (await virshOk("list", "--all", "--name"))
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
}

/** Undefines leftover domains of earlier runs: only ours (prefix), never others. */
export async function removeOurDomains(): Promise<void> {
  for (const name of await domainNames()) {
    if (!name.startsWith(PREFIX)) continue;
    await virsh("destroy", name);
    await virsh("undefine", name, "--nvram");
  }
}

/** The QEMU process of a running domain: its pid and argv. */
export async function qemuProcess(name: string): Promise<{ pid: number; argv: string[] }> {
  const pid = Number((await fs.readFile(`/run/libvirt/qemu/${name}.pid`, "utf8")).trim());
  const argv = (await fs.readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter(Boolean);
  return { pid, argv };
}

/** The value after a QEMU option, e.g. valueOf(argv, "-cpu"). */
export function optionValue(argv: string[], option: string): string | undefined {
  const i = argv.indexOf(option);
  return i >= 0 ? argv[i + 1] : undefined;
}

/**
 * What the engine does for one resource on `pulumi up`: check, diff, then
 * create, update or (delete-before-)replace. Returns the new state.
 */
export async function up(
  state: { id: string; outs: DomainOutputs } | undefined,
  news: object,
): Promise<{ id: string; outs: DomainOutputs; plan?: string; replaced: boolean }> {
  const checked = await provider.check(
    state ? stateInputs(state.outs) : {},
    news as unknown as DomainInputs,
  );
  if (checked.failures?.length) throw new Error(checked.failures.map((f) => f.reason).join("\n"));
  const inputs = checked.inputs as DomainInputs;
  if (!state) {
    const created = await provider.create(inputs);
    return { id: created.id, outs: created.outs as DomainOutputs, replaced: false };
  }
  const diff = await provider.diff(state.id, state.outs, inputs);
  if (diff.replaces?.length) {
    await provider.delete(state.id, state.outs);
    const created = await provider.create(inputs);
    return {
      id: created.id,
      outs: created.outs as DomainOutputs,
      plan: inputs.updatePlan,
      replaced: true,
    };
  }
  if (!diff.changes) return { ...state, plan: inputs.updatePlan, replaced: false };
  const updated = await provider.update(state.id, state.outs, inputs);
  return {
    id: state.id,
    outs: updated.outs as DomainOutputs,
    plan: inputs.updatePlan,
    replaced: false,
  };
}

/** The inputs part of a resource's state (what the engine hands check() as olds). */
export function stateInputs(outs: DomainOutputs): Record<string, unknown> {
  return withoutKeys(outs, OUTPUT_ONLY);
}

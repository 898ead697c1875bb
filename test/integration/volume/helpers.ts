import { execFileSync, spawnSync } from "child_process";
import { createHash } from "crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "fs";
import * as os from "os";
import * as path from "path";
import {
  ConvertedVolumeInputs,
  ConvertedVolumeOutputs,
  provider,
} from "../../../components/volume/provider";
import { HOST, makeDirPool } from "../../support/virsh";
import { makeVmdkChainSync, MiB, mibWrites, writeDataSync } from "../../support/vmdk-chain";

export { URI, HOST, virsh as virshOut, poolVolumes as volumes } from "../../support/virsh";
export { MiB };

export function sh(argv: readonly string[], input?: string): string {
  return execFileSync(argv[0], argv.slice(1), {
    encoding: "utf8",
    input,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** A folder for one test file's fixtures: `nlt-volume-<label>-…` under the temp dir. */
export function workDir(label: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `nlt-volume-${label}-`));
}

/** A dir pool of this test's own, in `dir`/pool; `remove()` undefines it. */
export function makePool(
  dir: string,
  label: string,
): { name: string; path: string; remove(): void } {
  const poolPath = path.join(dir, "pool");
  const pool = makeDirPool(
    `nlt-volume-${label}-${process.pid}-${Date.now().toString(36)}`,
    poolPath,
  );
  return { ...pool, path: poolPath };
}

export function qemuImg(...args: string[]): string {
  return sh(["qemu-img", ...args]);
}

/** Writes `pattern` bytes at each offset (MiB) of an image with qemu-io. */
export function writeData(
  file: string,
  format: string,
  pattern: number,
  offsetsMiB: number[],
  lengthMiB = 1,
): void {
  writeDataSync(file, format, mibWrites(pattern, offsetsMiB, lengthMiB));
}

/**
 * The seed's layout (test/support/vmdk-chain.ts) at `sizeMiB`, with data
 * spread over the base and the delta's overlapping part of the base's.
 */
export function seedChain(dir: string, sizeMiB = 256): { base: string; top: string } {
  return makeVmdkChainSync(dir, {
    virtualBytes: sizeMiB * MiB,
    base: mibWrites(0xab, [0, 5, 17, sizeMiB / 2, sizeMiB - 1]),
    delta: mibWrites(0xcd, [5, sizeMiB / 4 + 3]),
  });
}

export function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** What must not change about a source file: content and mtime. */
export function sourceState(files: readonly string[]): Record<string, string> {
  return Object.fromEntries(files.map((f) => [f, `${sha256(f)} ${statSync(f).mtimeMs}`]));
}

/** `qemu-img compare` of two images: true when the guest sees the same data. */
export function identical(a: string, aFormat: string, b: string, bFormat: string): boolean {
  return spawnSync("qemu-img", ["compare", "-q", "-f", aFormat, "-F", bFormat, a, b]).status === 0;
}

/** Arguments as a test writes them: any subset, any value (check() is what judges them). */
export type Inputs = Record<string, unknown>;

/** A volume's outputs, open to the extra keys tests add. */
export type Outs = ConvertedVolumeOutputs & Inputs;

/** The inputs as the engine hands them to check(), unchecked. */
export function given(inputs: Inputs): ConvertedVolumeInputs {
  return { host: HOST, resourceName: "t", ...inputs } as unknown as ConvertedVolumeInputs;
}

/** What the engine does for a new resource: check, then create with the checked inputs. */
export async function checkAndCreate(inputs: Inputs): Promise<{ id: string; outs: Outs }> {
  const checked = await provider.check({}, given(inputs));
  if (checked.failures?.length) throw new Error(checked.failures.map((f) => f.reason).join("\n"));
  return (await provider.create(checked.inputs)) as { id: string; outs: Outs };
}

/** The reasons check() gives for refusing inputs. */
export async function checkFailures(inputs: Inputs): Promise<string[]> {
  const checked = await provider.check({}, given(inputs));
  return (checked.failures ?? []).map((f) => f.reason);
}

/** Runs `fn`, keeping the lines the provider wrote to stderr (what the engine shows) that mention `label`. */
export async function withStderrLines<T>(
  label: string,
  fn: () => Promise<T>,
): Promise<{ result: T; lines: string[] }> {
  const chunks: string[] = [];
  const spy = jest
    .spyOn(process.stderr, "write")
    .mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    });
  try {
    const result = await fn();
    return {
      result,
      lines: chunks
        .join("")
        .split("\n")
        .filter((l) => l.includes(label)),
    };
  } finally {
    spy.mockRestore();
  }
}

export function rmrf(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

import { Preallocation, Qcow2Compat } from "./args";

/** How qemu-img reads and writes during a conversion (what `npm run bench:convert` measures). */
export interface ConvertTuning {
  /** Parallel coroutines (`-m`, 1 to 16; qemu-img's default is 8). */
  readonly coroutines?: number;
  /** Out-of-order writes (`-W`): faster, but the qcow2 file's clusters end up in write order. */
  readonly outOfOrderWrites?: boolean;
  /** Target cache mode (`-t`); qemu-img convert's default is "unsafe" (no flushes at all). */
  readonly targetCache?: "unsafe" | "writeback" | "none" | "directsync" | "writethrough";
  /** Source cache mode (`-T`); the default is "writeback" (the page cache). */
  readonly sourceCache?: "writeback" | "none";
  /** `-n --target-is-zero`: write into an existing, freshly created (all-zero) target. */
  readonly targetIsZero?: boolean;
}

/**
 * The tuning the provider uses, chosen with `npm run bench:convert` (a 4 GiB
 * chain with 1.2 GiB of data, cold cache, sync included; see
 * scripts/bench/convert.ts for the figures): 16 coroutines with out-of-order
 * writes keep reads and writes overlapping. Out-of-order writes only change
 * where the qcow2's clusters land in its file (in runs of up to 2 MiB), never
 * the data. The target cache stays qemu-img's default ("unsafe": no flushes
 * during the conversion) and the provider makes the finished file durable
 * with one `sync` before it is linked into place: as safe as `-t writeback`
 * and cheaper. O_DIRECT (`-t none -T none`) is much slower on ordinary disks,
 * 2 MiB clusters bought nothing, and `--target-is-zero` buys nothing because
 * a freshly created qcow2 is known to be zero anyway.
 */
export const DEFAULT_TUNING: ConvertTuning = { coroutines: 16, outOfOrderWrites: true };

/** What the output image should look like. */
export interface ConvertOptions {
  /** The format detected by `qemu-img info`, passed with `-f` so qemu-img never probes again. */
  readonly inputFormat: string;
  /** A file name, or a `json:{…}` name (a disk inside an OVA). */
  readonly input: string;
  readonly output: string;
  readonly compression?: boolean;
  readonly clusterSizeKiB?: number;
  readonly preallocation?: Preallocation;
  readonly compat?: Qcow2Compat;
  /** Print progress (`-p`). */
  readonly progress?: boolean;
  readonly tuning?: ConvertTuning;
}

/** The qcow2 creation options (`-o`) for the output. */
export function qcow2Options(
  o: Pick<ConvertOptions, "clusterSizeKiB" | "preallocation" | "compat">,
): string[] {
  const opts: string[] = [];
  if (o.clusterSizeKiB !== undefined) opts.push(`cluster_size=${o.clusterSizeKiB * 1024}`);
  if (o.preallocation !== undefined) opts.push(`preallocation=${o.preallocation}`);
  if (o.compat !== undefined) opts.push(`compat=${o.compat}`);
  return opts;
}

/**
 * argv of the one `qemu-img convert` that makes the volume: the same
 * function serves the provider and the benchmark. The source is opened
 * read-only without `-U` (force-share): a disk a running VM writes to makes
 * qemu-img fail on its lock instead of copying a torn image.
 */
export function convertArgv(o: ConvertOptions): string[] {
  const t = o.tuning ?? DEFAULT_TUNING;
  const argv = ["qemu-img", "convert"];
  if (o.progress) argv.push("-p");
  argv.push("-f", o.inputFormat, "-O", "qcow2");
  const opts = qcow2Options(o);
  if (opts.length > 0 && !t.targetIsZero) argv.push("-o", opts.join(","));
  if (o.compression) argv.push("-c");
  if (t.coroutines !== undefined) {
    if (!Number.isInteger(t.coroutines) || t.coroutines < 1 || t.coroutines > 16) {
      throw new RangeError(`coroutines must be 1 to 16, not ${t.coroutines}`);
    }
    argv.push("-m", String(t.coroutines));
  }
  // qemu-img refuses -W with compressed output.
  if (t.outOfOrderWrites && !o.compression) argv.push("-W");
  if (t.targetCache !== undefined) argv.push("-t", t.targetCache);
  if (t.sourceCache !== undefined) argv.push("-T", t.sourceCache);
  if (t.targetIsZero) argv.push("-n", "--target-is-zero");
  argv.push(o.input, o.output);
  return argv;
}

/** argv creating the empty target that `targetIsZero` converts into. */
export function createTargetArgv(
  o: Pick<ConvertOptions, "output" | "clusterSizeKiB" | "preallocation" | "compat">,
  virtualSizeBytes: number,
): string[] {
  const opts = qcow2Options(o);
  return [
    "qemu-img",
    "create",
    "-q",
    "-f",
    "qcow2",
    ...(opts.length > 0 ? ["-o", opts.join(",")] : []),
    o.output,
    String(virtualSizeBytes),
  ];
}

/** argv of `qemu-img measure`: the bytes the converted image needs (`required`). */
export function measureArgv(
  o: Pick<ConvertOptions, "inputFormat" | "input" | "clusterSizeKiB" | "preallocation" | "compat">,
): string[] {
  const opts = qcow2Options(o);
  return [
    "qemu-img",
    "measure",
    "--output=json",
    "-O",
    "qcow2",
    ...(opts.length > 0 ? ["-o", opts.join(",")] : []),
    "-f",
    o.inputFormat,
    o.input,
  ];
}

/** argv of `qemu-img measure` for a new, empty qcow2 of a size (the growth of a resized volume). */
export function measureSizeArgv(
  o: Pick<ConvertOptions, "clusterSizeKiB" | "preallocation" | "compat">,
  virtualSizeBytes: number,
): string[] {
  const opts = qcow2Options(o);
  return [
    "qemu-img",
    "measure",
    "--output=json",
    "-O",
    "qcow2",
    ...(opts.length > 0 ? ["-o", opts.join(",")] : []),
    "--size",
    String(virtualSizeBytes),
  ];
}

/** argv growing the converted image to a larger virtual size. */
export function resizeArgv(
  file: string,
  virtualSizeBytes: number,
  preallocation?: Preallocation,
): string[] {
  return [
    "qemu-img",
    "resize",
    "-q",
    "-f",
    "qcow2",
    ...(preallocation !== undefined && preallocation !== "off"
      ? [`--preallocation=${preallocation}`]
      : []),
    file,
    String(virtualSizeBytes),
  ];
}

/** argv of `qemu-img info` for inspection (no `-U`: an image in use fails on its lock). */
export function infoArgv(file: string, backingChain = true): string[] {
  return ["qemu-img", "info", "--output=json", ...(backingChain ? ["--backing-chain"] : []), file];
}

/** `qemu-img measure`'s answer: `required` for the image as converted. */
export function parseMeasure(stdout: string): {
  requiredBytes: number;
  fullyAllocatedBytes: number;
} {
  const o = JSON.parse(stdout) as { required: number; "fully-allocated": number };
  return { requiredBytes: Number(o.required), fullyAllocatedBytes: Number(o["fully-allocated"]) };
}

/**
 * A `json:` file name that makes QEMU read a byte range of a file as an image:
 * a disk inside an (uncompressed) OVA, read in place without unpacking.
 */
export function fileRangeName(
  file: string,
  offset: number,
  sizeBytes: number,
  format?: string,
): string {
  const inner = {
    driver: "raw",
    offset,
    size: sizeBytes,
    file: { driver: "file", filename: file },
  };
  return `json:${JSON.stringify(format ? { driver: format, file: inner } : { file: inner })}`;
}

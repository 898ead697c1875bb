import { Preallocation, Qcow2Compat } from "./args";

/** How QEMU submits a file's reads and writes: one io_uring ring, or its pool of worker threads. */
export type Aio = "io_uring" | "threads";

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
  /** `aio` of the target and of the source links that allow it (readsInsideFile). QEMU's own default is "threads". */
  readonly aio?: Aio;
}

/**
 * The tuning the provider uses, chosen with `npm run bench:convert` (a 4 GiB
 * chain with 1.2 GiB of data, cold cache, sync included; the figures are in
 * components/volume/README.md):
 * - 16 coroutines with out-of-order writes keep reads and writes overlapping.
 *   Out-of-order writes only change where the qcow2's clusters land in its
 *   file, never the data.
 * - io_uring for the target and for every monolithicSparse link of the source
 *   (see readsInsideFile): a vmdk is read one 64 KiB grain at a time, so the
 *   conversion is tens of thousands of small reads and writes; handing each
 *   to QEMU's worker threads cost more system time than copying the data.
 *   Where the host cannot (an old kernel, io_uring disabled, a QEMU built
 *   without it), the provider converts again with "threads" (see
 *   ioUringRefused).
 * - The target cache stays qemu-img's default ("unsafe": no flushes during the
 *   conversion); the provider makes the finished file durable with one `sync`
 *   before it is linked into place: as safe as `-t writeback`, and cheaper.
 *   O_DIRECT (`-t none`) is much slower on ordinary disks; 2 MiB clusters
 *   bought nothing.
 */
export const DEFAULT_TUNING: ConvertTuning = {
  coroutines: 16,
  outOfOrderWrites: true,
  aio: "io_uring",
};

/** What the output image should look like. */
export interface ConvertOptions {
  /** The format detected by `qemu-img info`, passed with `-f` so qemu-img never probes again. */
  readonly inputFormat: string;
  /** A file name, or a `json:{…}` name (a disk inside an OVA). */
  readonly input: string;
  /** The links QEMU opens, top first (the input's, then its backing files'), for their `aio`. */
  readonly links?: readonly SourceLink[];
  /** The qcow2 file, already made by createTargetArgv (its creation options live there). */
  readonly output: string;
  readonly compression?: boolean;
  /** Print progress (`-p`). */
  readonly progress?: boolean;
  readonly tuning?: ConvertTuning;
}

/** A link of the source as inspected: its file and, for a vmdk, its create type. */
export interface SourceLink {
  readonly file: string;
  readonly vmdk?: { readonly createType: string };
}

/** How the qcow2 is created (its `-o` options). */
export interface Qcow2Creation {
  readonly clusterSizeKiB?: number;
  readonly preallocation?: Preallocation;
  readonly compat?: Qcow2Compat;
}

/** The qcow2 creation options (`-o`) for the output. */
export function qcow2Options(o: Qcow2Creation): string[] {
  const opts: string[] = [];
  if (o.clusterSizeKiB !== undefined) opts.push(`cluster_size=${o.clusterSizeKiB * 1024}`);
  if (o.preallocation !== undefined) opts.push(`preallocation=${o.preallocation}`);
  if (o.compat !== undefined) opts.push(`compat=${o.compat}`);
  return opts;
}

/** A value inside a QEMU option string (`a=b,c=d`): a comma is written twice. */
export function optionValue(value: string): string {
  return value.replace(/,/g, ",,");
}

/**
 * argv creating the empty qcow2 the conversion writes into, at the volume's
 * final virtual size (a larger target size than the source's is simply
 * there from the start) and with its creation options.
 */
export function createTargetArgv(
  o: Qcow2Creation & { readonly output: string },
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

/**
 * argv of the `qemu-img convert` that fills the volume made by
 * createTargetArgv: the same function serves the provider and the benchmark.
 * `-n --target-is-zero` write into that fresh (all-zero) image; the target is
 * named by `--target-image-opts` and the source by a `json:` name, the ways
 * to choose their files' `aio`. The source is opened read-only without `-U`
 * (force-share): a disk a running VM writes to makes qemu-img fail on its
 * lock instead of copying a torn image.
 */
export function convertArgv(o: ConvertOptions): string[] {
  const t = o.tuning ?? DEFAULT_TUNING;
  const argv = ["qemu-img", "convert"];
  if (o.progress) argv.push("-p");
  argv.push("-f", o.inputFormat);
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
  const target = ["driver=qcow2", "file.driver=file", `file.filename=${optionValue(o.output)}`];
  if (t.aio !== undefined) target.push(`file.aio=${t.aio}`);
  const source = t.aio === undefined ? o.input : sourceName(o.input, o.links ?? [], t.aio);
  argv.push("-n", "--target-is-zero", source, "--target-image-opts", target.join(","));
  return argv;
}

type OptionTree = { [key: string]: string | number | OptionTree };

/**
 * Whether QEMU may read a link through io_uring. QEMU 7.2 waits forever on
 * an io_uring read that ends past the end of the file (a raw image of an odd
 * size, a split vmdk's small descriptor, the last grain of a
 * streamOptimized vmdk, which QEMU reads with room to spare, all hang), where
 * its threads fill the rest with zeros. A monolithicSparse vmdk, the seed's
 * format, is read in whole grains inside the file, and `qemu-img check`
 * (run before every conversion) refuses one whose grains end past it.
 */
export function readsInsideFile(link: SourceLink): boolean {
  return link.vmdk?.createType === "monolithicSparse";
}

/**
 * The source with `aio` on the file of every link that readsInsideFile
 * (`file.aio`, `backing.file.aio`, `backing.backing.file.aio`, …, in the order
 * of `links`, top first), as a `json:` name; the format stays with `-f`. The
 * input itself when no link qualifies (a `json:` name, a disk inside an OVA,
 * is streamOptimized: it stays as it is).
 */
export function sourceName(input: string, links: readonly SourceLink[], aio: Aio): string {
  const last = links.map(readsInsideFile).lastIndexOf(true);
  if (input.startsWith("json:") || last < 0) return input;
  const root: OptionTree = { file: { driver: "file", filename: input } };
  let node = root;
  for (let i = 0; i <= last; i++) {
    if (readsInsideFile(links[i])) (node.file as OptionTree).aio = aio;
    if (i < last) {
      const backing: OptionTree = { file: {} };
      node.backing = backing;
      node = backing;
    }
  }
  return `json:${JSON.stringify(root)}`;
}

/**
 * Whether a failed conversion failed only because the host cannot give the
 * target an io_uring (QEMU says "Unable to use io_uring: …" when the kernel
 * refuses a ring, or that aio=io_uring "is not supported in this build"):
 * then the same conversion with "threads" works.
 */
export function ioUringRefused(stderr: string): boolean {
  // Not just "io_uring": every error about the target repeats its options, file.aio=io_uring included.
  return /Unable to use io_uring: |aio=io_uring was specified, but is not supported/.test(stderr);
}

/** argv of `qemu-img measure`: the bytes the converted image needs (`required`). */
export function measureArgv(
  o: Qcow2Creation & Pick<ConvertOptions, "inputFormat" | "input">,
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

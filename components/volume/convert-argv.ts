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
  /** The source, top first: each link's pinned format and file (see sourceName). */
  readonly links: readonly SourceLink[];
  /** The qcow2 file, already made by createTargetArgv (its creation options live there). */
  readonly output: string;
  readonly compression?: boolean;
  /** Print progress (`-p`). */
  readonly progress?: boolean;
  readonly tuning?: ConvertTuning;
}

/**
 * A link of the source as QEMU opens it: its format, pinned before QEMU
 * sees the file, and the file that holds it, checked to be a regular file
 * in the source's folder (see source-files.ts).
 */
export interface SourceLink {
  /** The file's real path, or the OVA that holds the disk. */
  readonly file: string;
  readonly format: string;
  /** A vmdk's create type, and how many extent files its descriptor names (none for a sparse file). */
  readonly vmdk?: { readonly createType: string; readonly extentFiles?: number };
  /** A disk inside an OVA: the bytes of the archive it occupies. */
  readonly range?: { readonly offset: number; readonly sizeBytes: number };
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
  argv.push("-f", o.links[0].format);
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
  argv.push("-n", "--target-is-zero", sourceName(o.links, t.aio));
  argv.push("--target-image-opts", target.join(","));
  return argv;
}

type OptionTree = { [key: string]: string | number | null | OptionTree };

/**
 * Whether QEMU may read a link through io_uring. QEMU 7.2 waits forever on
 * an io_uring read that ends past the end of the file (a raw image of an odd
 * size, a split vmdk's small descriptor, the last grain of a
 * streamOptimized vmdk, which QEMU reads with room to spare, all hang), where
 * its threads fill the rest with zeros. A monolithicSparse vmdk, the seed's
 * format, is read in whole grains inside the file, and `qemu-img check`
 * (run before every conversion) refuses one whose grains end past it.
 */
export function readsInsideFile(link: Pick<SourceLink, "vmdk">): boolean {
  return link.vmdk?.createType === "monolithicSparse";
}

/**
 * The source as a `json:` name that leaves QEMU nothing to find or guess:
 * each link's `driver` (its format) and file (`driver: "file"`, which opens
 * regular files only), each parent as `backing` (the base's `backing` is
 * null), and `extents.N.driver: "file"` for each extent file a vmdk
 * descriptor names (their names stay the descriptor's). With `aio`, the
 * files of the links that readsInsideFile get it (`file.aio`,
 * `backing.file.aio`, …); a disk inside an OVA is a raw byte range of it.
 */
export function sourceName(links: readonly SourceLink[], aio?: Aio): string {
  if (links.length === 0) throw new Error("sourceName: no links");
  const node = (i: number): OptionTree => {
    const link = links[i];
    const file: OptionTree = { driver: "file", filename: link.file };
    if (aio !== undefined && link.range === undefined && readsInsideFile(link)) file.aio = aio;
    const tree: OptionTree = {
      driver: link.format,
      file: link.range
        ? { driver: "raw", offset: link.range.offset, size: link.range.sizeBytes, file }
        : file,
    };
    const extents = link.vmdk?.extentFiles ?? 0;
    if (extents > 0) {
      tree.extents = Object.fromEntries(
        Array.from({ length: extents }, (_, n) => [String(n), { driver: "file" }]),
      );
    }
    if (link.format !== "raw") tree.backing = i + 1 < links.length ? node(i + 1) : null;
    return tree;
  };
  return `json:${JSON.stringify(node(0))}`;
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
export function measureArgv(o: Qcow2Creation & Pick<ConvertOptions, "links">): string[] {
  const opts = qcow2Options(o);
  return [
    "qemu-img",
    "measure",
    "--output=json",
    "-O",
    "qcow2",
    ...(opts.length > 0 ? ["-o", opts.join(",")] : []),
    "-f",
    o.links[0].format,
    sourceName(o.links),
  ];
}

/**
 * argv of `qemu-img info` for one link, alone (sourceName of it: its
 * backing null). No `-U`: an image in use fails on its lock.
 */
export function infoArgv(link: SourceLink): string[] {
  return ["qemu-img", "info", "--output=json", "-f", link.format, sourceName([link])];
}

/** argv of `qemu-img check` (read-only, metadata only) of one link, alone. */
export function checkArgv(link: SourceLink): string[] {
  return ["qemu-img", "check", "-q", "-f", link.format, sourceName([link])];
}

/** `qemu-img measure`'s answer: `required` for the image as converted. */
export function parseMeasure(stdout: string): {
  requiredBytes: number;
  fullyAllocatedBytes: number;
} {
  const o = JSON.parse(stdout) as { required: number; "fully-allocated": number };
  return { requiredBytes: Number(o.required), fullyAllocatedBytes: Number(o["fully-allocated"]) };
}

import { oneOfPhrase } from "../core/checks";
import { InvalidArgumentError } from "../core/errors";
import { IMAGE_FORMATS, ImageFormat } from "./confine";

/**
 * Which part of a snapshot chain becomes the volume.
 * - `flatten`: the guest's view from the top of the chain (the file given as
 *   `source`), every link merged in: what the VM saw when it last ran.
 * - `base`: the bottom link alone, every snapshot delta above it ignored.
 */
export type ConversionMode = "flatten" | "base";
export const CONVERSION_MODES: readonly ConversionMode[] = ["flatten", "base"];

/** qcow2 `preallocation` (qemu-img create -o preallocation=…). */
export type Preallocation = "off" | "metadata" | "falloc" | "full";
export const PREALLOCATIONS: readonly Preallocation[] = ["off", "metadata", "falloc", "full"];

/** qcow2 `compat`: "1.1" (QEMU 1.1 and later, the default) or "0.10" (very old QEMU). */
export type Qcow2Compat = "0.10" | "1.1";
export const QCOW2_COMPATS: readonly Qcow2Compat[] = ["0.10", "1.1"];

/**
 * What a change of the source's content does to the volume made from it.
 * - `replace`: the volume is made again from the new content (and the
 *   domains that run on it are replaced with it: the state inside is lost).
 * - `keep`: the volume stays as it is, with the state the guest wrote into it.
 */
export type SourceChange = "replace" | "keep";
export const SOURCE_CHANGES: readonly SourceChange[] = ["replace", "keep"];

/** The plain values of a ConvertedVolume's arguments, as the provider receives them. */
export interface PlainVolumeArgs {
  readonly source?: unknown;
  readonly pool?: unknown;
  readonly volumeName?: unknown;
  readonly mode?: unknown;
  readonly compression?: unknown;
  readonly clusterSizeKiB?: unknown;
  readonly preallocation?: unknown;
  readonly compat?: unknown;
  readonly virtualSizeGiB?: unknown;
  readonly convert?: unknown;
  readonly ovaDisk?: unknown;
  readonly onSourceChange?: unknown;
  readonly sourceFormat?: unknown;
}

/** Validated arguments with their defaults applied (volumeName is resolved later, from the source). */
export interface VolumeOptions {
  readonly source: string;
  readonly pool: string;
  readonly volumeName?: string;
  readonly mode: ConversionMode;
  readonly compression: boolean;
  readonly clusterSizeKiB?: number;
  readonly preallocation?: Preallocation;
  readonly compat?: Qcow2Compat;
  readonly virtualSizeGiB?: number;
  readonly convert: boolean;
  readonly ovaDisk?: string;
  readonly onSourceChange: SourceChange;
  /** The source's format, when its name does not say it (or to read a disk as raw whatever it holds). */
  readonly sourceFormat?: ImageFormat;
}

/** libvirt pool names: no slashes, no leading dot or dash, printable. */
const POOL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}$/;
/** Volume names are file names in the pool's folder: no slashes, no leading dot or dash. */
const VOLUME_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,199}$/;
const VOLUME_NAME_RULE =
  'a file name for the volume (letters, digits, _ . + -, not starting with . or -), e.g. "classroom.qcow2"';

/**
 * The volume's name when volumeName is not given: `<resource name>.qcow2`
 * (`.img` for a raw copy), under the same rule as a given one.
 */
export function defaultVolumeName(resourceName: string, extension: "qcow2" | "img"): string {
  const name = `${resourceName}.${extension}`;
  if (!VOLUME_NAME.test(name)) {
    throw new InvalidArgumentError(
      "volumeName",
      name,
      `${VOLUME_NAME_RULE}; the default, the resource's name + ".${extension}", is not one: set volumeName`,
    );
  }
  return name;
}

/**
 * Checks a ConvertedVolume's arguments (names prefixed with `prefix`) and
 * applies the defaults. Throws InvalidArgumentError naming the argument.
 */
export function validateVolumeArgs(args: PlainVolumeArgs, prefix = ""): VolumeOptions {
  const at = (name: string) => `${prefix}${name}`;
  const source = args.source;
  if (typeof source !== "string" || !source.startsWith("/") || source.includes("\0")) {
    throw new InvalidArgumentError(
      at("source"),
      source,
      "the absolute path of a .vmdk, .ova, qcow2 or raw image on the libvirt host",
    );
  }
  if (/(^|\/)\.\.?(\/|$)/.test(source) || source.endsWith("/")) {
    throw new InvalidArgumentError(
      at("source"),
      source,
      "a normalised absolute path to a file (no `.` or `..` parts, no trailing slash)",
    );
  }
  const pool = validatePoolName(args.pool, at("pool"));
  const volumeName = args.volumeName;
  if (
    volumeName !== undefined &&
    (typeof volumeName !== "string" || !VOLUME_NAME.test(volumeName))
  ) {
    throw new InvalidArgumentError(at("volumeName"), volumeName, VOLUME_NAME_RULE);
  }
  const mode = args.mode ?? "flatten";
  if (!CONVERSION_MODES.includes(mode as ConversionMode)) {
    throw new InvalidArgumentError(at("mode"), mode, oneOfPhrase(CONVERSION_MODES));
  }
  const compression = args.compression ?? false;
  if (typeof compression !== "boolean") {
    throw new InvalidArgumentError(at("compression"), compression, "true or false");
  }
  const clusterSizeKiB = args.clusterSizeKiB;
  if (clusterSizeKiB !== undefined && !isClusterSizeKiB(clusterSizeKiB)) {
    throw new InvalidArgumentError(
      at("clusterSizeKiB"),
      clusterSizeKiB,
      "a power of two from 1 to 2048 (qcow2 clusters are 512 bytes to 2 MiB; QEMU's default is 64)",
    );
  }
  const preallocation = args.preallocation;
  if (preallocation !== undefined && !PREALLOCATIONS.includes(preallocation as Preallocation)) {
    throw new InvalidArgumentError(at("preallocation"), preallocation, oneOfPhrase(PREALLOCATIONS));
  }
  const compat = args.compat;
  if (compat !== undefined && !QCOW2_COMPATS.includes(compat as Qcow2Compat)) {
    throw new InvalidArgumentError(at("compat"), compat, oneOfPhrase(QCOW2_COMPATS));
  }
  if (compression && preallocation !== undefined && preallocation !== "off") {
    throw new InvalidArgumentError(
      at("preallocation"),
      preallocation,
      '"off" (or nothing) when compression is true: compressed clusters cannot be preallocated',
    );
  }
  const virtualSizeGiB = args.virtualSizeGiB;
  if (
    virtualSizeGiB !== undefined &&
    (typeof virtualSizeGiB !== "number" || !Number.isInteger(virtualSizeGiB) || virtualSizeGiB < 1)
  ) {
    throw new InvalidArgumentError(
      at("virtualSizeGiB"),
      virtualSizeGiB,
      "a whole number of GiB, 1 or more, at least the source's virtual size",
    );
  }
  const convert = args.convert ?? false;
  if (typeof convert !== "boolean") {
    throw new InvalidArgumentError(at("convert"), convert, "true or false");
  }
  const ovaDisk = args.ovaDisk;
  if (ovaDisk !== undefined && (typeof ovaDisk !== "string" || ovaDisk === "")) {
    throw new InvalidArgumentError(
      at("ovaDisk"),
      ovaDisk,
      'the OVF disk id (e.g. "vmdisk2") or file name (e.g. "disk2.vmdk") of one disk in the OVA',
    );
  }
  const onSourceChange = args.onSourceChange ?? "replace";
  if (!SOURCE_CHANGES.includes(onSourceChange as SourceChange)) {
    throw new InvalidArgumentError(
      at("onSourceChange"),
      onSourceChange,
      oneOfPhrase(SOURCE_CHANGES),
    );
  }
  const sourceFormat = args.sourceFormat;
  if (sourceFormat !== undefined && !IMAGE_FORMATS.includes(sourceFormat as ImageFormat)) {
    throw new InvalidArgumentError(at("sourceFormat"), sourceFormat, oneOfPhrase(IMAGE_FORMATS));
  }
  return {
    source,
    pool,
    volumeName: volumeName as string | undefined,
    mode: mode as ConversionMode,
    compression,
    clusterSizeKiB: clusterSizeKiB as number | undefined,
    preallocation: preallocation as Preallocation | undefined,
    compat: compat as Qcow2Compat | undefined,
    virtualSizeGiB,
    convert,
    ovaDisk: ovaDisk as string | undefined,
    onSourceChange: onSourceChange as SourceChange,
    sourceFormat: sourceFormat as ImageFormat | undefined,
  };
}

/** Whether an option that shapes the output image was given (it implies a conversion). */
export function asksForConversion(options: VolumeOptions): boolean {
  return (
    options.convert ||
    options.compression ||
    options.clusterSizeKiB !== undefined ||
    options.preallocation !== undefined ||
    options.compat !== undefined ||
    options.virtualSizeGiB !== undefined
  );
}

/** Validates a volume's file name in its pool's folder. */
export function validateVolumeName(volumeName: unknown, argument = "volumeName"): string {
  if (typeof volumeName !== "string" || !VOLUME_NAME.test(volumeName))
    throw new InvalidArgumentError(argument, volumeName, VOLUME_NAME_RULE);
  return volumeName;
}

/** Validates a libvirt storage pool name. */
export function validatePoolName(pool: unknown, argument = "pool"): string {
  if (typeof pool !== "string" || !POOL_NAME.test(pool)) {
    throw new InvalidArgumentError(
      argument,
      pool,
      "the name of a libvirt storage pool (letters, digits, _ . + -, not starting with . or -), as `virsh pool-list --all` shows it",
    );
  }
  return pool;
}

/** Validates `createPool.path`: an absolute, normalised folder path. */
export function validatePoolPath(path: unknown, argument = "createPool.path"): string {
  if (
    typeof path !== "string" ||
    !path.startsWith("/") ||
    path === "/" ||
    path.includes("\0") ||
    /(^|\/)\.\.?(\/|$)/.test(path)
  ) {
    throw new InvalidArgumentError(
      argument,
      path,
      'the absolute path of the folder that holds the pool\'s volumes, e.g. "/var/lib/libvirt/images/lab"',
    );
  }
  return path.replace(/\/+$/, "");
}

function isClusterSizeKiB(value: unknown): boolean {
  return (
    typeof value === "number" &&
    Number.isInteger(value) &&
    value >= 1 &&
    value <= 2048 &&
    (value & (value - 1)) === 0
  );
}

import { InvalidArgumentError } from "../core/errors";
import { asksForConversion, defaultVolumeName, VolumeOptions } from "./args";
import { ChainLink, ImageInfo } from "./chain";
import { SourceLink } from "./convert-argv";

/** What inspecting the source found (the provider's inspect step fills it). */
export interface InspectedSource {
  /** The whole chain, top first (for an OVA: its chosen disk). */
  readonly links: readonly ImageInfo[];
  /** The links the mode converts, top first. */
  readonly selected: readonly ImageInfo[];
  /** What qemu-img opens: a `json:` name of the selected links, every format and file pinned (sourceName). */
  readonly input: string;
  /** The top's format, known before QEMU opened it (from sourceFormat, its name or its child's record). */
  readonly inputFormat: string;
  /** The selected links as QEMU opens them (real paths, formats), top first. */
  readonly open: readonly SourceLink[];
  /** The selected links for the `chain` output. */
  readonly chain: readonly ChainLink[];
  /** One line per source file: its content key, what decides whether to convert again. */
  readonly fingerprint: Readonly<Record<string, string>>;
  /** One line per source file: mtime, inode, device (a copy taken while they change may be torn). */
  readonly identity: Readonly<Record<string, string>>;
  /** The OVA's disk file that was chosen, for an OVA. */
  readonly ovaMember?: string;
}

/**
 * - `convert`: `qemu-img convert` into a new qcow2 (every VMware source, every
 *   chain, and any qcow2/raw image when a conversion is asked for).
 * - `copy`: a single-file qcow2 or raw image copied as it is (pass-through).
 */
export type VolumeAction = "convert" | "copy";

export interface VolumePlan {
  readonly action: VolumeAction;
  readonly outputFormat: "qcow2" | "raw";
  readonly volumeName: string;
  /** The volume's virtual size once done. */
  readonly virtualSizeBytes: number;
  /** Set when virtualSizeGiB is larger than the source: the volume is created at this size. */
  readonly resizeToBytes?: number;
}

const GiB = 1024 ** 3;

/**
 * Decides how the volume is made. qcow2 and raw images of one file are
 * passed through (copied) unless an option that shapes the output image is
 * set; everything else is converted to qcow2. Throws InvalidArgumentError for
 * a virtualSizeGiB smaller than the source.
 */
export function planVolume(
  options: VolumeOptions,
  source: InspectedSource,
  resourceName: string,
): VolumePlan {
  const top = source.selected[0];
  const passThrough =
    !asksForConversion(options) &&
    source.ovaMember === undefined &&
    source.selected.length === 1 &&
    top.backingFile === undefined &&
    // A raw image holding another format's header is converted: libvirt would probe it as that format.
    (top.format === "qcow2" || (top.format === "raw" && top.headerFormat === undefined));
  const action: VolumeAction = passThrough ? "copy" : "convert";
  const outputFormat = passThrough && top.format === "raw" ? "raw" : "qcow2";
  let resizeToBytes: number | undefined;
  if (options.virtualSizeGiB !== undefined) {
    const wanted = options.virtualSizeGiB * GiB;
    if (wanted < top.virtualSizeBytes) {
      throw new InvalidArgumentError(
        "virtualSizeGiB",
        options.virtualSizeGiB,
        `at least the source's virtual size, ${top.virtualSizeBytes} bytes (${formatGiB(top.virtualSizeBytes)} GiB): ` +
          `a volume smaller than its disk would cut off data; leave virtualSizeGiB unset to keep the source's size`,
      );
    }
    if (wanted > top.virtualSizeBytes) resizeToBytes = wanted;
  }
  return {
    action,
    outputFormat,
    volumeName:
      options.volumeName ??
      defaultVolumeName(resourceName, outputFormat === "raw" ? "img" : "qcow2"),
    virtualSizeBytes: resizeToBytes ?? top.virtualSizeBytes,
    resizeToBytes,
  };
}

function formatGiB(bytes: number): string {
  return (bytes / GiB).toFixed(2).replace(/\.?0+$/, "");
}

import * as pulumi from "@pulumi/pulumi";
import { validateKnown } from "../core/known";
import { HostConnection } from "../host/connection";
import { hostInputs } from "../host/host-inputs";
import { childOptions, HostResource } from "../host/host-resource";
import { ResourceInputs } from "../host/provider";
import { BackingFormat, validateOverlayArgs } from "./overlay";
import { OverlayInputs } from "./overlay-provider";

/**
 * A copy-on-write qcow2 overlay of a base volume (a ConvertedVolume), made
 * by libvirt in a pool of the same host: it starts empty and holds only what
 * its guest writes, so many labs share one conversion.
 */
export interface OverlayVolumeArgs {
  /** The base volume's file on the host (a ConvertedVolume's `path`). */
  readonly backingPath: pulumi.Input<string>;
  /** The base's format (a ConvertedVolume's `format`). @default "qcow2" */
  readonly backingFormat?: pulumi.Input<BackingFormat>;
  /** The pool that receives the overlay (the base's, usually). */
  readonly pool: pulumi.Input<string>;
  /** The overlay's file name in the pool. @default `${name}.qcow2` */
  readonly volumeName?: pulumi.Input<string>;
  /**
   * Raise it by one to reset: the overlay is replaced by a new, empty one
   * (what was written into it is lost, and the preview says so).
   * @default 0
   */
  readonly generation?: pulumi.Input<number>;
  /** What the overlay is, in the preview's words. @default `overlay ${volumeName}` */
  readonly label?: pulumi.Input<string>;
  /** The libvirt host: the base's. @default - this machine, `qemu:///system` */
  readonly host?: pulumi.Input<HostConnection>;
}

class OverlayVolumeResource extends HostResource {
  declare readonly path: pulumi.Output<string>;
  declare readonly pool: pulumi.Output<string>;
  declare readonly volumeName: pulumi.Output<string>;
  declare readonly virtualSizeBytes: pulumi.Output<number>;
  declare readonly allocatedBytes: pulumi.Output<number>;

  constructor(
    name: string,
    props: ResourceInputs<Omit<OverlayInputs, "updatePlan">>,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      "OverlayVolume",
      require.resolve("./overlay-provider"),
      name,
      {
        ...props,
        path: undefined,
        virtualSizeBytes: undefined,
        allocatedBytes: undefined,
        fileId: undefined,
      },
      opts,
    );
  }
}

/**
 * ```ts
 * const base = new ConvertedVolume("base", { source: "/srv/RHEL7_Server-000002.vmdk", pool: "lab" });
 * const disk = new OverlayVolume("s07", { backingPath: base.path, backingFormat: base.format, pool: "lab" });
 * // disk.path: "/var/lib/libvirt/images/lab/s07.qcow2", backed by the base
 * ```
 */
export class OverlayVolume extends pulumi.ComponentResource {
  readonly path: pulumi.Output<string>;
  readonly pool: pulumi.Output<string>;
  readonly volumeName: pulumi.Output<string>;
  readonly virtualSizeBytes: pulumi.Output<number>;
  /** Bytes the overlay takes, as libvirt reports them (near zero when new). */
  readonly allocatedBytes: pulumi.Output<number>;
  /** `{ pool, volumeName }` for a domain's disk, known once the overlay exists. */
  readonly ref: pulumi.Output<{ pool: string; volumeName: string }>;

  constructor(name: string, args: OverlayVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nestlab:volume:OverlayVolume", name, {}, opts);
    const volumeName = args.volumeName ?? `${name}.qcow2`;
    const given = {
      pool: args.pool,
      volumeName,
      backingPath: args.backingPath,
      backingFormat: args.backingFormat ?? "qcow2",
      generation: args.generation ?? 0,
      label: args.label ?? pulumi.output(volumeName).apply((v) => `overlay ${v}`),
    };
    validateKnown(this, given, (known) => validateOverlayArgs(known as never));
    const volume = new OverlayVolumeResource(
      name,
      { ...hostInputs(args.host), ...given },
      childOptions(this, opts),
    );
    this.path = volume.path;
    this.pool = volume.pool;
    this.volumeName = volume.volumeName;
    this.virtualSizeBytes = volume.virtualSizeBytes;
    this.allocatedBytes = volume.allocatedBytes;
    this.ref = pulumi
      .all([volume.pool, volume.volumeName, volume.path])
      .apply(([pool, v]) => ({ pool, volumeName: v }));
    this.registerOutputs({
      path: this.path,
      pool: this.pool,
      volumeName: this.volumeName,
      virtualSizeBytes: this.virtualSizeBytes,
      allocatedBytes: this.allocatedBytes,
    });
  }
}

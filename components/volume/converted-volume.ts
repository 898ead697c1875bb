import * as pulumi from "@pulumi/pulumi";
import { childOptions, HostResource } from "../host/host-resource";
import { validateKnown } from "../core/known";
import { hasUnknown, isUnknown } from "../core/unknown";
import { hostInputs } from "../host/host-inputs";
import { HostConnection } from "../host/connection";
import {
  ConversionMode,
  defaultVolumeName,
  PlainVolumeArgs,
  Preallocation,
  Qcow2Compat,
  SourceChange,
  validatePoolPath,
  validateVolumeArgs,
} from "./args";
import { ChainLink } from "./chain";
import { ImageFormat } from "./confine";
import { REPLACING_PROPERTIES } from "./diff";
import { validateRootAccess } from "./guest-access";

/** Create the pool as a directory pool (`virsh pool-define-as <pool> dir --target <path>`). */
export interface CreatePoolArgs {
  /** The folder that holds the pool's volumes; made if missing. */
  readonly path: pulumi.Input<string>;
}

/**
 * A VMware disk (a vmdk, the top of a snapshot chain, a split vmdk, an OVA)
 * or a qcow2/raw image, made into a volume of a libvirt storage pool.
 */
export interface ConvertedVolumeArgs {
  /**
   * The image on the libvirt host: a `.vmdk` (a base, or the top snapshot of
   * a chain such as `RHEL7_Server-000002.vmdk`), a split vmdk's descriptor,
   * an `.ova`, a qcow2 or a raw image. Its name says its format (`.vmdk`,
   * `.ova`, `.qcow2`, `.raw`; `.img` is raw unless it holds an image
   * header) and its content must agree; see `sourceFormat`. It and every
   * file it names must be regular files in its own folder.
   */
  readonly source: pulumi.Input<string>;
  /** The libvirt storage pool (a dir, fs or netfs pool) that receives the volume. */
  readonly pool: pulumi.Input<string>;
  /**
   * The volume's name (its file name in the pool's folder). An existing
   * volume of that name is never overwritten.
   * @default `${name}.qcow2` (`${name}.img` for a raw image passed through)
   */
  readonly volumeName?: pulumi.Input<string>;
  /**
   * The libvirt host. With `ssh`, qemu-img and virsh run on that host and the
   * image never travels to this machine.
   * @default - this machine, `qemu:///system`
   */
  readonly host?: pulumi.Input<HostConnection>;
  /**
   * `flatten`: the disk as the VM last saw it, every snapshot of the chain
   * merged in. `base`: the bottom of the chain alone (its snapshots dropped).
   * @default "flatten"
   */
  readonly mode?: pulumi.Input<ConversionMode>;
  /**
   * Compress the qcow2's clusters (`qemu-img convert -c`): smaller, slower
   * to write, and rewritten uncompressed as the guest writes.
   * @default false
   */
  readonly compression?: pulumi.Input<boolean>;
  /**
   * The qcow2 cluster size in KiB (a power of two from 1 to 2048).
   * @default 64 (QEMU's default)
   */
  readonly clusterSizeKiB?: pulumi.Input<number>;
  /**
   * qcow2 preallocation: "off", "metadata", "falloc" or "full".
   * @default "off"
   */
  readonly preallocation?: pulumi.Input<Preallocation>;
  /**
   * The qcow2 compatibility level: "1.1", or "0.10" for very old QEMU.
   * @default "1.1"
   */
  readonly compat?: pulumi.Input<Qcow2Compat>;
  /**
   * Grow the volume to this virtual size in GiB (never smaller than the source).
   * @default - the source's virtual size
   */
  readonly virtualSizeGiB?: pulumi.Input<number>;
  /**
   * Create `pool` as a directory pool at this folder (the pool is then this
   * component's child `${name}-pool`, deleted with it when empty of other files).
   * @default - the pool must exist
   */
  readonly createPool?: CreatePoolArgs;
  /**
   * Convert a qcow2 or raw source to a new qcow2 instead of copying it as it
   * is. Setting compression, clusterSizeKiB, preallocation, compat or
   * virtualSizeGiB converts too. VMware sources and chains are always converted.
   * @default false
   */
  readonly convert?: pulumi.Input<boolean>;
  /**
   * Which disk of a multi-disk OVA: its OVF disk id ("vmdisk2") or file name
   * ("disk2.vmdk"). A multi-disk OVA without it is refused with the list of
   * its disks: declare one ConvertedVolume per disk.
   * @default - the OVA's only disk
   */
  readonly ovaDisk?: pulumi.Input<string>;
  /**
   * What a change of the source's content does. `replace`: the volume is
   * made again from it, and a domain that runs on it is replaced with it
   * (the preview says so: the state inside the old disk is lost). `keep`:
   * the volume stays as it is, with everything the guest wrote into it; the
   * preview notes that the source changed. Touching, copying or moving the
   * source without changing its content does neither (see the README).
   * @default "replace"
   */
  readonly onSourceChange?: pulumi.Input<SourceChange>;
  /**
   * The source's format ("vmdk", "qcow2" or "raw"; for an OVA, its disk's),
   * for a name that does not say it: an `.img` holding a qcow2 header, a
   * file without an extension. The format is never guessed from the
   * content, which a raw disk's guest can write: "raw" reads the disk as
   * the bytes it is, whatever header it holds.
   * @default - the format its name says
   */
  readonly sourceFormat?: pulumi.Input<ImageFormat>;
  /**
   * Prepare the new volume for automation before anything boots it: root's
   * `/root/.ssh/authorized_keys` holds exactly this key (0600, in a 0700
   * folder, owned by root, with SSH's SELinux label where the guest enables
   * SELinux), written with libguestfs into the copy before it is put in
   * place (the source is never written). The guest's SSH host key is read
   * back into `hostKey` to pin; an image without one gets a new ed25519 host
   * key. Another key replaces the volume (the state inside it is lost).
   * @default - the volume is the image as it is
   */
  readonly rootAccess?: pulumi.Input<{ authorizedKey: pulumi.Input<string> }>;
}

/** The plain input bag of the dynamic resource (see provider.ts). */
type ConvertedVolumeResourceInputs = {
  [K in keyof PlainVolumeArgs]: pulumi.Input<unknown>;
} & ReturnType<typeof hostInputs> & { resourceName: string; rootAccess: pulumi.Input<unknown> };

class ConvertedVolumeResource extends HostResource {
  declare readonly path: pulumi.Output<string>;
  declare readonly pool: pulumi.Output<string>;
  declare readonly volumeName: pulumi.Output<string>;
  declare readonly format: pulumi.Output<"qcow2" | "raw">;
  declare readonly virtualSizeBytes: pulumi.Output<number>;
  declare readonly allocatedBytes: pulumi.Output<number>;
  declare readonly chain: pulumi.Output<ChainLink[]>;
  declare readonly sourceFingerprint: pulumi.Output<Record<string, string>>;
  declare readonly hostKey: pulumi.Output<string | undefined>;

  constructor(
    name: string,
    props: ConvertedVolumeResourceInputs,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      "ConvertedVolume",
      require.resolve("./provider"),
      name,
      {
        ...props,
        path: undefined,
        format: undefined,
        virtualSizeBytes: undefined,
        allocatedBytes: undefined,
        chain: undefined,
        sourceFingerprint: undefined,
        fileId: undefined,
        hostKey: undefined,
        hostKeySource: undefined,
        volumeName: props.volumeName,
      },
      opts,
    );
  }
}

class StoragePoolResource extends HostResource {
  declare readonly pool: pulumi.Output<string>;
  declare readonly path: pulumi.Output<string>;

  constructor(
    name: string,
    props: ReturnType<typeof hostInputs> & {
      pool: pulumi.Input<string>;
      path: pulumi.Input<string>;
    },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super("StoragePool", require.resolve("./pool-provider"), name, props, opts);
  }
}

/**
 * A VMware disk (or a qcow2/raw image) as a qcow2 volume in a libvirt pool:
 * the chain is inspected and refused if broken, converted from its top into
 * a hidden temporary file in the pool's folder, synced, moved into place and
 * registered. It is converted again (a replacement) only when the source's
 * content changes (sizes, CIDs, headers, allocation maps: see the README) or
 * an option does.
 *
 * ```ts
 * const disk = new ConvertedVolume("classroom", {
 *   source: "/srv/vmware/RHEL7_Server-000002.vmdk",
 *   pool: "default",
 * });
 * // disk.path: "/var/lib/libvirt/images/classroom.qcow2"
 * ```
 */
export class ConvertedVolume extends pulumi.ComponentResource {
  /** The volume's file on the host. */
  readonly path: pulumi.Output<string>;
  readonly pool: pulumi.Output<string>;
  readonly volumeName: pulumi.Output<string>;
  /** "qcow2" (or "raw" for a raw image passed through unconverted). */
  readonly format: pulumi.Output<"qcow2" | "raw">;
  readonly virtualSizeBytes: pulumi.Output<number>;
  /** Bytes the volume takes in the pool, as libvirt reports them. */
  readonly allocatedBytes: pulumi.Output<number>;
  /** The source links that make up the volume, top first. */
  readonly chain: pulumi.Output<ChainLink[]>;
  /** One line per source file: what a change of decides a reconversion. */
  readonly sourceFingerprint: pulumi.Output<Record<string, string>>;
  /**
   * `{ pool, volumeName }` for a domain's disk, known only once the volume
   * exists: a domain planned in the same update as its volume is not checked
   * against a volume that is still to be made.
   */
  readonly ref: pulumi.Output<{ pool: string; volumeName: string }>;
  /**
   * With `rootAccess`: the guest's SSH host key ("ssh-ed25519 AAAA…"), read
   * from the new volume, for a known_hosts line. Else undefined.
   */
  readonly hostKey: pulumi.Output<string | undefined>;

  constructor(name: string, args: ConvertedVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nestlab:volume:ConvertedVolume", name, {}, opts);
    checkKnownArgs(name, args, this);
    const host = hostInputs(args.host);
    const childOpts = childOptions(this, opts);
    const pool = args.createPool
      ? new StoragePoolResource(
          `${name}-pool`,
          { ...host, pool: args.pool, path: args.createPool.path },
          childOpts,
        )
      : undefined;
    const volume = new ConvertedVolumeResource(
      name,
      {
        ...host,
        resourceName: name,
        source: args.source,
        pool: args.pool,
        volumeName: args.volumeName,
        mode: args.mode,
        compression: args.compression,
        clusterSizeKiB: args.clusterSizeKiB,
        preallocation: args.preallocation,
        compat: args.compat,
        virtualSizeGiB: args.virtualSizeGiB,
        convert: args.convert,
        ovaDisk: args.ovaDisk,
        onSourceChange: args.onSourceChange,
        sourceFormat: args.sourceFormat,
        rootAccess: args.rootAccess,
      },
      { ...childOpts, dependsOn: pool ? [pool] : [] },
    );
    this.path = volume.path;
    this.pool = volume.pool;
    this.volumeName = volume.volumeName;
    this.format = volume.format;
    this.virtualSizeBytes = volume.virtualSizeBytes;
    this.allocatedBytes = volume.allocatedBytes;
    this.chain = volume.chain;
    this.sourceFingerprint = volume.sourceFingerprint;
    this.hostKey = volume.hostKey;
    this.ref = pulumi
      .all([volume.pool, volume.volumeName, volume.path])
      .apply(([pool, volumeName]) => ({ pool, volumeName }));
    this.registerOutputs({
      path: this.path,
      pool: this.pool,
      volumeName: this.volumeName,
      format: this.format,
      virtualSizeBytes: this.virtualSizeBytes,
      allocatedBytes: this.allocatedBytes,
      chain: this.chain,
    });
  }
}

/**
 * Validates the arguments that are plain values now (the provider's check
 * validates the rest once known), so a typo fails before the engine starts work.
 */
function checkKnownArgs(name: string, args: ConvertedVolumeArgs, resource: pulumi.Resource): void {
  // The arguments: the replacing properties but the fingerprint, which check() adds, onSourceChange
  // and sourceFormat (the format it pins is in the fingerprint).
  const keys = [
    ...REPLACING_PROPERTIES.filter((k) => k !== "sourceFingerprint"),
    "onSourceChange",
    "sourceFormat",
  ] as const;
  validateKnown(resource, args, (known) => {
    const values = Object.fromEntries(keys.map((k) => [k, known[k]]));
    // The volume's checks relate its arguments to each other: they run once all are known.
    if (!hasUnknown(values)) validateVolumeArgs(values);
    if (values.volumeName === undefined) defaultVolumeName(name, "qcow2");
    const access = known.rootAccess as { authorizedKey?: unknown } | undefined;
    if (access !== undefined && !hasUnknown(access)) validateRootAccess(access);
    const pool = known.createPool as { path?: unknown } | undefined;
    if (pool !== undefined && !isUnknown(pool) && !isUnknown(pool.path))
      validatePoolPath(pool.path);
  });
}

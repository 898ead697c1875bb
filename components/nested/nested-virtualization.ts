import * as pulumi from "@pulumi/pulumi";
import { childOptions, HostResource } from "../host/host-resource";
import { validateKnown } from "../core/known";
import { isUnknown } from "../core/unknown";
import { hostInputs } from "../host/host-inputs";
import { HostConnection } from "../host/connection";
import { NestedMode, validateMode, validateRestoreOnDelete } from "./args";
import { CpuVendor, KvmModule } from "../libvirt/cpu";
import { ModuleState } from "./kernel-module";
import type { NestedInputs } from "./provider";
import type { ResourceInputs } from "../host/provider";

export interface NestedVirtualizationArgs {
  /**
   * The KVM host: this machine, or a remote one over SSH. The same
   * connection the other components of the lab use.
   * @default - this machine, libvirt at "qemu:///system"
   */
  readonly host?: pulumi.Input<HostConnection>;
  /**
   * - `"enable"`: nested on now (reloading kvm_intel/kvm_amd if needed, never
   *   while guests run) and after reboot;
   * - `"persist"`: write the persistent setting only (modprobe.d); it takes
   *   effect at the next module load or reboot, `pendingReboot` says so;
   * - `"check"`: change nothing; fail unless guests on the host can use
   *   nested KVM now (for a host that is not yours);
   * - `"disable"`: nested off now and after reboot.
   */
  readonly mode: pulumi.Input<NestedMode>;
  /**
   * On destroy, also put the live value back to what it was before the
   * resource existed (reloads the module; refused while guests run). The
   * modprobe.d file is restored either way.
   * @default false
   */
  readonly restoreOnDelete?: pulumi.Input<boolean>;
}

/** A value for every input the provider is given (renaming one breaks the compile here). */
type NestedResourceInputs = ResourceInputs<NestedInputs>;

/** The host's nested setting as a custom resource (provider.ts). */
class NestedVirtualizationResource extends HostResource {
  declare readonly vendor: pulumi.Output<CpuVendor>;
  declare readonly module: pulumi.Output<KvmModule | null>;
  declare readonly moduleState: pulumi.Output<ModuleState>;
  declare readonly nested: pulumi.Output<boolean>;
  declare readonly persisted: pulumi.Output<boolean | null>;
  declare readonly nestedAfterReboot: pulumi.Output<boolean | null>;
  declare readonly pendingReboot: pulumi.Output<boolean>;
  declare readonly cmdlineNested: pulumi.Output<boolean | null>;
  declare readonly modprobeFile: pulumi.Output<string | null>;
  declare readonly settings: pulumi.Output<string[]>;
  declare readonly conflicts: pulumi.Output<string[]>;
  declare readonly runningGuests: pulumi.Output<number>;
  declare readonly guests: pulumi.Output<string[]>;
  declare readonly notes: pulumi.Output<string[]>;

  constructor(name: string, props: NestedResourceInputs, opts?: pulumi.CustomResourceOptions) {
    super(
      "NestedVirtualization",
      require.resolve("./provider"),
      name,
      {
        ...props,
        vendor: undefined,
        cpuVendorId: undefined,
        module: undefined,
        moduleState: undefined,
        moduleAvailable: undefined,
        kernelRelease: undefined,
        nested: undefined,
        persisted: undefined,
        nestedAfterReboot: undefined,
        pendingReboot: undefined,
        cmdlineNested: undefined,
        modprobeFile: undefined,
        settings: undefined,
        conflicts: undefined,
        runningGuests: undefined,
        guests: undefined,
        notes: undefined,
      },
      opts,
    );
  }
}

/**
 * KVM's nested virtualization on a host, as a resource: detected (CPU vendor,
 * kvm_intel/kvm_amd loaded or built in, the live value, modprobe.d and the
 * kernel command line, running guests), previewed, enforced safely and
 * persisted in /etc/modprobe.d/nestlab-kvm.conf.
 *
 * ```ts
 * const nested = new NestedVirtualization("host-nested", { mode: "enable" });
 * export const nestedOn = nested.nested; // true
 * ```
 */
export class NestedVirtualization extends pulumi.ComponentResource {
  /** "intel" (vmx), "amd" (svm) or "none" (no hardware virtualization: guests run under TCG). */
  readonly vendor: pulumi.Output<CpuVendor>;
  /** "kvm_intel", "kvm_amd", or null without vmx/svm. */
  readonly module: pulumi.Output<KvmModule | null>;
  readonly moduleState: pulumi.Output<ModuleState>;
  /** The live value of /sys/module/<module>/parameters/nested. */
  readonly nested: pulumi.Output<boolean>;
  /** What modprobe.d and the kernel command line say; null when nothing sets it (the default applies). */
  readonly persisted: pulumi.Output<boolean | null>;
  /** The value after the next module load or reboot. */
  readonly nestedAfterReboot: pulumi.Output<boolean | null>;
  /** The live value differs from the one after the next load or reboot. */
  readonly pendingReboot: pulumi.Output<boolean>;
  /** What the kernel command line sets (kvm_intel.nested=…), null when nothing. */
  readonly cmdlineNested: pulumi.Output<boolean | null>;
  /** The modprobe.d file this resource manages, when it holds the setting. */
  readonly modprobeFile: pulumi.Output<string | null>;
  /** Every place that sets nested, in the order modprobe applies them. */
  readonly settings: pulumi.Output<string[]>;
  /** Settings outside this resource's file that contradict the mode. */
  readonly conflicts: pulumi.Output<string[]>;
  /** Running guests (libvirt domains and processes holding /dev/kvm). */
  readonly runningGuests: pulumi.Output<number>;
  readonly guests: pulumi.Output<string[]>;
  /** Sentences for the user: why nested KVM is unavailable, what is pending. */
  readonly notes: pulumi.Output<string[]>;

  constructor(
    name: string,
    args: NestedVirtualizationArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("nestlab:nested:NestedVirtualization", name, {}, opts);
    // Plain values are checked now; Outputs in the provider's check().
    validateKnown(this, args, (known) => {
      if (!isUnknown(known.mode)) validateMode(known.mode);
      if (!isUnknown(known.restoreOnDelete)) validateRestoreOnDelete(known.restoreOnDelete);
    });
    const resource = new NestedVirtualizationResource(
      name,
      {
        ...hostInputs(args.host),
        mode: args.mode,
        restoreOnDelete: args.restoreOnDelete ?? false,
      },
      childOptions(this, opts),
    );
    this.vendor = resource.vendor;
    this.module = resource.module;
    this.moduleState = resource.moduleState;
    this.nested = resource.nested;
    this.persisted = resource.persisted;
    this.nestedAfterReboot = resource.nestedAfterReboot;
    this.pendingReboot = resource.pendingReboot;
    this.cmdlineNested = resource.cmdlineNested;
    this.modprobeFile = resource.modprobeFile;
    this.settings = resource.settings;
    this.conflicts = resource.conflicts;
    this.runningGuests = resource.runningGuests;
    this.guests = resource.guests;
    this.notes = resource.notes;
    this.registerOutputs({
      vendor: this.vendor,
      module: this.module,
      moduleState: this.moduleState,
      nested: this.nested,
      persisted: this.persisted,
      nestedAfterReboot: this.nestedAfterReboot,
      pendingReboot: this.pendingReboot,
      cmdlineNested: this.cmdlineNested,
      modprobeFile: this.modprobeFile,
      settings: this.settings,
      conflicts: this.conflicts,
      runningGuests: this.runningGuests,
      guests: this.guests,
      notes: this.notes,
    });
  }
}

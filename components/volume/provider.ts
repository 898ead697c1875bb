import { PreconditionError } from "../core/errors";
import { requireTools } from "../host/tools";
import { virsh } from "../libvirt/virsh";
import { checkFailures } from "../host/check-failures";
import { GONE, HostProvider } from "../host/provider";
import { HostSpec } from "../host/connection";
import { HostAccess } from "../host/access";
import { withHost } from "../host/index";
import { PlainVolumeArgs, validateVolumeArgs, VolumeOptions } from "./args";
import { ChainLink, parseImageInfo } from "./chain";
import { hasUnknown } from "../core/unknown";
import { changedSourceFiles, diffVolume } from "./diff";
import { SourceImageError } from "./errors";
import { fingerprintChanges, unseenRewrites } from "./fingerprint";
import { inspectSource } from "./inspect";
import { partialFileName } from "./libvirt-xml";
import {
  fileId,
  openFilePool,
  poolState,
  removeLeftoversLocked,
  requireNoOverlays,
  requireUnused,
  volumeFacts,
} from "./pool-ops";
import { planVolume } from "./plan";
import { requiredBytes, showBytes, writeImage } from "./write-image";
import { RootAccess, validateRootAccess } from "./guest-access";
import { prepareRootAccess } from "./guest-access-ops";
import { isRecordedFile } from "./volume-file";

/** What the ConvertedVolume resource hands its provider. */
export interface ConvertedVolumeInputs extends PlainVolumeArgs {
  readonly host: HostSpec;
  readonly sshPrivateKey?: string;
  /** The Pulumi name of the resource: the default volume name is `<resourceName>.qcow2`. */
  readonly resourceName: string;
  /** Filled in by check(): one line per source file, its content key (see fingerprint.ts). */
  readonly sourceFingerprint?: Record<string, string>;
  /** Filled in by check(): one line per source file, where it is and when it was written. */
  readonly sourceIdentity?: Record<string, string>;
  /** Root's SSH key written into the new volume before it is put in place (guest-access.ts). */
  readonly rootAccess?: RootAccess;
}

export interface ConvertedVolumeOutputs extends ConvertedVolumeInputs {
  readonly volumeName: string;
  readonly path: string;
  readonly format: "qcow2" | "raw";
  readonly virtualSizeBytes: number;
  readonly allocatedBytes: number;
  readonly chain: ChainLink[];
  /** What the volume was made from: it stays until the volume is made again. */
  readonly sourceFingerprint: Record<string, string>;
  /** The volume's file (see volume-file.ts): delete and refresh act only on the file this resource made. */
  readonly fileId: string;
  /** Older states: the volume file's inode alone. */
  readonly inode?: string;
  /** With rootAccess: the guest's SSH host key, "type base64", to pin. */
  readonly hostKey?: string;
  /** With rootAccess: the image's file it was read from, or "generated" (the image had none). */
  readonly hostKeySource?: string;
}

/** Lines to the provider's stderr, which the engine shows in `pulumi up`. */
function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

export const provider: HostProvider<ConvertedVolumeInputs, ConvertedVolumeOutputs> = {
  /**
   * Validates the arguments and inspects the source on the host (metadata
   * only), so a bad source fails the preview. Adds the resolved volumeName
   * and the source's fingerprint to the inputs: a changed source shows as a
   * change of `sourceFingerprint`, naming the file.
   */
  async check(olds, news) {
    const inputs = news as ConvertedVolumeInputs;
    if (hasUnknown(inputs)) return { inputs: news };
    let options: VolumeOptions;
    let access: RootAccess | undefined;
    try {
      options = validateVolumeArgs(inputs);
      access = validateRootAccess(inputs.rootAccess);
    } catch (e) {
      return { inputs: news, failures: checkFailures(e) };
    }
    try {
      return await withHost(inputs.host, inputs.sshPrivateKey, async (host) => {
        await requireTools(host, access ? ["qemu-img", "guestfish"] : ["qemu-img"]);
        const source = await inspectSource(host, options, { verifyManifest: false });
        const plan = planVolume(options, source, inputs.resourceName);
        const before = olds as Partial<ConvertedVolumeInputs>;
        for (const file of unseenRewrites(before, source)) {
          say(
            `ConvertedVolume ${inputs.resourceName}: ${file} was written since the last look (its mtime changed), ` +
              `but its size, header and allocation map did not: a qcow2 or raw image rewritten in place shows nothing else, ` +
              `so the volume is kept. If its content did change, make the volume again: pulumi up --replace <the ConvertedVolume's URN>.`,
          );
        }
        return {
          inputs: {
            ...news,
            volumeName: plan.volumeName,
            sourceFingerprint: source.fingerprint,
            sourceIdentity: source.identity,
          },
        };
      });
    } catch (e) {
      return { inputs: news, failures: checkFailures(e, [[SourceImageError, "source"]]) };
    }
  },

  async diff(_id, olds, news) {
    const result = diffVolume(olds, news);
    const changed = changedSourceFiles(olds, news);
    if (news.onSourceChange === "keep" && changed.length > 0) {
      say(
        `ConvertedVolume ${String(news.resourceName)}: ${changed.join(", ")} changed since the volume was made; ` +
          `the volume is kept as it is (onSourceChange: "keep").`,
      );
    }
    return result;
  },

  /**
   * Inspects the source again (and checks an OVA's manifest), checks the
   * pool, the name and the free space, converts under a hidden temporary
   * name in the pool's folder, makes it durable, links it into place and
   * registers it (pool-refresh). If anything fails, nothing is left behind.
   */
  async create(raw) {
    const inputs = raw as ConvertedVolumeInputs;
    const options = validateVolumeArgs(inputs);
    const rootAccess = validateRootAccess(inputs.rootAccess);
    const uri = inputs.host.libvirtUri;
    return withHost(inputs.host, inputs.sshPrivateKey, async (host) => {
      await requireTools(
        host,
        rootAccess ? ["qemu-img", "virsh", "guestfish"] : ["qemu-img", "virsh"],
      );
      const source = await inspectSource(host, options, { verifyManifest: true });
      const plan = planVolume(options, source, inputs.resourceName);
      const pool = await openFilePool(host, uri, options.pool, plan.volumeName);
      const finalPath = `${pool.path}/${plan.volumeName}`;
      if (
        (await volumeFacts(host, uri, options.pool, plan.volumeName)) ||
        (await fileId(host, finalPath))
      ) {
        throw new PreconditionError(
          `volumeName: "${plan.volumeName}" already exists in pool "${options.pool}" (${finalPath}), and this stack ` +
            `did not create it (or no longer tracks it, e.g. kept by retainOnDelete). ConvertedVolume never overwrites a volume: ` +
            `choose another volumeName, or delete the old volume (virsh vol-delete --pool ${options.pool} ${plan.volumeName}) if it is not needed.`,
        );
      }
      const needed = await requiredBytes(host, options, source, plan);
      if (needed > pool.availableBytes) {
        throw new PreconditionError(
          `pool "${options.pool}" (${pool.path}) has ${showBytes(pool.availableBytes)} free on ${host.label}, but the volume made ` +
            `from ${options.source} needs up to ${showBytes(needed)} (${plan.action === "convert" ? "qemu-img measure" : "the source's allocated size"}). ` +
            `Free space there, or choose another pool.`,
        );
      }
      const tmp = `${pool.path}/${partialFileName(plan.volumeName, `${process.pid}-${Date.now().toString(36)}`)}`;
      const label = `ConvertedVolume ${inputs.resourceName}: ${options.source} -> ${options.pool}/${plan.volumeName}`;
      const started = Date.now();
      let linked = false;
      try {
        await writeImage({ host, options, source, plan, tmp, label, say });
        const after = await inspectSource(host, options, { verifyManifest: false });
        // Written to or replaced meanwhile, even with the same content key: the copy may be torn.
        const changed = [
          ...new Set([
            ...fingerprintChanges(source.fingerprint, after.fingerprint),
            ...fingerprintChanges(source.identity, after.identity),
          ]),
        ].sort();
        if (changed.length > 0) {
          throw new PreconditionError(
            `source: ${changed.join(", ")} changed while it was being read; the copy may be torn and was discarded. ` +
              `Stop whatever writes to the source, then run again.`,
          );
        }
        // On the copy, before its name appears: a failed preparation leaves no volume.
        const prepared =
          rootAccess && (await prepare(host, tmp, plan.outputFormat, rootAccess, label));
        const [made] = parseImageInfo(
          (await host.run(["qemu-img", "info", "--output=json", "-f", plan.outputFormat, tmp]))
            .stdout,
        );
        if (made.virtualSizeBytes !== plan.virtualSizeBytes) {
          throw new PreconditionError(
            `the new volume ${tmp} has a virtual size of ${made.virtualSizeBytes} bytes, not ${plan.virtualSizeBytes}: discarded.`,
          );
        }
        // Data on disk before the name appears: a crash never leaves a half-written volume under the final name.
        await host.run(["sync", "--", tmp]);
        if (!pool.lock.isHeld()) {
          throw new PreconditionError(
            `volumeName: the lock on "${plan.volumeName}" in ${pool.path} ended while the volume was written (its holder was killed?): ` +
              `another run may have written the same name meanwhile, so the copy was discarded. Run again.`,
          );
        }
        // A hard link fails if the name was taken meanwhile: never overwrite.
        await host.run(["ln", "-T", "--", tmp, finalPath]);
        linked = true;
        await host.run(["rm", "-f", "--", tmp]);
        await host.run(["sync", "--", pool.path]);
        // The name is published: release it (its lock file goes) before libvirt lists the folder.
        await pool.lock.release();
        await host.run(virsh(uri, "pool-refresh", options.pool));
        const vol = await volumeFacts(host, uri, options.pool, plan.volumeName);
        if (
          !vol ||
          vol.capacityBytes !== plan.virtualSizeBytes ||
          vol.format !== plan.outputFormat
        ) {
          throw new PreconditionError(
            `libvirt does not list ${finalPath} as a ${plan.outputFormat} volume of ${plan.virtualSizeBytes} bytes after pool-refresh ` +
              `(it says ${vol ? `${vol.format}, ${vol.capacityBytes} bytes` : "nothing"}): removed it again.`,
          );
        }
        say(
          `${label}: done in ${Math.round((Date.now() - started) / 1000)} s, ${showBytes(vol.allocationBytes)} on disk.`,
        );
        const outs: ConvertedVolumeOutputs = {
          ...inputs,
          volumeName: plan.volumeName,
          path: finalPath,
          format: plan.outputFormat,
          virtualSizeBytes: vol.capacityBytes,
          allocatedBytes: vol.allocationBytes,
          chain: [...source.chain],
          sourceFingerprint: { ...source.fingerprint },
          sourceIdentity: { ...source.identity },
          fileId: (await fileId(host, finalPath)) ?? "",
          ...(prepared && { hostKey: prepared.hostKey, hostKeySource: prepared.hostKeySource }),
        };
        return { id: finalPath, outs };
      } catch (e) {
        await host.run(["rm", "-f", "--", tmp], { allowFailure: true });
        if (linked) await host.run(["rm", "-f", "--", finalPath], { allowFailure: true });
        await pool.lock.release();
        await host.run(virsh(uri, "pool-refresh", options.pool), { allowFailure: true });
        throw e;
      }
    });
  },

  /** Refresh: the volume's sizes as libvirt sees them; gone when its file is gone or replaced. */
  async read(id, props) {
    const state = props as ConvertedVolumeOutputs;
    return withHost(state.host, state.sshPrivateKey, async (host) => {
      const now = await fileId(host, state.path);
      if (now === undefined || !isRecordedFile(state, now)) return GONE;
      const uri = state.host.libvirtUri;
      if ((await poolState(host, uri, String(state.pool))) === "running") {
        await host.run(virsh(uri, "pool-refresh", String(state.pool)));
        const vol = await volumeFacts(host, uri, String(state.pool), state.volumeName);
        if (vol)
          return {
            id,
            props: {
              ...state,
              virtualSizeBytes: vol.capacityBytes,
              allocatedBytes: vol.allocationBytes,
            },
          };
      }
      return { id, props: state };
    });
  },

  /**
   * Only a new way to reach the host (SSH user, port, key) or a new
   * onSourceChange is an update; the volume, and what it was made from, stay.
   */
  async update(_id, olds, news) {
    const n = news as ConvertedVolumeInputs;
    return {
      outs: {
        ...olds,
        host: n.host,
        sshPrivateKey: n.sshPrivateKey,
        onSourceChange: n.onSourceChange,
      },
    };
  },

  /**
   * Deletes the volume this resource made, and nothing else: not the source,
   * not a file that replaced the volume since (another device, inode or
   * birth time), never a file a process holds open (a running guest's
   * disk). Already gone is success. Never called for a resource with
   * retainOnDelete.
   */
  async delete(_id, props) {
    const state = props as ConvertedVolumeOutputs;
    const uri = state.host.libvirtUri;
    const pool = String(state.pool);
    await withHost(state.host, state.sshPrivateKey, async (host) => {
      const now = await fileId(host, state.path);
      const poolRunning = (await poolState(host, uri, pool)) === "running";
      if (now !== undefined && !isRecordedFile(state, now)) {
        say(
          `ConvertedVolume ${state.resourceName}: ${state.path} is not the volume this stack made (another file took its name): left in place.`,
        );
      } else if (now !== undefined) {
        await requireUnused(host, uri, state.path, "deleting");
        if (poolRunning) {
          // An overlay of it (a lab's disk) would be unreadable without it.
          await requireNoOverlays(host, uri, pool, state.path, "deleting");
          await host.run(virsh(uri, "pool-refresh", pool));
          if (await volumeFacts(host, uri, pool, state.volumeName)) {
            await host.run(virsh(uri, "vol-delete", "--pool", pool, state.volumeName));
          } else {
            await host.run(["rm", "-f", "--", state.path]);
          }
        } else {
          await host.run(["rm", "-f", "--", state.path]);
        }
      }
      const folder = state.path.replace(/\/[^/]*$/, "");
      if (!(await removeLeftoversLocked(host, pool, folder, state.volumeName))) {
        say(
          `ConvertedVolume ${state.resourceName}: another conversion is writing ${state.volumeName} into ${folder}: its files are left alone.`,
        );
      }
      if (poolRunning) await host.run(virsh(uri, "pool-refresh", pool));
    });
  },
};

/** Root's SSH access prepared on the new file; says what it did and what it cost. */
async function prepare(
  host: HostAccess,
  tmp: string,
  format: "qcow2" | "raw",
  access: RootAccess,
  label: string,
): Promise<{ hostKey: string; hostKeySource: string }> {
  const started = Date.now();
  say(`${label}: writing root's SSH key into the new volume (libguestfs)`);
  const plan = await prepareRootAccess(host, tmp, format, access);
  say(
    `${label}: root's SSH key written in ${Math.round((Date.now() - started) / 1000)} s; host key ` +
      (plan.hostKeySource === "generated"
        ? "generated and written (the image had none)"
        : `read from ${plan.hostKeySource}`) +
      (plan.selinux ? "; SELinux labels set" : ""),
  );
  return { hostKey: plan.hostKey, hostKeySource: plan.hostKeySource };
}

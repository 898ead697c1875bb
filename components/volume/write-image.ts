import { CommandError } from "../core/errors";
import { HostAccess } from "../host/access";
import { VolumeOptions } from "./args";
import {
  convertArgv,
  ConvertTuning,
  createTargetArgv,
  DEFAULT_TUNING,
  ioUringRefused,
  measureArgv,
  parseMeasure,
} from "./convert-argv";
import { InspectedSource, VolumePlan } from "./plan";
import { ProgressThrottle } from "./progress";
import { checkMadeCopy } from "./source-files";

// Writing a new volume's bytes into its hidden temporary file, and the space it needs:
// what create() runs between checking the pool and publishing the name.

const DAY_MS = 24 * 3600 * 1000;

/** One volume being written: where from, where to, how. */
export interface WriteJob {
  readonly host: HostAccess;
  readonly options: VolumeOptions;
  readonly source: InspectedSource;
  readonly plan: VolumePlan;
  /** The hidden temporary file in the pool's folder. */
  readonly tmp: string;
  /** Prefix of every line shown in `pulumi up`. */
  readonly label: string;
  /** Shows a line in `pulumi up`. */
  readonly say: (line: string) => void;
}

/** Writes the new image to `tmp`: a conversion (with progress lines) or a plain copy. */
export async function writeImage(job: WriteJob): Promise<void> {
  const { host, source, plan, tmp, label, say } = job;
  switch (plan.action) {
    case "convert": {
      say(`${label}: converting ${source.chain.length} link(s) of ${source.inputFormat} to qcow2`);
      try {
        await convertInto(job, DEFAULT_TUNING);
      } catch (e) {
        if (!(e instanceof CommandError && ioUringRefused(e.stderr))) throw e;
        // Refused when QEMU opens the target, before any data is written.
        say(`${label}: ${host.label} gives QEMU no io_uring; converting with its worker threads`);
        await host.run(["rm", "-f", "--", tmp]);
        await convertInto(job, { ...DEFAULT_TUNING, aio: "threads" });
      }
      return;
    }
    case "copy":
      say(`${label}: copying the ${source.inputFormat} image as it is (pass-through)`);
      await host.run(["cp", "--sparse=always", "--", source.open[0].file, tmp], {
        timeoutMs: DAY_MS,
      });
      // What was copied is what was checked: a qcow2 that names no other file.
      await checkMadeCopy(host, tmp, plan.outputFormat);
      return;
    default: {
      const never: never = plan.action;
      throw new Error(`unknown action ${String(never)}`);
    }
  }
}

/** Creates the empty qcow2 at the volume's final size, then converts the source into it. */
async function convertInto(
  { host, options, source, plan, tmp, label, say }: WriteJob,
  tuning: ConvertTuning,
): Promise<void> {
  await host.run(createTargetArgv({ ...options, output: tmp }, plan.virtualSizeBytes));
  const progress = new ProgressThrottle(label, say);
  await host.run(
    convertArgv({
      links: source.open,
      output: tmp,
      compression: options.compression,
      progress: true,
      tuning,
    }),
    { timeoutMs: DAY_MS, onOutputLine: (line) => progress.line(line) },
  );
}

/** The most the new volume can take: qemu-img measure for a conversion, the allocated size for a copy. */
export async function requiredBytes(
  host: HostAccess,
  options: VolumeOptions,
  source: InspectedSource,
  plan: VolumePlan,
): Promise<number> {
  switch (plan.action) {
    case "copy":
      return source.chain.reduce((sum, l) => sum + l.allocatedBytes, 0);
    case "convert": {
      const measured = parseMeasure(
        (await host.run(measureArgv({ ...options, links: source.open }))).stdout,
      );
      const grows =
        plan.resizeToBytes !== undefined &&
        (options.preallocation === "falloc" || options.preallocation === "full");
      return (
        measured.requiredBytes +
        (grows ? plan.virtualSizeBytes - source.selected[0].virtualSizeBytes : 0)
      );
    }
    default: {
      const never: never = plan.action;
      throw new Error(`unknown action ${String(never)}`);
    }
  }
}

/** "1310720000 bytes (1.22 GiB)": exact, and readable. */
export function showBytes(bytes: number): string {
  const [unit, div] = bytes >= 1024 ** 3 ? ["GiB", 1024 ** 3] : ["MiB", 1024 ** 2];
  return `${bytes} bytes (${(bytes / div).toFixed(2)} ${unit})`;
}

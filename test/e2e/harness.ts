import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";

/** The project root: the e2e tests run the real program in it. */
export const PROJECT_DIR = path.resolve(__dirname, "../..");

export interface ThrowawayStack {
  /** The stack, run from the program folder it was last moved to. */
  readonly stack: Stack;
  /**
   * Runs the same stack (same backend) from another program folder from now on,
   * as a second clone of the project would. The stack's settings file
   * (Pulumi.<stack>.yaml) must be there already, as a committed one would be.
   */
  moveTo(workDir: string): Promise<Stack>;
  /** Removes the stack's resources (if any are left) and its temporary backend. */
  dispose(): Promise<void>;
}

export type ConfigValues = Record<string, string | { value: string; secret: true }>;

/**
 * A stack in a temporary file backend, run by the engine that `npm test`
 * provides (scripts/setup/env.sh sets NESTLAB_ENGINE_ROOT). Fails, never
 * skips, when the engine is missing.
 */
export async function throwawayStack(options: {
  workDir?: string;
  stackName?: string;
  config?: ConfigValues;
}): Promise<ThrowawayStack> {
  const root = process.env.NESTLAB_ENGINE_ROOT;
  if (!root) {
    throw new Error(
      "NESTLAB_ENGINE_ROOT is not set: run the e2e tests through `npm test` (scripts/test.sh), which provides the Pulumi engine",
    );
  }
  const pulumiCommand = await PulumiCommand.get({ root, skipVersionCheck: true });
  const backend = await fs.mkdtemp(path.join(os.tmpdir(), "nestlab-e2e-state-"));
  const pulumiHome = path.join(backend, ".pulumi-home");
  await fs.mkdir(pulumiHome);
  const stackName = options.stackName ?? `e2e-${process.pid}-${Date.now().toString(36)}`;
  const workspace = {
    pulumiCommand,
    pulumiHome,
    envVars: {
      PULUMI_BACKEND_URL: `file://${backend}`,
      PULUMI_CONFIG_PASSPHRASE: "e2e",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    },
  };
  let stack = await LocalWorkspace.createOrSelectStack(
    { stackName, workDir: options.workDir ?? PROJECT_DIR },
    workspace,
  );
  for (const [key, v] of Object.entries(options.config ?? {})) {
    await stack.setConfig(key, typeof v === "string" ? { value: v } : v);
  }
  return {
    get stack() {
      return stack;
    },
    async moveTo(workDir) {
      stack = await LocalWorkspace.selectStack({ stackName, workDir }, workspace);
      return stack;
    },
    async dispose() {
      try {
        await stack.destroy({ onOutput: () => undefined });
        await stack.workspace.removeStack(stackName);
      } finally {
        await fs.rm(backend, { recursive: true, force: true });
      }
    },
  };
}

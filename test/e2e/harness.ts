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
  /**
   * The same stack as another person sees it: another workspace (a Pulumi
   * home of its own) on the same backend, e.g. for two `up`s at once.
   */
  another(): Promise<Stack>;
  /** Removes the stack's resources (if any are left) and its temporary backend (or, on a given backend, the stack). */
  dispose(): Promise<void>;
}

export type ConfigValues = Record<string, string | { value: string; secret: true }>;

/**
 * A stack in a temporary file backend, or on `backend` (e.g. an S3 bucket:
 * its URL and the variables its credentials are read from), run by the
 * engine that `npm test` provides (scripts/setup/env.sh sets
 * NESTLAB_ENGINE_ROOT). Fails, never skips, when the engine is missing.
 */
export async function throwawayStack(options: {
  workDir?: string;
  stackName?: string;
  config?: ConfigValues;
  backend?: { readonly url: string; readonly env?: Readonly<Record<string, string>> };
}): Promise<ThrowawayStack> {
  const root = process.env.NESTLAB_ENGINE_ROOT;
  if (!root) {
    throw new Error(
      "NESTLAB_ENGINE_ROOT is not set: run the e2e tests through `npm test` (scripts/test.sh), which provides the Pulumi engine",
    );
  }
  const pulumiCommand = await PulumiCommand.get({ root, skipVersionCheck: true });
  // The temporary folder holds the file backend (unless one is given) and the Pulumi homes.
  const backend = await fs.mkdtemp(path.join(os.tmpdir(), "nestlab-e2e-state-"));
  const pulumiHome = path.join(backend, ".pulumi-home");
  await fs.mkdir(pulumiHome);
  const stackName = options.stackName ?? `e2e-${process.pid}-${Date.now().toString(36)}`;
  const envVars = {
    ...options.backend?.env,
    PULUMI_BACKEND_URL: options.backend?.url ?? `file://${backend}`,
    PULUMI_CONFIG_PASSPHRASE: "e2e",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
  const workspace = { pulumiCommand, pulumiHome, envVars };
  let others = 0;
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
    async another() {
      const home = path.join(backend, `.pulumi-home-${++others}`);
      await fs.mkdir(home);
      return LocalWorkspace.selectStack(
        { stackName, workDir: stack.workspace.workDir },
        { ...workspace, pulumiHome: home },
      );
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

/**
 * The parts of `pulumi preview --json` that the review reads: the engine's
 * preview digest (steps with their old and new state, diagnostics). Pure:
 * no Pulumi SDK, no processes.
 */

/** One resource's state as the digest serializes it (secrets already shown as "[secret]"). */
export interface ResourceState {
  readonly urn: string;
  readonly type: string;
  readonly custom?: boolean;
  readonly parent?: string;
  readonly dependencies?: readonly string[];
  readonly inputs?: Readonly<Record<string, unknown>>;
  readonly outputs?: Readonly<Record<string, unknown>>;
}

/** One step the engine plans: `op` is create, update, replace, delete, same, … */
export interface PreviewStep {
  readonly op: string;
  readonly urn: string;
  readonly oldState?: ResourceState;
  readonly newState?: ResourceState;
  /** Top-level inputs that differ (the engine compares the plain values, secrets included). */
  readonly diffReasons?: readonly string[];
  /** Inputs that force the replacement. */
  readonly replaceReasons?: readonly string[];
}

export interface PreviewDiagnostic {
  readonly urn?: string;
  readonly message?: string;
  readonly severity?: string;
}

export interface PreviewDigest {
  readonly steps: readonly PreviewStep[];
  readonly diagnostics: readonly PreviewDiagnostic[];
}

/** Reads the digest; refuses anything else with what was expected. */
export function parsePreview(text: string): PreviewDigest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `The preview output is not JSON (${(e as Error).message}); expected the output of \`pulumi preview --json\`: ${text.slice(0, 200)}`,
    );
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error("The preview output is not a JSON object; expected `pulumi preview --json`.");
  }
  const digest = raw as { steps?: unknown; diagnostics?: unknown };
  const steps = digest.steps ?? [];
  const diagnostics = digest.diagnostics ?? [];
  if (!Array.isArray(steps) || steps.some((s) => !isStep(s))) {
    throw new Error(
      "The preview output's `steps` is not a list of steps { op, urn }; expected `pulumi preview --json`.",
    );
  }
  if (!Array.isArray(diagnostics)) {
    throw new Error("The preview output's `diagnostics` is not a list.");
  }
  return { steps: steps as PreviewStep[], diagnostics: diagnostics as PreviewDiagnostic[] };
}

function isStep(s: unknown): boolean {
  return (
    s !== null &&
    typeof s === "object" &&
    typeof (s as PreviewStep).op === "string" &&
    typeof (s as PreviewStep).urn === "string"
  );
}

/** The parts of a URN: `urn:pulumi:<stack>::<project>::<parent types $ type>::<name>`. */
export interface UrnParts {
  readonly stack: string;
  readonly project: string;
  /** The resource's type last, its parents' types before it. */
  readonly types: readonly string[];
  readonly name: string;
}

export function parseUrn(urn: string): UrnParts {
  const parts = urn.split("::");
  if (parts.length < 4 || !parts[0].startsWith("urn:pulumi:")) {
    throw new Error(`Not a Pulumi URN: ${JSON.stringify(urn)}`);
  }
  return {
    stack: parts[0].slice("urn:pulumi:".length),
    project: parts[1],
    types: parts[2].split("$"),
    name: parts.slice(3).join("::"),
  };
}

/** The error messages of a failed preview, in the order the engine gave them. */
export function previewErrors(digest: PreviewDigest): string[] {
  return digest.diagnostics
    .filter((d) => d.severity === "error" && d.message)
    .map((d) => d.message!.trim());
}

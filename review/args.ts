import { InvalidArgumentError } from "../components/core/errors";
import { Impact } from "./facts";
import { parseFailOn } from "./gate";

/** `npm run review -- [--stack <name>] [--out <file>] [--json <file>] [--fail-on <classes>] [--preview <file>]` */
export interface ReviewArgs {
  /** @default "dev" */
  readonly stack: string;
  /** Where the Markdown goes. @default - standard output */
  readonly out?: string;
  /** Where the facts go as JSON. @default - not written */
  readonly json?: string;
  readonly failOn: readonly Impact[];
  /** Review a saved `pulumi preview --json` instead of running the preview. */
  readonly preview?: string;
}

export const USAGE =
  "usage: npm run review -- [--stack <name>] [--out <file.md>] [--json <file.json>] [--fail-on <class,...>] [--preview <preview.json>]";

const VALUE_FLAGS = ["--stack", "--out", "--json", "--fail-on", "--preview"] as const;

export function parseReviewArgs(argv: readonly string[]): ReviewArgs {
  const values: Partial<Record<(typeof VALUE_FLAGS)[number], string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const flag = (eq > 0 ? arg.slice(0, eq) : arg) as (typeof VALUE_FLAGS)[number];
    if (!VALUE_FLAGS.includes(flag)) {
      throw new InvalidArgumentError(
        "arguments",
        arg,
        `one of ${VALUE_FLAGS.join(", ")}; ${USAGE}`,
      );
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === "" || (eq < 0 && value.startsWith("--"))) {
      throw new InvalidArgumentError(flag, value, `a value after ${flag}; ${USAGE}`);
    }
    values[flag] = value;
  }
  return {
    stack: values["--stack"] ?? "dev",
    out: values["--out"],
    json: values["--json"],
    failOn: values["--fail-on"] === undefined ? [] : parseFailOn(values["--fail-on"]),
    preview: values["--preview"],
  };
}

/**
 * The engine's preview as JSON, every resource included (`--show-sames`: the
 * lab machines inside a classroom host that restarts are named even when
 * they do not change themselves).
 */
export function previewArgv(stack: string): string[] {
  return ["preview", "--json", "--show-sames", "--non-interactive", "--stack", stack];
}

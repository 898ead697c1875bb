import { InvalidArgumentError } from "../components/core/errors";
import { Impact, IMPACTS, ReviewFacts } from "./facts";

/** `--fail-on replace,delete` → the impact classes; refuses an unknown one, naming the allowed. */
export function parseFailOn(value: string): Impact[] {
  const classes = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const bad = classes.filter((c) => !IMPACTS.includes(c as Impact));
  if (classes.length === 0 || bad.length > 0) {
    throw new InvalidArgumentError(
      "--fail-on",
      value,
      `a comma-separated list of impact classes: ${IMPACTS.join(", ")} (e.g. --fail-on replace,delete)`,
    );
  }
  return [...new Set(classes as Impact[])];
}

/**
 * Why the gate fails, naming each resource that caused it, or undefined when
 * it passes. A failed preview always fails the gate: nothing is known.
 */
export function gateFailure(facts: ReviewFacts, failOn: readonly Impact[]): string | undefined {
  if (facts.errors.length > 0) return `the preview of stack ${facts.stack} failed`;
  const hits = facts.rows.filter((r) => failOn.includes(r.impact));
  if (hits.length === 0) return undefined;
  return `--fail-on ${failOn.join(",")}: ${hits.map((r) => `${r.resource} (${r.impact})`).join(", ")}`;
}

import { reviewFacts, ReviewFacts } from "./facts";
import { renderMarkdown } from "./markdown";
import { parsePreview } from "./preview";

export { gateFailure, parseFailOn } from "./gate";
export type { Impact, ReviewFacts, Row, Consequence } from "./facts";

/** A preview's JSON text → the facts and the comment. `stack` names it when the preview has no steps. */
export function review(
  previewJson: string,
  stack: string,
): { facts: ReviewFacts; markdown: string } {
  const facts = reviewFacts(parsePreview(previewJson), stack);
  return { facts, markdown: renderMarkdown(facts) };
}

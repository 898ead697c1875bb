/**
 * The domain's `updatePlan`, as its provider writes it into the preview:
 * "restart: cpu, vnc; live: memoryMiB" or "replace: domainName". An entry may
 * carry its reason in parentheses ("disks (disk replaced: …)").
 */

export type PlanKind = "live" | "restart" | "replace";

export interface PlanEntry {
  readonly property: string;
  readonly reason?: string;
}

export type ParsedPlan = Readonly<Record<PlanKind, readonly PlanEntry[]>>;

/** Undefined when the text is not a plan (absent, unknown, or another shape). */
export function parseUpdatePlan(text: unknown): ParsedPlan | undefined {
  if (typeof text !== "string" || text.trim() === "") return undefined;
  const plan: Record<PlanKind, PlanEntry[]> = { replace: [], restart: [], live: [] };
  for (const segment of splitTopLevel(text, ";")) {
    const m = /^(live|restart|replace):\s*(.*)$/s.exec(segment.trim());
    if (!m) return undefined;
    for (const item of splitTopLevel(m[2], ",")) {
      const entry = /^([^\s(]+)\s*(?:\((.*)\))?$/s.exec(item.trim());
      if (!entry) return undefined;
      plan[m[1] as PlanKind].push(
        entry[2] === undefined ? { property: entry[1] } : { property: entry[1], reason: entry[2] },
      );
    }
  }
  return plan;
}

/** Splits on `sep` outside parentheses. */
function splitTopLevel(text: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth = Math.max(0, depth - 1);
    else if (c === sep && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.filter((s) => s.trim() !== "");
}

import { ConsequenceKind, Impact, IMPACTS, ReviewFacts } from "./facts";
import { NONE } from "./values";

/**
 * The review as a pull-request comment. Deterministic: the same facts give
 * byte-identical Markdown (no time, no durations, stable order), so a CI job
 * can update one comment, found by its last line (commentMarker).
 */

const CONSEQUENCE_TITLES: Readonly<Record<ConsequenceKind, string>> = {
  "state-lost": "State lost",
  downtime: "Downtime",
  host: "Host changed",
  exposed: "Reachable from outside 127.0.0.1",
  conversion: "Conversion",
};
const CONSEQUENCE_ORDER = Object.keys(CONSEQUENCE_TITLES) as ConsequenceKind[];

/** Longer values are cut (the comment stays readable; the JSON facts have them whole). */
const MAX_VALUE = 120;

/** The comment's last line: what a CI job looks for to update its comment. */
export function commentMarker(stack: string): string {
  return `<!-- nestlab-review stack=${stack.replace(/--/g, "- -")} -->`;
}

export function summaryLine(facts: ReviewFacts): string {
  const total = facts.rows.length;
  const stack = `stack ${code(facts.stack)}`;
  if (facts.errors.length > 0) return `**The preview of ${stack} failed.**`;
  if (total === 0) return `**No changes** to ${stack}.`;
  const counts = IMPACTS.filter((k) => facts.counts[k] > 0).map(
    (k: Impact) => `${facts.counts[k]} ${k}`,
  );
  return `**${total} change${total === 1 ? "" : "s"}** to ${stack}: ${counts.join(", ")}.`;
}

export function renderMarkdown(facts: ReviewFacts): string {
  const lines: string[] = [summaryLine(facts), ""];
  if (facts.errors.length > 0) {
    for (const e of facts.errors) lines.push("```", e, "```", "");
  }
  if (facts.rows.length > 0) {
    const a = facts.answers;
    const yn = (v: boolean) => (v ? "**yes**" : "no");
    lines.push(
      `Loses data: ${yn(a.losesData)} · Downtime: ${yn(a.downtime)} · Touches the host: ${yn(a.touchesHost)} · Opens a port: ${yn(a.opensPort)}`,
      "",
      "| Resource | Action | Impact | Why |",
      "| --- | --- | --- | --- |",
    );
    for (const r of facts.rows) {
      const resource = r.name ? `${r.noun} ${code(r.name)}` : r.noun;
      lines.push(`| ${cell(resource)} | ${r.action} | ${r.impact} | ${cell(r.detail)} |`);
    }
    lines.push("");
  }
  if (facts.consequences.length > 0) {
    lines.push("#### Consequences", "");
    for (const kind of CONSEQUENCE_ORDER) {
      for (const c of facts.consequences.filter((x) => x.kind === kind)) {
        lines.push(`- **${CONSEQUENCE_TITLES[kind]}**: ${oneLine(c.text)}`);
      }
    }
    lines.push("");
  }
  if (facts.properties.length > 0) {
    lines.push("<details><summary>Property changes</summary>", "");
    for (const p of facts.properties) {
      lines.push(`**${oneLine(p.resource)}**${p.action === "create" ? " (new)" : ""}`, "");
      for (const s of p.source) lines.push(`- ${oneLine(s)}`);
      for (const ch of p.changes) {
        lines.push(
          p.action === "create" && ch.from === NONE
            ? `- ${code(ch.path)}: ${value(ch.to)}`
            : `- ${code(ch.path)}: ${value(ch.from)} → ${value(ch.to)}`,
        );
      }
      lines.push("");
    }
    lines.push("</details>", "");
  }
  lines.push(commentMarker(facts.stack));
  return lines.join("\n") + "\n";
}

/** Inline code that survives backticks inside. */
function code(text: string): string {
  const t = oneLine(text);
  return t.includes("`") ? `\`\` ${t} \`\`` : `\`${t}\``;
}

function cell(text: string): string {
  return oneLine(text).replace(/\|/g, "\\|");
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ");
}

function value(text: string): string {
  const t = text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
  return code(t);
}

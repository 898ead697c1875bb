import { promises as fs } from "fs";
import * as path from "path";

/** Where the review e2e writes the previews it runs, to refresh test/unit/review/previews/. */
export const RECORD_DIR_ENV = "NESTLAB_REVIEW_RECORD";

/** What varies from run to run or names this machine: left out of a recording. */
const VOLATILE = new Set(["stackTrace", "sourcePosition", "created", "modified", "duration"]);

/**
 * A preview digest made fit to keep in the repository: stack traces, times
 * and the serialized provider (which holds this checkout's path) left out,
 * and each `[from, to]` replaced everywhere (stack, names, folders).
 */
export function sanitizePreview(
  text: string,
  replace: readonly (readonly [string, string])[],
): string {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) {
      if (VOLATILE.has(k)) continue;
      out[k] = k === "__provider" ? "[serialized provider]" : walk(e);
    }
    return out;
  };
  let json = JSON.stringify(walk(JSON.parse(text)), null, 2);
  for (const [from, to] of [...replace].sort((a, b) => b[0].length - a[0].length)) {
    json = json.split(from).join(to);
  }
  return json + "\n";
}

/** Writes the preview as `<case>.json` when NESTLAB_REVIEW_RECORD names a folder. */
export async function recordPreview(
  name: string,
  text: string,
  replace: readonly (readonly [string, string])[],
): Promise<void> {
  const dir = process.env[RECORD_DIR_ENV];
  if (!dir) return;
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, `${name}.json`), sanitizePreview(text, replace));
}

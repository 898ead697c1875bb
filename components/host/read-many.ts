import { randomBytes } from "crypto";
import { HostAccess } from "./access";
import { assertNever } from "../core/checks";

/**
 * Reading many small files in one command: one SSH round trip instead of
 * dozens (sysfs, /proc and modprobe.d are many tiny files), and no burst of
 * parallel sessions, which SSH servers cap (OpenSSH MaxSessions, dropbear)
 * and refuse with a bare exit 255.
 *
 * The script prints, for each path, a header line `<nonce> <kind> <path>`
 * after a newline, then the file's bytes or the folder's names:
 * F file, D folder, M missing, E unreadable. The nonce is random, so no file
 * content can fake a header; the newline before each header is not part of
 * the content, so content comes back byte for byte.
 */
export const READ_MANY_SCRIPT = [
  "n=$1; r=$2; shift 2",
  'for p in "$@"; do',
  '  f="$r$p"',
  '  if [ -d "$f" ]; then printf "\\n%s D %s\\n" "$n" "$p"; ls -1A "$f" 2>/dev/null',
  '  elif [ -e "$f" ]; then',
  '    if [ -r "$f" ]; then printf "\\n%s F %s\\n" "$n" "$p"; cat "$f" 2>/dev/null; else printf "\\n%s E %s\\n" "$n" "$p"; fi',
  '  else printf "\\n%s M %s\\n" "$n" "$p"; fi',
  "done",
  'printf "\\n%s END\\n" "$n"',
].join("\n");

export type HostEntry =
  | { readonly kind: "file"; readonly content: string }
  | { readonly kind: "dir"; readonly names: readonly string[] }
  | { readonly kind: "missing" }
  | { readonly kind: "unreadable" };

/** Parses READ_MANY_SCRIPT's output. Throws when it was cut short (no END line). */
export function parseReadMany(output: string, nonce: string): Map<string, HostEntry> {
  const entries = new Map<string, HostEntry>();
  const marker = `\n${nonce} `;
  const parts = output.split(marker);
  if (parts[parts.length - 1] !== "END\n") {
    throw new Error("the file listing from the host was cut short");
  }
  for (const part of parts.slice(1, -1)) {
    const eol = part.indexOf("\n");
    const header = eol < 0 ? part : part.slice(0, eol);
    const body = eol < 0 ? "" : part.slice(eol + 1);
    const kind = header.slice(0, 1);
    const path = header.slice(2);
    switch (kind) {
      case "F":
        entries.set(path, { kind: "file", content: body });
        break;
      case "D":
        entries.set(path, { kind: "dir", names: body.split("\n").filter(Boolean).sort() });
        break;
      case "M":
        entries.set(path, { kind: "missing" });
        break;
      case "E":
        entries.set(path, { kind: "unreadable" });
        break;
      default:
        throw new Error(`unexpected line in the file listing from the host: ${header}`);
    }
  }
  return entries;
}

/** Files and folders read in one command; `rootDir` prefixes every path as HostAccess does. */
export class HostSnapshot {
  constructor(
    private readonly entries: ReadonlyMap<string, HostEntry>,
    private readonly label: string,
  ) {}

  static async read(
    host: HostAccess,
    rootDir: string,
    paths: readonly string[],
  ): Promise<HostSnapshot> {
    const nonce = `NESTLAB-${randomBytes(8).toString("hex")}`;
    const r = await host.run(["sh", "-c", READ_MANY_SCRIPT, "sh", nonce, rootDir, ...paths]);
    return new HostSnapshot(parseReadMany(r.stdout, nonce), host.label);
  }

  /** The file's text; undefined when it (or the folder) does not exist. Throws when it cannot be read. */
  file(path: string): string | undefined {
    const e = this.entries.get(path);
    switch (e?.kind) {
      case undefined:
      case "missing":
      case "dir":
        return undefined;
      case "file":
        return e.content;
      case "unreadable":
        throw new Error(
          `${path} on ${this.label} cannot be read (permission denied): run as root.`,
        );
      default:
        return assertNever(e);
    }
  }

  /** The names in a folder, sorted; empty when it does not exist. */
  names(path: string): readonly string[] {
    const e = this.entries.get(path);
    return e?.kind === "dir" ? e.names : [];
  }
}

/**
 * Errors users see. Each names what is wrong and how to fix it; none of them
 * is thrown after anything was changed unless it says so.
 */

/** A bad argument: names the argument, shows the value and what is allowed. */
export class InvalidArgumentError extends Error {
  constructor(
    readonly argument: string,
    value: unknown,
    allowed: string,
  ) {
    super(`${argument}: ${showValue(value)} is not valid; expected ${allowed}.`);
    this.name = "InvalidArgumentError";
  }
}

/** A command on the host failed; carries its argv and the end of its stderr. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    host: string,
    hint?: string,
  ) {
    const tail = lastLines(stderr, 12);
    super(
      `\`${argv.join(" ")}\` on ${host} ${exitCode === undefined ? "did not finish" : `exited with ${exitCode}`}` +
        (tail ? `:\n${tail}` : "") +
        (hint ? `\n${hint}` : ""),
    );
    this.name = "CommandError";
  }
}

/** A program the project needs is not installed on the host. */
export class MissingToolError extends Error {
  constructor(tool: string, host: string, install: string) {
    super(`${tool} was not found on ${host}: ${install}.`);
    this.name = "MissingToolError";
  }
}

/** The host is not in a state this step can act on; nothing was changed. */
export class PreconditionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PreconditionError";
  }
}

export function showValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined) return "(nothing)";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function lastLines(text: string, count: number): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}

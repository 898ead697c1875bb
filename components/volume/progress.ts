/** The percentage in a `qemu-img convert -p` line ("    (42.17/100%)"), if it is one. */
export function parseProgressLine(line: string): number | undefined {
  const m = /\((\d+(?:\.\d+)?)\/100%\)/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/**
 * Turns qemu-img's stream of progress updates (hundreds per conversion) into
 * a line every `intervalMs` at most, plus the first and the last: a long
 * conversion shows it is alive without flooding `pulumi up`.
 */
export class ProgressThrottle {
  private lastAt: number | undefined;
  private lastPercent = -1;

  constructor(
    private readonly label: string,
    private readonly emit: (line: string) => void,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = 5000,
    private readonly startedAt = now(),
  ) {}

  /** Feeds one output line of qemu-img; lines that are no progress are ignored. */
  line(line: string): void {
    const percent = parseProgressLine(line);
    if (percent === undefined || percent === this.lastPercent) return;
    const t = this.now();
    const due = this.lastAt === undefined || t - this.lastAt >= this.intervalMs || percent >= 100;
    if (!due) return;
    this.lastAt = t;
    this.lastPercent = percent;
    this.emit(
      `${this.label}: ${Math.floor(percent)}% after ${Math.round((t - this.startedAt) / 1000)} s`,
    );
  }
}

import { parseProgressLine, ProgressThrottle } from "../../../components/volume/progress";

describe("progress", () => {
  it("reads qemu-img -p's percentage", () => {
    expect(parseProgressLine("    (42.17/100%)")).toBe(42.17);
    expect(parseProgressLine("    (100.00/100%)")).toBe(100);
    expect(parseProgressLine("qemu-img: warning")).toBeUndefined();
  });

  it("reports the first update, then at most one line per interval, and always 100%", () => {
    let t = 1000;
    const lines: string[] = [];
    const p = new ProgressThrottle(
      "ConvertedVolume c",
      (l) => lines.push(l),
      () => t,
      5000,
      1000,
    );
    for (let pct = 0; pct <= 100; pct += 0.5) {
      p.line(`    (${pct.toFixed(2)}/100%)`);
      t += 100; // 200 updates over 20 s
    }
    expect(lines).toEqual([
      "ConvertedVolume c: 0% after 0 s",
      "ConvertedVolume c: 25% after 5 s",
      "ConvertedVolume c: 50% after 10 s",
      "ConvertedVolume c: 75% after 15 s",
      "ConvertedVolume c: 100% after 20 s",
    ]);
  });
});

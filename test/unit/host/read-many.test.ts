import { parseReadMany } from "../../../components/host/read-many";

const N = "NESTLAB-0123456789abcdef";

describe("parseReadMany", () => {
  test("gives every file back byte for byte, folders as sorted names, and missing or unreadable paths", () => {
    const output =
      `\n${N} F /proc/cmdline\nro quiet\n` +
      `\n${N} F /no-newline\nabc` +
      `\n${N} F /empty\n` +
      `\n${N} F /two-newlines\nx\n\n` +
      `\n${N} D /etc/modprobe.d\nkvm.conf\n.hidden\na.conf\n` +
      `\n${N} D /empty-dir\n` +
      `\n${N} M /sys/module/kvm_intel\n` +
      `\n${N} E /root/secret\n` +
      `\n${N} END\n`;
    expect([...parseReadMany(output, N)]).toEqual([
      ["/proc/cmdline", { kind: "file", content: "ro quiet\n" }],
      ["/no-newline", { kind: "file", content: "abc" }],
      ["/empty", { kind: "file", content: "" }],
      ["/two-newlines", { kind: "file", content: "x\n\n" }],
      ["/etc/modprobe.d", { kind: "dir", names: [".hidden", "a.conf", "kvm.conf"] }],
      ["/empty-dir", { kind: "dir", names: [] }],
      ["/sys/module/kvm_intel", { kind: "missing" }],
      ["/root/secret", { kind: "unreadable" }],
    ]);
  });

  test("a file that contains a header with another nonce stays content", () => {
    const output = `\n${N} F /f\nNESTLAB-ffff F /g\n\n${N} END\n`;
    expect(parseReadMany(output, N).get("/f")).toEqual({
      kind: "file",
      content: "NESTLAB-ffff F /g\n",
    });
  });

  test.each([
    ["cut short", `\n${N} F /f\nabc`, "the file listing from the host was cut short"],
    ["empty", "", "the file listing from the host was cut short"],
    [
      "unknown kind",
      `\n${N} X /f\n\n${N} END\n`,
      "unexpected line in the file listing from the host: X /f",
    ],
  ])("refuses output that is %s", (_name, output, message) => {
    expect(() => parseReadMany(output, N)).toThrow(message);
  });
});

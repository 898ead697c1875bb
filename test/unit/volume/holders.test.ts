import { describeHolders, parseFileHolders } from "../../../components/volume/holders";
import { isRecordedFile } from "../../../components/volume/volume-file";

const hex = (s: string) => Buffer.from(s).toString("hex");
const libvirtQemu = [
  "/usr/bin/qemu-system-x86_64",
  "-name",
  "guest=jiaoshiji,debug-threads=on",
  "-S",
].join("\0");
const handQemu = ["qemu-system-x86_64", "-name", "classroom", "-S"].join("\0");

describe("the processes that hold a file", () => {
  it("reads the script's records, in pid order", () => {
    const out =
      `pid 4242\ncomm ${hex("qemu-system-x86\n")}\ncmdline ${hex(libvirtQemu)}\nend\n` +
      `pid 17\ncomm ${hex("less\n")}\ncmdline ${hex("less\0/srv/x.qcow2\0")}\nend\n`;
    expect(parseFileHolders(out)).toEqual([
      { pid: 17, comm: "less", cmdline: "less\0/srv/x.qcow2\0" },
      { pid: 4242, comm: "qemu-system-x86", cmdline: libvirtQemu },
    ]);
    expect(parseFileHolders("")).toEqual([]);
  });

  it("refuses output it does not understand", () => {
    expect(() => parseFileHolders("pid 1\nbogus\n")).toThrow(
      "unexpected line in the list of processes holding a file: bogus",
    );
  });

  it("names a libvirt domain by its name, a QEMU started by hand by its -name and pid, anything else by program and pid", () => {
    expect(
      describeHolders(
        [
          { pid: 4242, comm: "qemu-system-x86", cmdline: libvirtQemu },
          { pid: 5151, comm: "qemu-system-x86", cmdline: handQemu },
          { pid: 17, comm: "less", cmdline: "less\0/srv/x.qcow2\0" },
          { pid: 18, comm: "", cmdline: "" },
        ],
        ["jiaoshiji", "other"],
      ),
    ).toEqual([
      'the libvirt domain "jiaoshiji" (qemu-system-x86, pid 4242)',
      'the QEMU guest "classroom" started outside libvirt (pid 5151)',
      "less (pid 17)",
      "a process (pid 18)",
    ]);
  });
});

describe("which file a volume is", () => {
  it("compares device, inode and birth time; an older state's inode alone", () => {
    expect(isRecordedFile({ fileId: "65024:12:1795.5" }, "65024:12:1795.5")).toBe(true);
    // The same inode number, reused by a file made later: not ours.
    expect(isRecordedFile({ fileId: "65024:12:1795.5" }, "65024:12:1900.1")).toBe(false);
    expect(isRecordedFile({ fileId: "65024:12:1795.5" }, "2049:12:1795.5")).toBe(false);
    expect(isRecordedFile({ inode: "12" }, "65024:12:1795.5")).toBe(true);
    expect(isRecordedFile({ inode: "13" }, "65024:12:1795.5")).toBe(false);
    expect(isRecordedFile({}, "65024:12:1795.5")).toBe(false);
  });
});

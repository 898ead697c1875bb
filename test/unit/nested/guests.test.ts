import { describeGuests, isKvmTarget, parseKvmHolders } from "../../../components/nested/guests";
import { qemuGuestName } from "../../../components/libvirt/qemu-process";
import { parseVirshNames } from "../../../components/libvirt/virsh";

// GNU ls: files first (/dev/null), then a header per folder.
const GNU_LS = `crw-rw-rw- 1 root root 1, 3 Nov 22 06:14 /dev/null

1/fd:
total 0
lrwx------ 1 root root 64 Nov 25 12:00 0 -> /dev/null
lrwx------ 1 root root 64 Nov 25 12:00 1 -> socket:[1234]

812/fd:
total 0
lr-x------ 1 root root 64 Nov 25 12:00 0 -> /dev/null
lrwx------ 1 root root 64 Nov 25 12:00 10 -> /dev/kvm
lrwx------ 1 root root 64 Nov 25 12:00 11 -> anon_inode:kvm-vm
lrwx------ 1 root root 64 Nov 25 12:00 12 -> anon_inode:kvm-vcpu:0

95/fd:
total 0
lrwx------ 1 root root 64 Nov 25 12:00 4 -> anon_inode:kvm-vm
`;

// busybox ls: same shape, different columns.
const BUSYBOX_LS = `crw-rw-rw-    1 root     root        1,   3 Jan  1 00:00 /dev/null

130/fd:
lrwx------    1 root     root            64 Jan  1 00:01 0 -> /dev/console
lrwx------    1 root     root            64 Jan  1 00:01 3 -> /dev/kvm

7/fd:
lrwx------    1 root     root            64 Jan  1 00:01 0 -> /dev/console
`;

describe("isKvmTarget", () => {
  test.each([
    ["/dev/kvm", true],
    ["anon_inode:kvm-vm", true],
    ["anon_inode:kvm-vcpu:3", true],
    ["anon_inode:[eventfd]", false],
    ["/dev/kvmfoo", false],
    ["/dev/null", false],
  ])("%s → %s", (target, expected) => expect(isKvmTarget(target)).toBe(expected));
});

describe("parseKvmHolders", () => {
  test.each([
    ["GNU ls", GNU_LS, [95, 812]],
    ["busybox ls", BUSYBOX_LS, [130]],
    ["no process holds KVM", "1/fd:\nlrwx------ 1 root root 64 Nov 25 12:00 0 -> /dev/null\n", []],
    ["nothing listed", "", []],
  ])("%s", (_name, output, pids) => expect(parseKvmHolders(output)).toEqual(pids));

  test("reads pids from headers with a root prefix", () => {
    expect(parseKvmHolders("/tmp/tree/proc/42/fd:\nl 1 r r 64 x 3 -> /dev/kvm\n")).toEqual([42]);
  });
});

describe("qemuGuestName", () => {
  test.each([
    [
      "libvirt's -name",
      "/usr/bin/qemu-system-x86_64\0-name\0guest=classroom,debug-threads=on\0-S\0",
      "classroom",
    ],
    ["plain -name", "qemu-kvm\0-m\x004096\0-name\0jiaoshiji\0-vnc\0:20\0", "jiaoshiji"],
    ["a comma doubled in the name", "qemu\0-name\0guest=a,,b,debug-threads=on\0", "a,b"],
    ["no -name", "qemu-kvm\0-m\x004096\0-drive\0file=jiaoshiji.qcow2\0", undefined],
    ["-name last", "qemu\0-name\0", undefined],
  ])("%s", (_name, cmdline, expected) => expect(qemuGuestName(cmdline)).toBe(expected));
});

describe("parseVirshNames", () => {
  test("one name per line, blank lines dropped", () => {
    expect(parseVirshNames("classroom\nserver\n\n")).toEqual(["classroom", "server"]);
    expect(parseVirshNames("\n")).toEqual([]);
  });
});

describe("describeGuests", () => {
  test("counts a libvirt domain's QEMU once, names hand-started QEMUs and other holders by pid", () => {
    expect(
      describeGuests(
        ["server", "classroom"],
        [
          {
            pid: 812,
            comm: "qemu-system-x86\n",
            cmdline: "qemu\0-name\0guest=classroom,debug-threads=on\0",
          },
          { pid: 900, comm: "qemu-kvm\n", cmdline: "qemu-kvm\0-name\0jiaoshiji\0" },
          { pid: 130, comm: "kvm-holder\n", cmdline: "/bin/kvm-holder\0" },
          { pid: 131, comm: undefined, cmdline: undefined },
        ],
      ),
    ).toEqual([
      "classroom",
      "jiaoshiji (qemu-kvm, pid 900)",
      "kvm-holder (pid 130)",
      "server",
      "unknown program (pid 131)",
    ]);
  });
});

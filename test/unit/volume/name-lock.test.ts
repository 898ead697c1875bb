import { lockFileName, nameLockArgv, NAME_LOCK_SCRIPT } from "../../../components/volume/name-lock";
import { leftoversOf, partialFileName } from "../../../components/volume/libvirt-xml";

describe("the volume name lock", () => {
  it("is a hidden file beside the volume, never taken for one of its leftovers", () => {
    expect(lockFileName("classroom.qcow2")).toBe(".classroom.qcow2.nestlab-lock");
    const names = [
      lockFileName("classroom.qcow2"),
      partialFileName("classroom.qcow2", "1-a"),
      "classroom.qcow2",
    ];
    expect(leftoversOf(names, "classroom.qcow2")).toEqual([".classroom.qcow2.nestlab-partial-1-a"]);
  });

  it("runs a fixed script with the lock file and the wait as its arguments", () => {
    expect(nameLockArgv("/var/lib/libvirt/images/my pool", "a.qcow2", 10)).toEqual([
      "sh",
      "-c",
      NAME_LOCK_SCRIPT,
      "sh",
      "/var/lib/libvirt/images/my pool/.a.qcow2.nestlab-lock",
      "10",
    ]);
  });
});

import {
  asksForConversion,
  validatePoolPath,
  validateVolumeArgs,
} from "../../../components/volume/args";

const ok = { source: "/srv/vmware/RHEL7_Server-000002.vmdk", pool: "default" };

describe("validateVolumeArgs", () => {
  it("applies the defaults: flatten, no compression, no forced conversion", () => {
    expect(validateVolumeArgs(ok)).toEqual({
      source: "/srv/vmware/RHEL7_Server-000002.vmdk",
      pool: "default",
      volumeName: undefined,
      mode: "flatten",
      compression: false,
      clusterSizeKiB: undefined,
      preallocation: undefined,
      compat: undefined,
      virtualSizeGiB: undefined,
      convert: false,
      ovaDisk: undefined,
      onSourceChange: "replace",
    });
  });

  it("accepts paths with spaces, quotes and $(…): they travel as argv, never through a shell", () => {
    expect(validateVolumeArgs({ ...ok, source: `/srv/it's a "disk" $(reboot).vmdk` }).source).toBe(
      `/srv/it's a "disk" $(reboot).vmdk`,
    );
  });

  it.each([
    [
      { source: "disk.vmdk" },
      'source: "disk.vmdk" is not valid; expected the absolute path of a .vmdk, .ova, qcow2 or raw image on the libvirt host.',
    ],
    [
      { source: "/srv/../etc/shadow" },
      'source: "/srv/../etc/shadow" is not valid; expected a normalised absolute path to a file (no `.` or `..` parts, no trailing slash).',
    ],
    [
      { pool: "my pool" },
      'pool: "my pool" is not valid; expected the name of a libvirt storage pool (letters, digits, _ . + -, not starting with . or -), as `virsh pool-list --all` shows it.',
    ],
    [
      { volumeName: "../x.qcow2" },
      'volumeName: "../x.qcow2" is not valid; expected a file name for the volume (letters, digits, _ . + -, not starting with . or -), e.g. "classroom.qcow2".',
    ],
    [
      { volumeName: ".hidden" },
      'volumeName: ".hidden" is not valid; expected a file name for the volume (letters, digits, _ . + -, not starting with . or -), e.g. "classroom.qcow2".',
    ],
    [{ mode: "top" }, 'mode: "top" is not valid; expected one of "flatten", "base".'],
    [
      { clusterSizeKiB: 3 },
      "clusterSizeKiB: 3 is not valid; expected a power of two from 1 to 2048 (qcow2 clusters are 512 bytes to 2 MiB; QEMU's default is 64).",
    ],
    [
      { clusterSizeKiB: 4096 },
      "clusterSizeKiB: 4096 is not valid; expected a power of two from 1 to 2048 (qcow2 clusters are 512 bytes to 2 MiB; QEMU's default is 64).",
    ],
    [
      { preallocation: "thick" },
      'preallocation: "thick" is not valid; expected one of "off", "metadata", "falloc", "full".',
    ],
    [{ compat: "2" }, 'compat: "2" is not valid; expected one of "0.10", "1.1".'],
    [
      { virtualSizeGiB: 1.5 },
      "virtualSizeGiB: 1.5 is not valid; expected a whole number of GiB, 1 or more, at least the source's virtual size.",
    ],
    [
      { compression: true, preallocation: "full" },
      'preallocation: "full" is not valid; expected "off" (or nothing) when compression is true: compressed clusters cannot be preallocated.',
    ],
    [
      { onSourceChange: "ignore" },
      'onSourceChange: "ignore" is not valid; expected one of "replace", "keep".',
    ],
    [
      { ovaDisk: "" },
      'ovaDisk: "" is not valid; expected the OVF disk id (e.g. "vmdisk2") or file name (e.g. "disk2.vmdk") of one disk in the OVA.',
    ],
  ])("refuses %j with an exact message", (bad, message) => {
    expect(() => validateVolumeArgs({ ...ok, ...bad })).toThrow(message);
  });

  it("names the argument with the caller's prefix", () => {
    expect(() => validateVolumeArgs({ ...ok, mode: "x" }, "classroomDisk.")).toThrow(
      'classroomDisk.mode: "x" is not valid',
    );
  });
});

describe("asksForConversion", () => {
  it("is false by default and true for convert or any option that shapes the qcow2", () => {
    expect(asksForConversion(validateVolumeArgs(ok))).toBe(false);
    expect(asksForConversion(validateVolumeArgs({ ...ok, convert: true }))).toBe(true);
    expect(asksForConversion(validateVolumeArgs({ ...ok, clusterSizeKiB: 2048 }))).toBe(true);
    expect(asksForConversion(validateVolumeArgs({ ...ok, virtualSizeGiB: 300 }))).toBe(true);
  });
});

describe("validatePoolPath", () => {
  it("takes an absolute folder and drops a trailing slash", () => {
    expect(validatePoolPath("/var/lib/libvirt/images/lab/")).toBe("/var/lib/libvirt/images/lab");
  });
  it("refuses relative paths and the root", () => {
    expect(() => validatePoolPath("images")).toThrow(
      'createPool.path: "images" is not valid; expected the absolute path of the folder that holds the pool\'s volumes, e.g. "/var/lib/libvirt/images/lab".',
    );
    expect(() => validatePoolPath("/")).toThrow('createPool.path: "/" is not valid');
  });
});

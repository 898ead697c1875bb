import {
  bytes,
  describeSourceChanges,
  parseFingerprintLine,
  sourceBytes,
} from "../../../review/fingerprint";

const BASE = "/srv/rhel/RHEL7_Server.vmdk";
const TOP = "/srv/rhel/RHEL7_Server-000002.vmdk";
// The content key as components/volume/fingerprint.ts writes it, and its older form (with mtime, inode, dev).
const base =
  "size=1707081728 head=9c1d5e0b2a7f4c11 format=vmdk cid=3735928559 parentCid=4294967295";
const top = (cid: number, size = 90243072) =>
  `size=${size} head=0a1b2c3d4e5f6071 format=vmdk cid=${cid} parentCid=3735928559`;

test("parses the fields of a line", () => {
  expect(parseFingerprintLine(top(305419896))).toEqual({
    size: "90243072",
    head: "0a1b2c3d4e5f6071",
    format: "vmdk",
    cid: "305419896",
    parentCid: "3735928559",
  });
});

test("a new CID on the top of the chain reads as the file and its CIDs in hex, not the blob", () => {
  expect(
    describeSourceChanges(
      { [BASE]: base, [TOP]: top(305419896) },
      { [BASE]: base, [TOP]: top(2882400001) },
    ),
  ).toEqual(["source content changed: RHEL7_Server-000002.vmdk (CID 12345678 → abcdef01)"]);
});

test("size, header and unknown fields are named; values that mean nothing are not shown", () => {
  const before = { [TOP]: `${top(1, 1048576)} map=aaaa` };
  const after = {
    [TOP]: `${top(1, 3145728)} map=bbbb zz=1`.replace("head=0a1b2c3d4e5f6071", "head=ffff"),
  };
  expect(describeSourceChanges(before, after)).toEqual([
    "source content changed: RHEL7_Server-000002.vmdk (size 1 MiB → 3 MiB, header changed, allocation map changed)",
  ]);
});

test("a file added to or gone from the chain", () => {
  expect(describeSourceChanges({ [TOP]: top(1) }, { [TOP]: top(1), [BASE]: base })).toEqual([
    "source file added to the chain: RHEL7_Server.vmdk",
  ]);
  expect(describeSourceChanges({ [TOP]: top(1), [BASE]: base }, { [TOP]: top(1) })).toEqual([
    "source file no longer in the chain: RHEL7_Server.vmdk",
  ]);
});

test("the older form: a touched file says written to", () => {
  const old =
    "size=10 mtime=1700000000.000000000 inode=12 dev=2049 head=aa format=vmdk cid=1 parentCid=2";
  const cur =
    "size=10 mtime=1700000500.000000000 inode=12 dev=2049 head=aa format=vmdk cid=1 parentCid=2";
  expect(describeSourceChanges({ [TOP]: old }, { [TOP]: cur })).toEqual([
    "source content changed: RHEL7_Server-000002.vmdk (written to)",
  ]);
});

test("an OVA member keeps its name after the #", () => {
  const k = "/srv/ova/classroom.ova#disk1.vmdk";
  expect(describeSourceChanges({ [k]: "size=1 cid=1" }, { [k]: "size=1 cid=2" })).toEqual([
    "source content changed: classroom.ova#disk1.vmdk (CID 00000001 → 00000002)",
  ]);
});

test("what a conversion reads: the files' sizes", () => {
  expect(sourceBytes({ [BASE]: base, [TOP]: top(1) })).toBe(1707081728 + 90243072);
  expect(sourceBytes({ [TOP]: "head=aa" })).toBeUndefined();
  expect(bytes(1707081728 + 90243072)).toBe("1.7 GiB");
  expect(bytes(4096)).toBe("4 KiB");
  expect(bytes(512)).toBe("512 bytes");
});

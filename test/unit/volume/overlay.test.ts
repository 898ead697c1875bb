import {
  parseVolListPaths,
  parseVolumeXml,
  renderOverlayVolumeXml,
} from "../../../components/volume/libvirt-xml";
import {
  backingChangeProblem,
  diffOverlay,
  resetPlan,
  validateOverlayArgs,
} from "../../../components/volume/overlay";
import { UNKNOWN } from "../../../components/core/unknown";

const HOST = { libvirtUri: "qemu:///system", rootDir: "" };
const OLD = {
  host: HOST,
  pool: "lab",
  volumeName: "jiaoshiji-s07.qcow2",
  backingPath: "/pool/jiaoshiji-base.qcow2",
  backingFormat: "qcow2" as const,
  generation: 0,
  label: "lab of student s07",
};

describe("the overlay's volume XML", () => {
  test("a qcow2 on a backing store with its format pinned, byte for byte", () => {
    expect(
      renderOverlayVolumeXml({
        volumeName: "jiaoshiji-s07.qcow2",
        capacityBytes: 33554432,
        backingPath: "/pool/jiaoshiji-base.qcow2",
        backingFormat: "qcow2",
      }),
    ).toBe(
      [
        "<volume>",
        "  <name>jiaoshiji-s07.qcow2</name>",
        '  <capacity unit="bytes">33554432</capacity>',
        '  <allocation unit="bytes">0</allocation>',
        "  <target>",
        '    <format type="qcow2"/>',
        "  </target>",
        "  <backingStore>",
        "    <path>/pool/jiaoshiji-base.qcow2</path>",
        '    <format type="qcow2"/>',
        "  </backingStore>",
        "</volume>",
        "",
      ].join("\n"),
    );
  });

  test("vol-dumpxml's backing store is read back; a volume without one has none", () => {
    const xml = `<volume type='file'><name>s.qcow2</name><key>/p/s.qcow2</key>
      <capacity unit='bytes'>33554432</capacity><allocation unit='bytes'>200704</allocation>
      <target><path>/p/s.qcow2</path><format type='qcow2'/></target>
      <backingStore><path>/p/base.qcow2</path><format type='qcow2'/></backingStore></volume>`;
    expect(parseVolumeXml(xml)).toEqual({
      name: "s.qcow2",
      path: "/p/s.qcow2",
      format: "qcow2",
      capacityBytes: 33554432,
      allocationBytes: 200704,
      backingPath: "/p/base.qcow2",
    });
    expect(parseVolumeXml(xml.replace(/<backingStore>.*<\/backingStore>/s, ""))).not.toHaveProperty(
      "backingPath",
    );
  });

  test("vol-list rows give the paths, names with spaces too", () => {
    const out = [
      " base.qcow2        /var/lib/lab/base.qcow2",
      " my disk.qcow2     /var/lib/lab/my disk.qcow2",
      " s07.qcow2   /var/lib/lab/s07.qcow2   ",
      "",
    ].join("\n");
    expect(parseVolListPaths(out, "/var/lib/lab/")).toEqual([
      "/var/lib/lab/base.qcow2",
      "/var/lib/lab/my disk.qcow2",
      "/var/lib/lab/s07.qcow2",
    ]);
  });
});

describe("an overlay's changes", () => {
  test("a reset (generation) replaces it, old one first, and the preview says the lab's state is lost", () => {
    const news = { ...OLD, generation: 1 };
    expect(diffOverlay(OLD, news)).toEqual({
      changes: true,
      replaces: ["generation"],
      deleteBeforeReplace: true,
    });
    expect(resetPlan(OLD, news)).toBe(
      "replace: generation (lab of student s07 reset: its state is lost)",
    );
    expect(resetPlan(OLD, OLD)).toBeUndefined();
    expect(resetPlan({}, news)).toBeUndefined();
  });

  test("nothing changed is no change; a new label only an update", () => {
    expect(diffOverlay(OLD, { ...OLD })).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(diffOverlay(OLD, { ...OLD, label: "lab of s07" })).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  test("a base being made again (unknown) is no replacement: the base's delete refuses instead", () => {
    expect(diffOverlay(OLD, { ...OLD, backingPath: UNKNOWN })).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(backingChangeProblem(OLD, { ...OLD, backingPath: UNKNOWN })).toBeUndefined();
  });

  test("another base is refused unless the overlay is reset with it", () => {
    expect(backingChangeProblem(OLD, { ...OLD, backingPath: "/other/base.qcow2" })).toBe(
      "lab of student s07 rests on /pool/jiaoshiji-base.qcow2; it cannot move to /other/base.qcow2, since what was " +
        "written into it only makes sense on top of its own base. Reset it (raise generation) to make it anew on the " +
        'new base, which loses its state, or keep the base as it is (onSourceChange: "keep").',
    );
    expect(
      backingChangeProblem(OLD, { ...OLD, backingPath: "/other/base.qcow2", generation: 1 }),
    ).toBeUndefined();
    expect(
      diffOverlay(OLD, { ...OLD, backingPath: "/other/base.qcow2", generation: 1 }).replaces,
    ).toEqual(["generation", "backingPath"]);
  });

  test("another hypervisor makes it anew", () => {
    expect(
      diffOverlay(OLD, {
        ...OLD,
        host: { ...HOST, libvirtUri: "qemu+ssh://root@10.200.0.2/system" },
      }).replaces,
    ).toEqual(["host"]);
  });

  test.each([
    [
      { generation: -1 },
      "generation: -1 is not valid; expected a whole number from 0 to 9007199254740991.",
    ],
    [
      { backingFormat: "vmdk" },
      'backingFormat: "vmdk" is not valid; expected one of "qcow2", "raw".',
    ],
    [{ backingPath: "base.qcow2" }, 'backingPath: "base.qcow2" is not valid'],
    [{ volumeName: "../x.qcow2" }, 'volumeName: "../x.qcow2" is not valid'],
    [
      { label: " " },
      'label: " " is not valid; expected what the overlay is, e.g. "lab of student s07".',
    ],
  ])("refuses %j", (bad, message) => {
    expect(() => validateOverlayArgs({ ...OLD, ...bad } as never)).toThrow(message);
  });
});

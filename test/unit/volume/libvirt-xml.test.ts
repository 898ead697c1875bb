import {
  leftoversOf,
  parsePoolState,
  parsePoolXml,
  parseVolumeXml,
  partialFileName,
} from "../../../components/volume/libvirt-xml";

describe("libvirt XML", () => {
  it("reads a pool's type, folder and free bytes", () => {
    const xml = `<pool type='dir'>
  <name>nlt-volume-a</name>
  <capacity unit='bytes'>270553174016</capacity>
  <available unit='bytes'>251470184448</available>
  <target><path>/tmp/nlt-volume-a/pool</path></target>
</pool>`;
    expect(parsePoolXml(xml)).toEqual({
      name: "nlt-volume-a",
      type: "dir",
      path: "/tmp/nlt-volume-a/pool",
      availableBytes: 251470184448,
    });
  });

  it("reads a volume's path, format and sizes, converting units", () => {
    const xml = `<volume type='file'>
  <name>vis.qcow2</name>
  <capacity unit='G'>1</capacity>
  <allocation unit='bytes'>200704</allocation>
  <target><path>/pool/vis.qcow2</path><format type='qcow2'/></target>
</volume>`;
    expect(parseVolumeXml(xml)).toEqual({
      name: "vis.qcow2",
      path: "/pool/vis.qcow2",
      format: "qcow2",
      capacityBytes: 1073741824,
      allocationBytes: 200704,
    });
  });

  it("reads the state from virsh pool-info", () => {
    expect(
      parsePoolState(
        "Name:           default\nUUID:           x\nState:          running\nPersistent:     yes\n",
      ),
    ).toBe("running");
  });

  it("finds only this volume's leftovers of interrupted runs", () => {
    expect(partialFileName("classroom.qcow2", "123-abc")).toBe(
      ".classroom.qcow2.nestlab-partial-123-abc",
    );
    expect(
      leftoversOf(
        [
          ".classroom.qcow2.nestlab-partial-9-x",
          "classroom.qcow2",
          ".classroom.qcow2.nestlab-partial-1-y",
          ".classroom.qcow2.bak",
          ".other.qcow2.nestlab-partial-1-z",
        ],
        "classroom.qcow2",
      ),
    ).toEqual([".classroom.qcow2.nestlab-partial-1-y", ".classroom.qcow2.nestlab-partial-9-x"]);
  });
});

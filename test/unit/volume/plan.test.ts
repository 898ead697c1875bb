import { validateVolumeArgs } from "../../../components/volume/args";
import { ImageInfo } from "../../../components/volume/chain";
import { InspectedSource, planVolume } from "../../../components/volume/plan";

const GiB = 1024 ** 3;

function source(links: ImageInfo[], ovaMember?: string): InspectedSource {
  return {
    links,
    selected: links,
    input: links[0].file,
    inputFormat: links[0].format,
    open: links.map((l) => ({ file: l.file, format: l.format })),
    chain: [],
    fingerprint: {},
    identity: {},
    ovaMember,
  };
}
const image = (file: string, format: string, backingFile?: string): ImageInfo => ({
  file,
  format,
  virtualSizeBytes: 4 * GiB,
  backingFile,
  dirty: false,
  corrupt: false,
  encrypted: false,
});

describe("planVolume", () => {
  it("converts a vmdk chain to <name>.qcow2", () => {
    const opts = validateVolumeArgs({ source: "/srv/a-000002.vmdk", pool: "p" });
    expect(
      planVolume(
        opts,
        source([image("/srv/a-000002.vmdk", "vmdk", "/srv/a.vmdk"), image("/srv/a.vmdk", "vmdk")]),
        "classroom",
      ),
    ).toEqual({
      action: "convert",
      outputFormat: "qcow2",
      volumeName: "classroom.qcow2",
      virtualSizeBytes: 4 * GiB,
      resizeToBytes: undefined,
    });
  });

  it("passes a single qcow2 or raw file through, and a raw one keeps its format", () => {
    const q = validateVolumeArgs({ source: "/srv/a.qcow2", pool: "p" });
    expect(planVolume(q, source([image("/srv/a.qcow2", "qcow2")]), "c")).toMatchObject({
      action: "copy",
      outputFormat: "qcow2",
      volumeName: "c.qcow2",
    });
    const r = validateVolumeArgs({ source: "/srv/a.raw", pool: "p" });
    expect(planVolume(r, source([image("/srv/a.raw", "raw")]), "c")).toMatchObject({
      action: "copy",
      outputFormat: "raw",
      volumeName: "c.img",
    });
  });

  it("converts a raw disk that holds another format's header: libvirt would probe the volume as that format", () => {
    const r = validateVolumeArgs({ source: "/srv/guest.img", pool: "p", sourceFormat: "raw" });
    expect(
      planVolume(r, source([{ ...image("/srv/guest.img", "raw"), headerFormat: "qcow2" }]), "c"),
    ).toMatchObject({ action: "convert", outputFormat: "qcow2", volumeName: "c.qcow2" });
  });

  it("converts a qcow2 when asked, and a qcow2 overlay always (its backing file would stay outside the pool)", () => {
    const asked = validateVolumeArgs({ source: "/srv/a.qcow2", pool: "p", convert: true });
    expect(planVolume(asked, source([image("/srv/a.qcow2", "qcow2")]), "c").action).toBe("convert");
    const overlay = validateVolumeArgs({ source: "/srv/top.qcow2", pool: "p" });
    expect(
      planVolume(
        overlay,
        source([
          image("/srv/top.qcow2", "qcow2", "/srv/base.qcow2"),
          image("/srv/base.qcow2", "qcow2"),
        ]),
        "c",
      ).action,
    ).toBe("convert");
  });

  it("grows to a larger virtualSizeGiB and refuses a smaller one", () => {
    const grow = validateVolumeArgs({ source: "/srv/a.vmdk", pool: "p", virtualSizeGiB: 10 });
    expect(planVolume(grow, source([image("/srv/a.vmdk", "vmdk")]), "c")).toMatchObject({
      virtualSizeBytes: 10 * GiB,
      resizeToBytes: 10 * GiB,
    });
    const shrink = validateVolumeArgs({ source: "/srv/a.vmdk", pool: "p", virtualSizeGiB: 3 });
    expect(() => planVolume(shrink, source([image("/srv/a.vmdk", "vmdk")]), "c")).toThrow(
      "virtualSizeGiB: 3 is not valid; expected at least the source's virtual size, 4294967296 bytes (4 GiB): a volume smaller than its disk would cut off data; leave virtualSizeGiB unset to keep the source's size.",
    );
  });
});

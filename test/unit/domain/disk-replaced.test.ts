import { provider } from "../../../components/domain/provider";
import { UNKNOWN } from "../../../components/core/unknown";

// What the engine asks the domain before it deletes a volume the domain runs
// on (a ConvertedVolume whose source changed, deleted before it is made
// again): the stored inputs with the disks unknown. The domain is replaced
// with it, deleted first, so no guest runs on while its disk's file is deleted.

const host = { libvirtUri: "qemu:///system", rootDir: "" };
const stored = {
  host,
  domainName: "jiaoshiji",
  memoryMiB: 2048,
  vcpus: 2,
  disks: [{ volume: { pool: "nestlab-dev", volumeName: "jiaoshiji.qcow2" }, bus: "virtio" }],
  owner: "nestlab/dev/rhce-classroom",
  xml: "<domain type='qemu'><name>jiaoshiji</name></domain>",
  uuid: "8f0e0c3a-0000-4000-8000-000000000001",
  state: "running",
};

describe("the domain's diff when a volume it runs on is to be made again", () => {
  it("replaces the domain, deleting it first, when the engine asks with the disks unknown", async () => {
    const asked = { ...stored, disks: UNKNOWN };
    expect(await provider.diff(stored.uuid, stored as never, asked as never)).toEqual({
      changes: true,
      replaces: ["disks"],
      deleteBeforeReplace: true,
    });
  });

  it("does not replace it in an ordinary preview whose disks are still unknown (check left the XML unknown too)", async () => {
    const preview = { ...stored, disks: UNKNOWN, xml: UNKNOWN, updatePlan: UNKNOWN };
    expect(await provider.diff(stored.uuid, stored as never, preview as never)).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: true,
    });
  });
});

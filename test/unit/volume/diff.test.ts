import { diffVolume, UNKNOWN } from "../../../components/volume/diff";

const host = { libvirtUri: "qemu:///system", rootDir: "" };
const state = {
  host,
  resourceName: "classroom",
  source: "/srv/RHEL7_Server-000002.vmdk",
  pool: "default",
  volumeName: "classroom.qcow2",
  sourceFingerprint: {
    "/srv/RHEL7_Server-000002.vmdk":
      "size=1 mtime=1.000000000 inode=2 dev=3 head=ab format=vmdk cid=1 parentCid=2",
  },
  path: "/var/lib/libvirt/images/classroom.qcow2",
  chain: [],
};

describe("diffVolume", () => {
  it("sees no change when the inputs and the fingerprint are the same", () => {
    const inputs: Record<string, unknown> = { ...state };
    delete inputs.path;
    delete inputs.chain;
    expect(diffVolume(state, inputs)).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("replaces for a changed source file, deleting the old volume first (same name)", () => {
    const news = {
      ...state,
      sourceFingerprint: {
        "/srv/RHEL7_Server-000002.vmdk":
          "size=2 mtime=9.000000000 inode=2 dev=3 head=cd format=vmdk cid=7 parentCid=2",
      },
    };
    expect(diffVolume(state, news)).toEqual({
      changes: true,
      replaces: ["sourceFingerprint"],
      deleteBeforeReplace: true,
    });
  });

  it("sees no change when a volume made before the content key meets the same content, touched", () => {
    // The state holds the older line (with mtime, inode and device); check() now writes content only.
    const news = {
      ...state,
      sourceFingerprint: {
        "/srv/RHEL7_Server-000002.vmdk": "size=1 head=ab format=vmdk cid=1 parentCid=2",
      },
      sourceIdentity: { "/srv/RHEL7_Server-000002.vmdk": "mtime=9.000000000 inode=8 dev=3" },
    };
    expect(diffVolume(state, news)).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("keeps the volume for a changed source with onSourceChange keep, and records a new onSourceChange as an update", () => {
    const changed = {
      "/srv/RHEL7_Server-000002.vmdk":
        "size=2 mtime=9.000000000 inode=2 dev=3 head=cd format=vmdk cid=7 parentCid=2",
    };
    const kept = { ...state, onSourceChange: "keep" };
    expect(diffVolume(kept, { ...kept, sourceFingerprint: changed })).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(
      diffVolume(state, { ...state, onSourceChange: "keep", sourceFingerprint: changed }),
    ).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    // Back to "replace": the state still holds what the volume was made from, so it is made again.
    expect(
      diffVolume(kept, { ...state, onSourceChange: "replace", sourceFingerprint: changed }),
    ).toEqual({
      changes: true,
      replaces: ["sourceFingerprint"],
      deleteBeforeReplace: true,
    });
  });

  it("replaces without deleting first when the new volume has another name", () => {
    expect(diffVolume(state, { ...state, volumeName: "classroom-v2.qcow2" })).toEqual({
      changes: true,
      replaces: ["volumeName"],
      deleteBeforeReplace: false,
    });
  });

  it("replaces for every option that shapes the volume", () => {
    expect(
      diffVolume(state, { ...state, mode: "base", clusterSizeKiB: 2048, compression: true })
        .replaces,
    ).toEqual(["mode", "compression", "clusterSizeKiB"]);
    expect(
      diffVolume(state, { ...state, host: { ...host, libvirtUri: "qemu+ssh://root@h/system" } })
        .replaces,
    ).toEqual(["host"]);
  });

  it("treats unknown values as changes", () => {
    expect(diffVolume(state, { ...state, source: UNKNOWN, volumeName: UNKNOWN })).toEqual({
      changes: true,
      replaces: ["source", "volumeName"],
      deleteBeforeReplace: true,
    });
  });

  it("updates in place for a new way to reach the same host", () => {
    const ssh = { host: "h", port: 22, user: "root", connectTimeoutSeconds: 15 };
    expect(
      diffVolume(
        { ...state, host: { ...host, ssh } },
        { ...state, host: { ...host, ssh: { ...ssh, port: 2222 } } },
      ),
    ).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });
});

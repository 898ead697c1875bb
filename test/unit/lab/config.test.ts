import { parseLabConfig, standinSource } from "../../../components/lab/config";

const env = { HOME: "/home/u" };

describe("parseLabConfig", () => {
  it("applies the defaults", () => {
    expect(parseLabConfig({ source: "/img/RHEL7_Server-000002.vmdk" }, env)).toEqual({
      source: "/img/RHEL7_Server-000002.vmdk",
      pool: "nestlab",
      poolPath: undefined,
      volumeName: undefined,
      onSourceChange: "replace",
      hostNested: "enable",
      libvirtUri: undefined,
      classroom: {},
      labMachines: [],
      classroomHostKey: undefined,
      classroomAccess: "image",
      natNetwork: undefined,
      standinDir: undefined,
    });
  });

  it("prepares the classroom disk when labMachines are started without a host key (the stand-in too)", () => {
    const c = parseLabConfig(
      { source: "standin", labMachines: ["classroom", "server", "desktop"] },
      env,
    );
    expect(c.standinDir).toBe("/home/u/.cache/nestlab/standin/current");
    expect(c.labMachines).toEqual(["classroom", "server", "desktop"]);
    expect(c.classroomAccess).toBe("prepare");
    expect(parseLabConfig({ source: "/a", labMachines: ["server"] }, env).classroomAccess).toBe(
      "prepare",
    );
  });

  it('keeps the image as it is ("image") when the host key is given, or when asked', () => {
    const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC";
    expect(
      parseLabConfig({ source: "/a", labMachines: ["server"], classroomHostKey: hostKey }, env)
        .classroomAccess,
    ).toBe("image");
    expect(parseLabConfig({ source: "/a", classroomAccess: "prepare" }, env).classroomAccess).toBe(
      "prepare",
    );
  });

  it('resolves source "standin" to the cached stand-in image', () => {
    expect(parseLabConfig({ source: "standin" }, env).source).toBe(
      "/home/u/.cache/nestlab/standin/current/RHEL7_Server-000002.vmdk",
    );
    expect(standinSource({ NESTLAB_CACHE: "/c" })).toBe(
      "/c/standin/current/RHEL7_Server-000002.vmdk",
    );
    expect(standinSource({ XDG_CACHE_HOME: "/x", HOME: "/h" })).toBe(
      "/x/nestlab/standin/current/RHEL7_Server-000002.vmdk",
    );
  });

  it.each([
    [
      {},
      /^nestlab:source: \(nothing\) is not valid; expected the path of the image on the libvirt host/,
    ],
    [
      { source: "/a", onSourceChange: "never" },
      'nestlab:onSourceChange: "never" is not valid; expected "replace" or "keep" (keep: the classroom host keeps its disk when the image changes).',
    ],
    [
      { source: "/a", hostNested: "on" },
      'nestlab:hostNested: "on" is not valid; expected one of "enable", "persist", "check", "disable", "skip".',
    ],
    [
      { source: "/a", poolPath: "images" },
      'nestlab:poolPath: "images" is not valid; expected an absolute folder path for a directory pool that the stack creates.',
    ],
    [
      { source: "/a", classroom: [1] },
      /^nestlab:classroom: \[1\] is not valid; expected an object/,
    ],
    [
      { source: "/a", labMachines: "server" },
      /^nestlab:labMachines: "server" is not valid; expected a list of machine names/,
    ],
    [
      { source: "/a", labMachines: ["server"], classroomAccess: "image" },
      /^nestlab:classroomHostKey: \(nothing\) is not valid; expected the classroom host's public host key when labMachines are started with classroomAccess "image"/,
    ],
    [
      { source: "/a", classroomAccess: "inject" },
      /^nestlab:classroomAccess: "inject" is not valid; expected "prepare" or "image" \(prepare: the stack writes its key/,
    ],
    [
      { source: "/a", classroomHostKey: "AAAA" },
      /^nestlab:classroomHostKey: "AAAA" is not valid; expected the classroom host's public host key, "ssh-ed25519 AAAA…"/,
    ],
    [
      { source: "/a", natNetwork: "rhce" },
      /^nestlab:natNetwork: "rhce" is not valid; expected an object/,
    ],
  ])("refuses %j", (raw, message) => {
    expect(() => parseLabConfig(raw, env)).toThrow(message);
  });
});

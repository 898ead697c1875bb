import { UNKNOWN } from "../../../components/core/unknown";
import { provider } from "../../../components/lab/lab-machine-provider";
import { classroomHostReplaced } from "../../../components/lab/lab-machines";

// A lab machine goes with the classroom host it runs in: the engine asks its
// diff, with the host's domain name unknown, before it deletes that domain to
// make it again (a new disk), and replaces the machine when told so.

const host = {
  libvirtUri: "qemu:///system",
  rootDir: "",
  ssh: {
    host: "127.0.0.1",
    port: 2222,
    user: "root",
    knownHosts: "[127.0.0.1]:2222 ssh-ed25519 AAAA",
    connectTimeoutSeconds: 30,
  },
};
const inputs = {
  host,
  domainName: "server",
  classroomDomainName: "jiaoshiji",
  bootTimeoutSeconds: 300,
  shutdownTimeoutSeconds: 60,
};
const stored = { ...inputs, state: "running" };

describe("classroomHostReplaced", () => {
  test.each([
    ["the same domain", "jiaoshiji", "jiaoshiji", false],
    ["the domain made again (its name unknown)", "jiaoshiji", UNKNOWN, true],
    ["another domain (a rename)", "jiaoshiji", "jiaoshiji2", true],
    ["recorded before the name was kept, the same domain", undefined, "jiaoshiji", false],
    ["recorded before the name was kept, the domain made again", undefined, UNKNOWN, true],
    ["not tied to a domain", "jiaoshiji", undefined, false],
    ["never tied to a domain", undefined, undefined, false],
  ] as const)("%s", (_case, old, next, replaced) => {
    expect(classroomHostReplaced(old, next)).toBe(replaced);
  });
});

describe("LabMachine diff", () => {
  test("nothing changed: no change", async () => {
    expect(await provider.diff("id", stored, inputs)).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: true,
    });
  });

  test("the classroom host replaced (its domain name unknown): the machine is replaced, stopped first", async () => {
    expect(await provider.diff("id", stored, { ...inputs, classroomDomainName: UNKNOWN })).toEqual({
      changes: true,
      replaces: ["classroomDomainName"],
      deleteBeforeReplace: true,
    });
  });

  test("the classroom host renamed: the machine is replaced", async () => {
    expect(
      await provider.diff("id", stored, { ...inputs, classroomDomainName: "classroom2" }),
    ).toEqual({ changes: true, replaces: ["classroomDomainName"], deleteBeforeReplace: true });
  });

  test("a machine recorded without the name: taking it is no change", async () => {
    const { classroomDomainName: _, ...older } = stored;
    expect(await provider.diff("id", older, inputs)).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: true,
    });
  });

  test("stopped by hand and the classroom host replaced: replaced (started in the new host)", async () => {
    expect(
      await provider.diff(
        "id",
        { ...stored, state: "shut off" },
        { ...inputs, classroomDomainName: UNKNOWN },
      ),
    ).toEqual({ changes: true, replaces: ["classroomDomainName"], deleteBeforeReplace: true });
  });
});

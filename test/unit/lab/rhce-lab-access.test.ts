import * as pulumi from "@pulumi/pulumi";
import { generateEd25519, keyOnly } from "../../../components/host/openssh-key";
import { recordResources, Registered, value } from "../../support/mocks";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhvc3Qga2V5IG9mIHRoZSBjbGFzc3Jvb20gZGlzaw";
const made = generateEd25519("nestlab-rhce");
const registered = recordResources({
  "pulumi-nodejs:dynamic/nestlab:SshKey": { ...made },
  "pulumi-nodejs:dynamic/nestlab:ConvertedVolume": { hostKey: HOST_KEY },
});

// Imported after setMocks, as the Pulumi docs require.
import { RhceLab } from "../../../components";

/** Pulumi's marker of a secret value in a resource's inputs. */
const SECRET = "4dabf18193072939515e22adb298388d";
const secretValue = (v: unknown): unknown => {
  expect(v).toEqual({ [SECRET]: "1b47061264138c4ac30d75fd1eb44270", value: expect.anything() });
  return (v as { value: unknown }).value;
};
const plain = (v: unknown): unknown =>
  v !== null && typeof v === "object" && SECRET in v
    ? (v as unknown as { value: unknown }).value
    : v;

const dyn = (type: string): Registered[] =>
  registered.filter((r) => r.type === `pulumi-nodejs:dynamic/nestlab:${type}`);

function lab(access: { privateKey?: string }): RhceLab {
  return new RhceLab("rhce", {
    source: "/images/RHEL7_Server-000002.vmdk",
    pool: "nestlab",
    hostNested: "skip",
    classroom: { sshPort: 2222 },
    classroomAccess: access,
    labMachines: { names: ["server"] },
  });
}

async function settled(l: RhceLab): Promise<void> {
  await value(
    pulumi.all([l.volume.path, l.classroom.state, l.labMachines.server.state, l.classroomHostKey!]),
  );
}

beforeEach(() => {
  registered.length = 0;
});

describe("RhceLab classroomAccess", () => {
  test("a key the stack makes: its public line into the disk, its private key and the disk's host key to the lab machines", async () => {
    const l = lab({});
    await settled(l);
    expect(dyn("SshKey").map((r) => [r.name, r.inputs.comment])).toEqual([
      ["rhce-key", "nestlab-rhce"],
    ]);
    expect(dyn("ConvertedVolume")[0].inputs.rootAccess).toEqual({
      authorizedKey: made.publicKey,
    });
    const machine = dyn("LabMachine")[0].inputs;
    expect(plain(machine.host)).toEqual({
      libvirtUri: "qemu:///system",
      rootDir: "",
      ssh: {
        connectTimeoutSeconds: 15,
        host: "127.0.0.1",
        port: 2222,
        user: "root",
        knownHosts: `[127.0.0.1]:2222 ${HOST_KEY}`,
      },
    });
    expect(secretValue(machine.sshPrivateKey)).toBe(made.privateKey);
    expect(await value(l.classroomHostKey!)).toBe(HOST_KEY);
    expect(await value(l.classroomPublicKey!)).toBe(made.publicKey);
    // Secret where it is made: the SshKey's output, and what RhceLab hands on.
    expect(await pulumi.isSecret(l.classroomPrivateKey!)).toBe(true);
  });

  test("a key given: no key made, its public half (from the private key) into the disk, not secret", async () => {
    const given = generateEd25519("mine");
    const l = lab({ privateKey: given.privateKey });
    await settled(l);
    expect(dyn("SshKey")).toEqual([]);
    expect(dyn("ConvertedVolume")[0].inputs.rootAccess).toEqual({
      authorizedKey: keyOnly(given.publicKey),
    });
    expect(secretValue(dyn("LabMachine")[0].inputs.sshPrivateKey)).toBe(given.privateKey);
  });

  test("lab machines without classroomAccess and without keys are refused before anything is registered", () => {
    expect(
      () =>
        new RhceLab("bad", {
          source: "/images/x.vmdk",
          pool: "nestlab",
          hostNested: "skip",
          classroom: { sshPort: 2222 },
          labMachines: { names: ["server"] },
        }),
    ).toThrow(
      /labMachines\.sshPrivateKey: "\(not given\)" is not valid; expected root's key into the classroom host/,
    );
  });
});

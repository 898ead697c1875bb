import { execFileSync } from "child_process";
import { resolveHost } from "../../../components/host/connection";
import { keyOnly } from "../../../components/host/openssh-key";
import { SshHost } from "../../../components/host/ssh";
import { ensureStandinImage, StandinImage } from "../../support/standin";
import { freePort } from "../../support/ports";
import { virshOk } from "../../support/virsh";
import { throwawayStack, ThrowawayStack } from "../harness";

// The way in a real image needs, through the program (index.ts) and the
// engine: classroomAccess "prepare" writes a key the stack makes into the
// converted stand-in before the classroom host first boots, and pins the host
// key read back from it. The classroom host is then reached over its SSH
// forward with that key; the stand-in's own baked-in key no longer gets in.
// No lab machines (standin-lab.test.ts starts them): about 3 minutes.

const id = `nlt-e2e-access-${process.pid}`;
let image: StandinImage;
let lab: ThrowawayStack;
let sshPort: number;
const sums = () =>
  execFileSync("sha256sum", [image.baseVmdk, image.deltaVmdk], { encoding: "utf8" });
let sourceSums: string;

beforeAll(async () => {
  image = await ensureStandinImage();
  sourceSums = sums();
  sshPort = await freePort();
  lab = await throwawayStack({
    config: {
      "nestlab:source": "standin",
      "nestlab:pool": id,
      "nestlab:poolPath": `/var/lib/libvirt/images/${id}`,
      "nestlab:hostNested": "skip",
      "nestlab:classroomAccess": "prepare",
    },
  });
  await lab.stack.setAllConfig(
    {
      "nestlab:classroom.domainName": { value: id },
      "nestlab:classroom.memoryMiB": { value: "1536" },
      "nestlab:classroom.vcpus": { value: "2" },
      "nestlab:classroom.cpu.mode": { value: "custom" },
      "nestlab:classroom.cpu.model": { value: "qemu64" },
      "nestlab:classroom.vnc.autoport": { value: "true" },
      "nestlab:classroom.serial.type": { value: "tcp" },
      "nestlab:classroom.serial.port": { value: String(await freePort()) },
      "nestlab:classroom.sshPort": { value: String(sshPort) },
    },
    true,
  );
}, 50 * 60_000);

afterAll(async () => {
  await lab?.dispose();
}, 600_000);

/** root@127.0.0.1:sshPort with `privateKey`, the host key pinned; runs `argv` once SSH answers. */
async function asRoot(privateKey: string, hostKey: string, argv: string[]) {
  const { spec, privateKey: key } = resolveHost({
    ssh: {
      host: "127.0.0.1",
      port: sshPort,
      privateKey,
      knownHosts: `[127.0.0.1]:${sshPort} ${hostKey}`,
    },
  });
  const host = new SshHost(spec.ssh!, key);
  try {
    return await host.run(argv, { allowFailure: true, timeoutMs: 60_000 });
  } finally {
    await host.close();
  }
}

test(
  "up writes the stack's key into the disk, pins the image's host key, and that key gets in; the stand-in's own does not",
  async () => {
    const started = Date.now();
    const up = await lab.stack.up();
    expect(up.summary.result).toBe("succeeded");
    console.log(`up: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const hostKey = up.outputs.classroomHostKey.value as string;
    const publicKey = up.outputs.classroomPublicKey.value as string;
    const privateKey = up.outputs.classroomPrivateKey.value as string;
    expect(hostKey).toBe(keyOnly(image.hostPublicKey));
    expect(publicKey).toMatch(
      /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} nestlab-rhce$/,
    );
    expect(up.outputs.classroomPrivateKey.secret).toBe(true);
    expect(up.outputs.classroomPublicKey.secret).toBe(false);
    // The private key is in the state file only encrypted (exportStack would decrypt it).
    const backend = lab.stack.workspace.envVars.PULUMI_BACKEND_URL.replace(/^file:\/\//, "");
    const state = execFileSync(
      "find",
      [backend, "-name", `${lab.stack.name}.json`, "-exec", "cat", "{}", "+"],
      {
        encoding: "utf8",
      },
    );
    expect(state).toMatch(/"classroomPrivateKey":\s*\{\s*"4dabf18193072939515e22adb298388d"/);
    expect(state).not.toContain(privateKey.split("\n")[1]);

    // The classroom host boots (TCG): wait for its sshd, with the stack's key.
    const deadline = Date.now() + 6 * 60_000;
    let r = await asRoot(privateKey, hostKey, ["cat", "/root/.ssh/authorized_keys"]).catch(
      (e: Error) => ({ exitCode: -1, stdout: "", stderr: e.message }),
    );
    while (r.exitCode !== 0 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 5000));
      r = await asRoot(privateKey, hostKey, ["cat", "/root/.ssh/authorized_keys"]).catch(
        (e: Error) => ({ exitCode: -1, stdout: "", stderr: e.message }),
      );
    }
    expect({ exitCode: r.exitCode, stdout: r.stdout }).toEqual({
      exitCode: 0,
      stdout: `${publicKey}\n`,
    });
    console.log(
      `SSH with the stack's key: ${((Date.now() - started) / 1000).toFixed(1)} s after up began`,
    );
    const baked = await asRoot(image.sshPrivateKey, hostKey, ["true"]).catch((e: Error) => ({
      exitCode: -1,
      stdout: "",
      stderr: e.message,
    }));
    expect(baked.exitCode).not.toBe(0);
    expect(baked.stderr).toMatch(/Permission denied \(publickey/);
  },
  30 * 60_000,
);

test("a second preview finds nothing to change (the key is made once)", async () => {
  const preview = await lab.stack.preview({ expectNoChanges: true });
  // The stack, RhceLab, the key, the volume (component, resource, pool), the classroom host (component, resource).
  expect(preview.changeSummary).toEqual({ same: 8 });
}, 600_000);

test("destroy removes the classroom host and its disk and leaves the image as it was", async () => {
  const destroy = await lab.stack.destroy();
  expect(destroy.summary.result).toBe("succeeded");
  expect(virshOk("dominfo", id)).toBe(false);
  expect(virshOk("pool-info", id)).toBe(false);
  expect(sums()).toBe(sourceSums);
}, 600_000);

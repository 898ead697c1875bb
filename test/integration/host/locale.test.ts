import { execFileSync, spawnSync } from "child_process";
import { mkdtempSync, rmSync } from "fs";
import * as os from "os";
import * as path from "path";
import { provider as domain } from "../../../components/domain/provider";
import { LocalHost } from "../../../components/host/local";
import { provider as labMachine } from "../../../components/lab/lab-machine-provider";
import { provider as network } from "../../../components/network/provider";
import { provider as pool } from "../../../components/volume/pool-provider";
import { provider as volume } from "../../../components/volume/provider";

// The providers recognise "not found" by what virsh, coreutils and qemu-img
// print. Under a German locale those words are German, so every command runs
// with LC_ALL=C. The locale is built into a folder of the test's own (LOCPATH),
// so nothing of the machine's configuration changes; virsh's German comes from
// Debian's libvirt-l10n, coreutils' from coreutils itself.

const host = { libvirtUri: "qemu:///system", rootDir: "" };
const missing = `nlt-locale-${process.pid}`;
const saved = { LOCPATH: process.env.LOCPATH, LC_ALL: process.env.LC_ALL, LANG: process.env.LANG };
let locales: string;

beforeAll(() => {
  locales = mkdtempSync(path.join(os.tmpdir(), "nlt-locale-"));
  execFileSync("localedef", ["-i", "de_DE", "-f", "UTF-8", path.join(locales, "de_DE.UTF-8")]);
  Object.assign(process.env, { LOCPATH: locales, LC_ALL: "de_DE.UTF-8", LANG: "de_DE.UTF-8" });
  // The premise: without LC_ALL=C these tools really answer in German here.
  // (The environment is passed on explicitly: child_process reads the real process's, not the test's.)
  const said = spawnSync("virsh", ["-c", "qemu:///system", "domstate", missing], {
    encoding: "utf8",
    env: process.env,
  });
  expect(said.stderr).toContain(`Abruf der Domain '${missing}' scheiterte`);
  expect(spawnSync("cat", ["/nonexistent"], { encoding: "utf8", env: process.env }).stderr).toBe(
    "cat: /nonexistent: Datei oder Verzeichnis nicht gefunden\n",
  );
}, 60_000);

afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(locales, { recursive: true, force: true });
});

test("a command run through HostAccess speaks the C locale", async () => {
  const r = await new LocalHost().run(["cat", "/nonexistent"], { allowFailure: true });
  expect(r).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: "cat: /nonexistent: No such file or directory\n",
  });
});

test("LabMachine refresh sees a machine that is gone as gone", async () => {
  const state = {
    host,
    domainName: missing,
    bootTimeoutSeconds: 10,
    shutdownTimeoutSeconds: 10,
    state: "running",
  };
  expect(await labMachine.read("id", state)).toEqual({
    id: "id",
    props: { ...state, state: "gone" },
  });
});

test("LabMachine delete of a machine that is gone succeeds", async () => {
  await expect(
    labMachine.delete("id", {
      host,
      domainName: missing,
      bootTimeoutSeconds: 10,
      shutdownTimeoutSeconds: 10,
      state: "running",
    }),
  ).resolves.toBeUndefined();
});

test("NestedDomain refresh and delete of a domain that is gone", async () => {
  const uuid = "0c6f4a52-9d3e-4b8e-8f5e-2f1a3b4c5d6e";
  const state = { host, domainName: missing, owner: "nlt", shutdownTimeoutSeconds: 1 };
  expect(await domain.read(uuid, state as never)).toEqual({ id: "", props: {} });
  await expect(domain.delete(uuid, state as never)).resolves.toBeUndefined();
});

test("Network refresh and delete of a network that is gone", async () => {
  const state = {
    host,
    networkName: missing,
    mode: "nat" as const,
    address: "10.254.78.1",
    prefixLength: 24,
    autostart: true,
    uuid: "6a0f3c1e-1111-4222-8333-944455556666",
    bridge: "nltbr0",
    active: true,
  };
  expect(await network.read(state.uuid, state)).toEqual({ id: "", props: {} });
  await expect(network.delete(state.uuid, state)).resolves.toBeUndefined();
});

test("StoragePool refresh and delete of a pool that is gone", async () => {
  const state = { host, pool: missing, path: `/tmp/${missing}` };
  expect(await pool.read(missing, state)).toEqual({ id: "", props: {} });
  await expect(pool.delete(missing, state)).resolves.toBeUndefined();
});

test("ConvertedVolume names a source that does not exist", async () => {
  const checked = await volume.check(
    {},
    { host, resourceName: "disk", source: `/tmp/${missing}/disk.vmdk`, pool: "default" },
  );
  expect(checked.failures).toEqual([
    {
      property: "source",
      reason: `source: /tmp/${missing}/disk.vmdk does not exist on this machine. Check the path: it is a path on the libvirt host, not on the machine that runs pulumi.`,
    },
  ]);
});

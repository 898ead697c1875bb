import { promises as fs } from "fs";
import * as net from "net";
import { DomainInputs, DomainOutputs, provider } from "../../../components/domain/provider";
import { stableMac } from "../../../components/domain/resolve";
import {
  domainNames,
  HOST,
  OWNER_PREFIX,
  optionValue,
  PREFIX,
  qemuProcess,
  removeOurDomains,
  scratchDir,
  stateInputs,
  up,
  virsh,
  virshOk,
} from "./support";

jest.setTimeout(120_000);

let dir: string;
let disk: string;

beforeAll(async () => {
  await removeOurDomains();
  ({ dir, disk } = await scratchDir("provider"));
});

afterAll(async () => {
  await removeOurDomains();
  await fs.rm(dir, { recursive: true, force: true });
});

/** The memory the running guest has, as `virsh dominfo` says ("Used memory"), in KiB. */
async function usedKiB(id: string): Promise<number> {
  return Number(/^Used memory:\s*(\d+) KiB$/m.exec(await virshOk("dominfo", id))?.[1]);
}

/** What the component hands the engine (the provider's check sees it unchecked). */
function args(change: Record<string, unknown> = {}): DomainInputs {
  return {
    host: HOST,
    domainName: `${PREFIX}life`,
    memoryMiB: 256,
    maxMemoryMiB: 384,
    vcpus: 1,
    cpu: { mode: "custom", model: "qemu64" },
    disks: [{ path: disk }],
    vnc: {},
    serial: { type: "pty" },
    shutdownTimeoutSeconds: 2,
    owner: `${OWNER_PREFIX}life`,
    ...change,
  } as DomainInputs;
}

describe("NestedDomain's provider against libvirtd (TCG)", () => {
  let state: { id: string; outs: DomainOutputs };

  test("defines and starts a custom qemu64 domain whose QEMU gets svm=on", async () => {
    const made = await up(undefined, args());
    state = made;
    expect(made.outs.resolvedDomainType).toBe("qemu");
    expect(made.outs.state).toBe("running");
    expect(made.outs.vncAddress).toMatch(/^127\.0\.0\.1:59\d\d$/);
    expect(made.outs.serialAddress).toMatch(/^\/dev\/pts\/\d+$/);
    expect(made.outs.ipAddresses).toEqual([]);
    // No OS, so no balloon driver: the guest keeps the memory it started with, maxMemoryMiB.
    expect(await usedKiB(made.id)).toBe(384 * 1024);
    expect(made.outs.liveMemoryMiB).toBe(384);
    expect(made.outs.pendingRestart).toEqual(["memoryMiB"]);
    expect((await virshOk("domuuid", `${PREFIX}life`)).trim()).toBe(made.id);
    const qemu = await qemuProcess(`${PREFIX}life`);
    expect(optionValue(qemu.argv, "-cpu")).toBe("qemu64,svm=on");
    expect(optionValue(qemu.argv, "-accel") ?? optionValue(qemu.argv, "-machine")).toMatch(/tcg/);
  });

  test("an untouched domain reads back with no drift, and a second up changes nothing", async () => {
    const read = await provider.read(state.id, state.outs);
    expect(read.inputs).toEqual(stateInputs(state.outs));
    const again = await up(state, args());
    expect(again.plan).toBeUndefined();
    expect(again.outs).toBe(state.outs);
  });

  test("grows memory live: same domain, same QEMU process, new definition", async () => {
    const before = await qemuProcess(`${PREFIX}life`);
    const next = await up(state, args({ memoryMiB: 320 }));
    expect(next.plan).toBe("live: memoryMiB (through the guest's balloon driver)");
    expect(next.replaced).toBe(false);
    expect(next.id).toBe(state.id);
    expect((await qemuProcess(`${PREFIX}life`)).pid).toBe(before.pid);
    expect(await virshOk("dumpxml", "--inactive", state.id)).toContain(
      "<currentMemory unit='KiB'>327680</currentMemory>",
    );
    // Read back, not assumed: setmem succeeded, but without a balloon driver nothing moved.
    expect(await usedKiB(state.id)).toBe(384 * 1024);
    expect(next.outs.liveMemoryMiB).toBe(384);
    expect(next.outs.pendingRestart).toEqual(["memoryMiB"]);
    state = next;
  });

  test("changes the CPU with a restart: same domain, a new QEMU process with the new model", async () => {
    const before = await qemuProcess(`${PREFIX}life`);
    const next = await up(
      state,
      args({ memoryMiB: 320, cpu: { mode: "custom", model: "Opteron_G2" } }),
    );
    expect(next.plan).toBe("restart: cpu");
    expect(next.id).toBe(state.id);
    const after = await qemuProcess(`${PREFIX}life`);
    expect(after.pid).not.toBe(before.pid);
    expect(optionValue(after.argv, "-cpu")).toBe("Opteron_G2,svm=on");
    state = next;
  });

  test("a restart whose start fails puts the previous definition back and starts it", async () => {
    const other = `${dir}/vanishing.qcow2`;
    await fs.copyFile(disk, other);
    const before = await virshOk("dumpxml", "--inactive", state.id);
    const wanted = args({
      memoryMiB: 320,
      cpu: { mode: "custom", model: "Opteron_G2" },
      disks: [{ path: other }],
    });
    const checked = await provider.check(stateInputs(state.outs), wanted);
    expect(checked.failures).toBeUndefined();
    expect(checked.inputs.updatePlan).toBe("restart: disks");
    // Gone between the preview and the update: the new definition defines, but cannot start.
    await fs.rm(other);
    await expect(provider.update(state.id, state.outs, checked.inputs)).rejects.toThrow(
      `restart: ${PREFIX}life did not start on its new definition, so its previous definition is back and running. virsh start said:`,
    );
    expect((await virshOk("domstate", state.id)).trim()).toBe("running");
    expect(await virshOk("dumpxml", "--inactive", state.id)).toBe(before);
    expect(await virshOk("domblklist", state.id)).toContain(disk);
  });

  test("a domain stopped by hand shows as drift on refresh, and up starts it again", async () => {
    await virshOk("destroy", state.id);
    const read = await provider.read(state.id, state.outs);
    expect(read.props.state).toBe("shut off");
    expect(read.inputs?.running).toBe(false);
    const refreshed = { id: state.id, outs: read.props as DomainOutputs };
    const next = await up(
      refreshed,
      args({ memoryMiB: 320, cpu: { mode: "custom", model: "Opteron_G2" } }),
    );
    expect(next.plan).toBe("live: running");
    expect(next.outs.state).toBe("running");
    expect((await virshOk("domstate", state.id)).trim()).toBe("running");
    state = next;
  });

  test("a hand-made change of the definition shows exactly what changed, and up puts it back", async () => {
    await virshOk("setmem", state.id, "300M", "--config");
    const read = await provider.read(state.id, state.outs);
    const changed = Object.keys(read.inputs ?? {}).filter(
      (k) =>
        JSON.stringify(read.inputs?.[k as keyof DomainInputs]) !==
        JSON.stringify(stateInputs(state.outs)[k]),
    );
    expect(changed.sort()).toEqual(["memoryMiB", "xml"]);
    expect(read.inputs?.memoryMiB).toBe(300);
    const refreshed = { id: state.id, outs: read.props as DomainOutputs };
    const next = await up(
      refreshed,
      args({ memoryMiB: 320, cpu: { mode: "custom", model: "Opteron_G2" } }),
    );
    expect(next.plan).toBe("live: memoryMiB (through the guest's balloon driver)");
    expect(await virshOk("dumpxml", "--inactive", state.id)).toContain(
      "<currentMemory unit='KiB'>327680</currentMemory>",
    );
    const reread = await provider.read(state.id, next.outs);
    expect(reread.inputs).toEqual(stateInputs(next.outs));
    state = next;
  });

  test("a rotated SSH key is an update of the state alone: same domain, same QEMU process", async () => {
    const before = await qemuProcess(`${PREFIX}life`);
    const rotated =
      "-----BEGIN OPENSSH PRIVATE KEY-----\nrotated\n-----END OPENSSH PRIVATE KEY-----\n";
    const next = await up(
      state,
      args({
        memoryMiB: 320,
        cpu: { mode: "custom", model: "Opteron_G2" },
        sshPrivateKey: rotated,
      }),
    );
    expect(next.plan).toBe("live: sshPrivateKey");
    expect(next.replaced).toBe(false);
    expect(next.outs.sshPrivateKey).toBe(rotated);
    expect((await qemuProcess(`${PREFIX}life`)).pid).toBe(before.pid);
    state = next;
  });

  test("renaming replaces the domain: the old one is removed first, the disk stays", async () => {
    const next = await up(
      state,
      args({
        domainName: `${PREFIX}renamed`,
        memoryMiB: 320,
        cpu: { mode: "custom", model: "Opteron_G2" },
      }),
    );
    expect(next.plan).toBe("replace: domainName");
    expect(next.replaced).toBe(true);
    expect(next.id).not.toBe(state.id);
    const names = await domainNames();
    expect(names).toContain(`${PREFIX}renamed`);
    expect(names).not.toContain(`${PREFIX}life`);
    state = next;
  });

  test("destroy shuts the domain down and undefines it; the disk stays; a second delete is a no-op", async () => {
    const started = Date.now();
    await provider.delete(state.id, state.outs);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await virsh("dominfo", state.id)).exitCode).not.toBe(0);
    expect((await domainNames()).filter((n) => n.startsWith(`${PREFIX}renamed`))).toEqual([]);
    expect((await fs.stat(disk)).isFile()).toBe(true);
    await provider.delete(state.id, state.outs);
  });
});

describe("MAC addresses", () => {
  const nic = { networks: [{ user: {} }] };

  test("a new domain's default MAC mixes in the hypervisor's identity (/etc/machine-id)", async () => {
    const machineId = (await fs.readFile("/etc/machine-id", "utf8")).trim();
    const checked = await provider.check({}, args({ domainName: `${PREFIX}mac`, ...nic }));
    expect(checked.failures).toBeUndefined();
    expect(checked.inputs.resolvedHostId).toBe(machineId);
    expect(checked.inputs.macs).toEqual([stableMac(`${PREFIX}mac`, 0, machineId)]);
    // Another hypervisor gives the same domain name another address.
    expect(stableMac(`${PREFIX}mac`, 0, "another-machine")).not.toBe(checked.inputs.macs?.[0]);
  });

  test("a domain made before keeps its MAC (no host identity in its state)", async () => {
    const legacy = (await provider.check({}, args({ domainName: `${PREFIX}mac`, ...nic }))).inputs;
    const { resolvedHostId: _id, ...olds } = {
      ...legacy,
      macs: [stableMac(`${PREFIX}mac`, 0)],
    };
    const checked = await provider.check(olds, args({ domainName: `${PREFIX}mac`, ...nic }));
    expect(checked.inputs.resolvedHostId).toBeUndefined();
    expect(checked.inputs.macs).toEqual([stableMac(`${PREFIX}mac`, 0)]);
  });
});

describe("bad input is refused by check, and nothing is defined", () => {
  let listener: net.Server;
  let busyPort: number;

  beforeAll(async () => {
    listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    busyPort = (listener.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => listener.close(resolve));
  });

  async function reasons(change: Record<string, unknown>): Promise<string[]> {
    const before = await domainNames();
    const result = await provider.check(
      {},
      args({ domainName: `${PREFIX}bad`, owner: `${OWNER_PREFIX}bad`, ...change }),
    );
    expect(await domainNames()).toEqual(before);
    return (result.failures ?? []).map((f) => f.reason);
  }

  test.each<[string, Record<string, unknown>, string]>([
    [
      "an invalid name",
      { domainName: "a/b" },
      'domainName: "a/b" is not valid; expected a libvirt domain name',
    ],
    [
      "memory beyond the host",
      { memoryMiB: 4 * 1024 * 1024, maxMemoryMiB: undefined },
      "memoryMiB: 4194304 is not valid; expected at most the host's memory (",
    ],
    [
      "more vCPUs than the host has",
      { vcpus: 64 },
      "vcpus: 64 is not valid; expected at most the host's",
    ],
    [
      "a serial port already in use",
      {},
      "is not valid; expected a TCP port that is free on 127.0.0.1 of this machine",
    ],
    [
      "a network that does not exist",
      { networks: [{ network: `${PREFIX}no-such-net` }] },
      `networks[0].network: "${PREFIX}no-such-net" is not valid; expected a libvirt network on this machine`,
    ],
    [
      "a bridge that does not exist",
      { networks: [{ bridge: "nltnobr0" }] },
      'networks[0].bridge: "nltnobr0" is not valid; expected a bridge interface on this machine',
    ],
    [
      "VNC on all addresses without a password",
      { vnc: { listen: "0.0.0.0" } },
      'vnc.listen: "0.0.0.0" is not valid; expected 127.0.0.1 (the default), or set vnc.password',
    ],
    [
      "a volume that does not exist",
      { disks: [{ volume: { pool: `${PREFIX}no-pool`, volumeName: "x.qcow2" } }] },
      `disks[0].volume: {"pool":"${PREFIX}no-pool","volumeName":"x.qcow2"} is not valid; expected a volume that exists`,
    ],
    [
      "a disk file that does not exist",
      { disks: [{ path: "/nonexistent/nlt.qcow2" }] },
      'disks[0].path: "/nonexistent/nlt.qcow2" is not valid; expected a file that exists on this machine.',
    ],
    [
      "host-passthrough under TCG",
      { cpu: { mode: "host-passthrough" } },
      'cpu.mode: "host-passthrough" is not valid; expected a mode this host can give',
    ],
    [
      "a model TCG cannot give",
      { cpu: { mode: "custom", model: "EPYC" } },
      "libvirt says: the CPU is incompatible with host CPU: Host CPU does not provide required features:",
    ],
    [
      "a model the host does not know",
      { cpu: { mode: "custom", model: "Pentium9000" } },
      'cpu.model: "Pentium9000" is not valid; expected a model this host knows',
    ],
  ])("refuses %s", async (what, change, message) => {
    const serial =
      what === "a serial port already in use" ? { serial: { type: "tcp", port: busyPort } } : {};
    const found = await reasons({ ...change, ...serial });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  test("never touches a domain of that name that it did not create", async () => {
    const name = `${PREFIX}foreign`;
    const xml = `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`;
    const file = `${dir}/foreign.xml`;
    await fs.writeFile(file, xml);
    await virshOk("define", file);
    const uuid = (await virshOk("domuuid", name)).trim();
    const checked = await provider.check({}, args({ domainName: name }));
    expect(checked.failures?.map((f) => f.reason)).toEqual([
      `A domain named "${name}" (${uuid}) already exists on this machine and was not created by this stack's resource; it is left untouched. Choose another domainName, or remove that domain yourself (virsh undefine) if it is no longer needed.`,
    ]);
    const stale = {
      ...stateInputs({} as DomainOutputs),
      ...args({ domainName: name }),
      xml: "<domain/>",
    } as unknown as DomainOutputs;
    await expect(provider.delete(uuid, stale)).rejects.toThrow(
      "was not created by this stack's resource; it is left untouched",
    );
    expect((await virshOk("domuuid", name)).trim()).toBe(uuid);
    await virshOk("undefine", name);
  });
});

import { rmSync, writeFileSync } from "fs";
import * as os from "os";
import * as path from "path";
import { provider, NetworkOutputs } from "../../../components/network/provider";
import { HOST, virsh, virshOk, virshRun } from "../../support/virsh";

// Against the real libvirtd: define, start, read, drift, delete. Only the
// network's definition and its bridge are made; no traffic crosses it.

const host = HOST;
const name = `nlt-net-${process.pid}`;
const bridge = `nltbr${process.pid % 100000}`;
const exists = () => virshOk("net-info", name);
const inputs = {
  host,
  networkName: name,
  bridgeName: bridge,
  address: "10.254.77.1",
  dhcp: { start: "10.254.77.10", end: "10.254.77.20" },
};

afterAll(() => {
  for (const n of [name, `${name}-x`]) {
    virshRun("net-destroy", n);
    virshRun("net-undefine", n);
  }
});

let outs: NetworkOutputs;

test("create defines, starts and autostarts the network, with its bridge", async () => {
  const checked = await provider.check({}, inputs);
  expect(checked.failures).toBeUndefined();
  const created = await provider.create(checked.inputs);
  outs = created.outs;
  expect(created.id).toBe(outs.uuid);
  expect(outs.bridge).toBe(bridge);
  expect(outs.active).toBe(true);
  const info = virsh("net-info", name);
  expect(info).toMatch(/Active:\s+yes/);
  expect(info).toMatch(/Autostart:\s+yes/);
  expect(info).toMatch(new RegExp(`Bridge:\\s+${bridge}`));
  const xml = virsh("net-dumpxml", name);
  expect(xml).toContain("<forward mode='nat'>");
  expect(xml).toContain("<range start='10.254.77.10' end='10.254.77.20'/>");
}, 60_000);

test("a network of the same name that the stack did not make is refused, naming it", async () => {
  const checked = await provider.check({}, inputs);
  expect(checked.failures).toEqual([
    {
      property: "networkName",
      reason: `networkName: a network "${name}" exists already on the host and this stack did not make it; choose another name, or remove it (virsh net-destroy/net-undefine ${name}).`,
    },
  ]);
}, 60_000);

test("refresh sees a network stopped by hand, and update starts it again", async () => {
  virsh("net-destroy", name);
  const read = await provider.read(outs.uuid, outs);
  expect(read.props.active).toBe(false);
  const diff = await provider.diff(outs.uuid, read.props as NetworkOutputs, { ...outs });
  expect(diff).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
  await provider.update(outs.uuid, read.props as NetworkOutputs, outs);
  expect(virsh("net-info", name)).toMatch(/Active:\s+yes/);
}, 60_000);

test("a new address replaces the network", async () => {
  const diff = await provider.diff(outs.uuid, outs, {
    ...outs,
    address: "10.254.78.1",
    dhcp: undefined,
  });
  expect(diff.replaces).toEqual(["address", "dhcp"]);
});

test("delete removes it, and leaves a network of the same name made since alone", async () => {
  await provider.delete(outs.uuid, outs);
  expect(exists()).toBe(false);
  await provider.delete(outs.uuid, outs);
  // Someone else's network under the same name since: not touched.
  const file = path.join(os.tmpdir(), `${name}.xml`);
  writeFileSync(
    file,
    `<network><name>${name}</name><ip address="10.254.79.1" prefix="24"/></network>`,
  );
  virsh("net-define", file);
  rmSync(file);
  await provider.delete(outs.uuid, outs);
  expect(exists()).toBe(true);
  const read = await provider.read(outs.uuid, outs);
  expect(read.id).toBe("");
}, 60_000);

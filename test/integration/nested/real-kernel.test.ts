/**
 * The NestedVirtualization provider against a real kernel: the guest kit (a
 * Debian 6.1 kernel booted under TCG with an AMD CPU with svm, so kvm_amd
 * really loads) reached through SshHost, the path a remote user takes. The
 * provider methods are driven directly; the guest's sysfs and files are read
 * back over a separate SSH session.
 */
import * as net from "net";
import { resolveHost } from "../../../components/host/connection";
import { NestedInputs, NestedState, provider } from "../../../components/nested/provider";
import { GuestVm, startGuestVm } from "../../support/guest-vm";
import { freePort } from "../../support/ports";

jest.setTimeout(180_000);

const MANAGED = "/etc/modprobe.d/nestlab-kvm.conf";
const HEADER =
  "# Written by nestlab (NestedVirtualization): nested virtualization for KVM.\n" +
  "# Destroying the resource restores what was here before.\n";

let vm: GuestVm;
let base: Omit<NestedInputs, "mode">;

beforeAll(async () => {
  vm = await startGuestVm({ name: "nlt-nested-vm", memoryMiB: 512 });
  const { spec, privateKey } = resolveHost(vm.hostConnection);
  base = { host: spec, sshPrivateKey: privateKey, restoreOnDelete: false };
}, 180_000);

afterAll(async () => {
  await vm?.stop();
});

async function live(): Promise<string> {
  return (await vm.run(["cat", "/sys/module/kvm_amd/parameters/nested"])).stdout;
}

async function managedFile(): Promise<string | undefined> {
  const r = await vm.run(["cat", MANAGED], { allowFailure: true });
  return r.exitCode === 0 ? r.stdout : undefined;
}

/** Reloads kvm_amd by hand with no options: what modprobe.d and the command line say decides. */
async function plainReload(): Promise<void> {
  await vm.run(["rmmod", "kvm_amd"]);
  await vm.run(["modprobe", "kvm_amd"]);
}

async function startHolder(): Promise<number> {
  const r = await vm.run(["kvm-holder", "--daemon"]);
  const m = /pid=(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`kvm-holder said: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

async function stopHolder(pid: number): Promise<void> {
  await vm.run(["kill", String(pid)]);
  for (let i = 0; i < 100; i++) {
    if ((await vm.run(["cat", "/sys/module/kvm_amd/refcnt"])).stdout.trim() === "0") return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("kvm-holder did not release /dev/kvm");
}

async function create(mode: NestedInputs["mode"]): Promise<NestedState> {
  const { inputs } = await provider.check({}, { ...base, mode });
  return (await provider.create(inputs)).outs as NestedState;
}

async function update(olds: NestedState, mode: NestedInputs["mode"]): Promise<NestedState> {
  const { inputs } = await provider.check(olds, { ...base, mode });
  return (await provider.update("id", olds, inputs)).outs as NestedState;
}

describe("NestedVirtualization on a real kernel over SSH", () => {
  test("check reads the real value of kvm_amd", async () => {
    expect(await live()).toBe("1\n");
    const outs = await create("check");
    expect(outs).toMatchObject({
      vendor: "amd",
      cpuVendorId: "AuthenticAMD",
      module: "kvm_amd",
      moduleState: "loaded",
      nested: true,
      persisted: null,
      nestedAfterReboot: true,
      pendingReboot: false,
      runningGuests: 0,
      kernelRelease: vm.kit.kernelVersion,
    });
    await provider.delete("id", outs);
    expect(await managedFile()).toBeUndefined();
  });

  test("disable then enable really reload kvm_amd, the value reads back, and modprobe honours the file", async () => {
    const off = await create("disable");
    expect(await live()).toBe("0\n");
    expect(await managedFile()).toBe(`${HEADER}options kvm_amd nested=0\n`);
    expect([off.nested, off.persisted, off.pendingReboot, off.previousNested]).toEqual([
      false,
      false,
      false,
      true,
    ]);

    // The file alone decides a plain reload.
    await plainReload();
    expect(await live()).toBe("0\n");

    const on = await update(off, "enable");
    expect(await live()).toBe("1\n");
    expect(await managedFile()).toBe(`${HEADER}options kvm_amd nested=1\n`);
    expect([on.nested, on.persisted, on.pendingReboot]).toEqual([true, true, false]);

    await provider.delete("id", on);
    expect(await managedFile()).toBeUndefined();
    expect(await live()).toBe("1\n");
  });

  test("persist writes modprobe.d only; the outputs say it is pending; a module reload honours it", async () => {
    const off = await create("disable");
    expect(await live()).toBe("0\n");
    const persisted = await update(off, "persist");
    expect(await managedFile()).toBe(`${HEADER}options kvm_amd nested=1\n`);
    expect(await live()).toBe("0\n");
    expect([
      persisted.nested,
      persisted.persisted,
      persisted.nestedAfterReboot,
      persisted.pendingReboot,
    ]).toEqual([false, true, true, true]);

    await plainReload();
    expect(await live()).toBe("1\n");
    const { props } = await provider.read("id", persisted);
    expect([props.nested, props.pendingReboot]).toEqual([true, false]);

    await provider.delete("id", props as NestedState);
    expect(await managedFile()).toBeUndefined();
  });

  test("refresh sees a value changed by hand, and the diff wants to put it back", async () => {
    const on = await create("enable");
    await vm.run(["rmmod", "kvm_amd"]);
    await vm.run(["modprobe", "kvm_amd", "nested=0"]);
    const { props } = await provider.read("id", on);
    expect([props.nested, props.pendingReboot]).toEqual([false, true]);
    expect(
      await provider.diff("id", props as NestedState, { ...base, mode: "enable" }),
    ).toMatchObject({ changes: true });
    const fixed = await update(props as NestedState, "enable");
    expect(fixed.nested).toBe(true);
    expect(await live()).toBe("1\n");
    await provider.delete("id", fixed);
  });

  test("with a KVM guest holding /dev/kvm, enable and disable refuse and the value stays", async () => {
    const off = await create("disable");
    let holder = await startHolder();
    try {
      const { props } = await provider.read("id", off);
      expect(props.guests).toEqual([`kvm-holder (pid ${holder})`]);

      await expect(update(props as NestedState, "enable")).rejects.toThrow(
        `Refusing to reload kvm_amd on ${props.host.ssh!.user}@127.0.0.1:${vm.sshPort}: 1 guest is running (kvm-holder (pid ${holder})). ` +
          "Reloading the module would fail while they hold /dev/kvm, or take KVM away from them. " +
          `Either stop them (virsh shutdown <name>, or end the process) and run again, or use mode "persist" and reboot root@127.0.0.1:${vm.sshPort}: the setting then takes effect at boot.`,
      );
      expect(await live()).toBe("0\n");
      expect(await managedFile()).toBe(`${HEADER}options kvm_amd nested=0\n`);

      await stopHolder(holder);
      const on = await update(props as NestedState, "enable");
      expect(await live()).toBe("1\n");

      holder = await startHolder();
      await expect(update(on, "disable")).rejects.toThrow(
        `1 guest is running (kvm-holder (pid ${holder}))`,
      );
      expect(await live()).toBe("1\n");
      expect(await managedFile()).toBe(`${HEADER}options kvm_amd nested=1\n`);
    } finally {
      await stopHolder(holder);
    }
    const { props } = await provider.read("id", off);
    await provider.delete("id", props as NestedState);
    expect(await managedFile()).toBeUndefined();
  });
});

describe("SSH failures are clear errors", () => {
  test("a host key that does not match the pinned one", async () => {
    const wrongKey =
      "[127.0.0.1]:" +
      vm.sshPort +
      " ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx4cEjXlNUr1kIz8n9oJ7eXn0u8m9P4t0v6vVw0Lr5Q";
    const host = { ...base.host, ssh: { ...base.host.ssh!, knownHosts: wrongKey } };
    await expect(provider.create({ ...base, host, mode: "check" })).rejects.toThrow(
      "The host's SSH key does not match the one pinned in host.ssh.knownHosts (or ~/.ssh/known_hosts): check that this is the right host, then update the pinned key.",
    );
  });

  test("nothing listening: connection refused", async () => {
    const port = await freePort();
    const host = { ...base.host, ssh: { ...base.host.ssh!, port } };
    await expect(provider.create({ ...base, host, mode: "check" })).rejects.toThrow(
      "Nothing accepts SSH at that address and port: check host.ssh.host and host.ssh.port, and that sshd runs there.",
    );
  });

  test("a server that never answers: timeout", async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const host = { ...base.host, ssh: { ...base.host.ssh!, port, connectTimeoutSeconds: 2 } };
      await expect(provider.create({ ...base, host, mode: "check" })).rejects.toThrow(
        "The SSH connection timed out: check the address, routing and firewalls, or raise host.ssh.connectTimeoutSeconds.",
      );
    } finally {
      silent.close();
    }
  });
});

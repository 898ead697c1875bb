import { HostAccess, RunResult } from "../../../components/host/access";
import {
  isNotFound,
  STDIN_FILE,
  throughPipe,
  virsh,
  virshLookup,
} from "../../../components/libvirt/virsh";

// virsh 9.0's stderr, captured on this project's test machine.
const NO_DOMAIN = "error: failed to get domain 'nlt-none'\n";
const NO_NETWORK =
  "error: failed to get network 'nlt-none'\nerror: Network not found: no network with matching name 'nlt-none'\n";
const NO_POOL =
  "error: failed to get pool 'nlt-none'\nerror: Storage pool not found: no storage pool with matching name 'nlt-none'\n";
const NO_CONNECTION =
  "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/virtqemud-sock': No such file or directory\n";

describe("virsh", () => {
  it("builds argv for one connection, quiet, with the arguments as they are", () => {
    expect(virsh("qemu:///system", "define", STDIN_FILE)).toEqual([
      "virsh",
      "--quiet",
      "-c",
      "qemu:///system",
      "define",
      "/proc/self/fd/0",
    ]);
  });

  it("pipes standard input to a program through a fixed script, its argv passed as it is", () => {
    expect(throughPipe(["virsh", "define", "/proc/self/fd/0"])).toEqual([
      "sh",
      "-c",
      'cat | "$@"',
      "sh",
      "virsh",
      "define",
      "/proc/self/fd/0",
    ]);
  });
});

describe("isNotFound", () => {
  it("knows each kind's not-found answer, and only that kind's", () => {
    expect([
      isNotFound("domain", NO_DOMAIN),
      isNotFound("network", NO_NETWORK),
      isNotFound("pool", NO_POOL),
      isNotFound(
        "volume",
        "error: Storage volume not found: no storage vol with matching path 'x'\n",
      ),
    ]).toEqual([true, true, true, true]);
    expect([
      isNotFound("network", NO_DOMAIN),
      isNotFound("domain", NO_POOL),
      isNotFound("pool", NO_NETWORK),
    ]).toEqual([false, false, false]);
  });

  it("never takes a failed connection for a missing object", () => {
    expect(
      (["domain", "network", "pool", "volume"] as const).map((k) => isNotFound(k, NO_CONNECTION)),
    ).toEqual([false, false, false, false]);
  });
});

describe("virshLookup", () => {
  /** A host whose every command ends as `result` says, recording what it ran. */
  function hostAnswering(result: RunResult): HostAccess & { ran: (readonly string[])[] } {
    const ran: (readonly string[])[] = [];
    return {
      label: "this machine",
      ran,
      run: async (argv: readonly string[]) => {
        ran.push(argv);
        return result;
      },
    } as unknown as HostAccess & { ran: (readonly string[])[] };
  }

  it("returns the output of a query whose object exists", async () => {
    const host = hostAnswering({ exitCode: 0, stdout: "running\n", stderr: "" });
    await expect(virshLookup(host, "qemu:///system", "domain", ["domstate", "a"])).resolves.toBe(
      "running\n",
    );
    expect(host.ran).toEqual([["virsh", "--quiet", "-c", "qemu:///system", "domstate", "a"]]);
  });

  it("returns undefined when virsh says the object does not exist", async () => {
    const host = hostAnswering({ exitCode: 1, stdout: "", stderr: NO_POOL });
    await expect(
      virshLookup(host, "qemu:///system", "pool", ["pool-info", "nlt-none"]),
    ).resolves.toBeUndefined();
  });

  it("throws any other failure, naming the command and virsh's words", async () => {
    const host = hostAnswering({ exitCode: 1, stdout: "", stderr: NO_CONNECTION });
    await expect(
      virshLookup(host, "qemu:///system", "network", ["net-info", "lab"]),
    ).rejects.toThrow(
      "virsh net-info lab on this machine failed: error: failed to connect to the hypervisor\n" +
        "error: Failed to connect socket to '/var/run/libvirt/virtqemud-sock': No such file or directory",
    );
  });
});

import { HostAccess } from "../../../components/host/access";
import { checkPorts } from "../../../components/domain/preflight";
import { ResolvedDomainSpec } from "../../../components/domain/spec";
import { DomainInputs } from "../../../components/domain/inputs";

// `ss -H -l -n -t` on a host where the domain itself holds VNC on 127.0.0.1:5957
// and something else listens on 10.0.0.5:5958.
const SS_TCP = [
  "LISTEN 0      1          127.0.0.1:5957       0.0.0.0:*",
  "LISTEN 0      128         10.0.0.5:5958       0.0.0.0:*",
].join("\n");

const host = {
  label: "this machine",
  hasCommand: async () => true,
  run: async (argv: readonly string[]) => ({
    exitCode: 0,
    stdout: argv.includes("-t") ? SS_TCP : "",
    stderr: "",
  }),
} as unknown as HostAccess;

const olds = {
  domainName: "jiaoshiji",
  vnc: { listen: "127.0.0.1", display: 57 },
} as unknown as Partial<DomainInputs>;
const spec = (vnc: object) => ({ vnc }) as unknown as ResolvedDomainSpec;

test("VNC moved from 127.0.0.1 to 0.0.0.0 on the same port: the listener there is the domain's own, released by the restart", async () => {
  await expect(
    checkPorts(host, spec({ listen: "0.0.0.0", display: 57 }), olds, "qemu:///system"),
  ).resolves.toBeUndefined();
});

test("a port someone else holds is still refused, naming the argument", async () => {
  await expect(
    checkPorts(host, spec({ listen: "0.0.0.0", display: 58 }), olds, "qemu:///system"),
  ).rejects.toThrow(
    "vnc.display: 5958 is not valid; expected a TCP port that is free on 0.0.0.0 of this machine",
  );
});

describe("a replacement, checked again by the engine without its olds (a rename)", () => {
  const OWNER = "nestlab/dev/rhce-classroom";
  // The running domain under its old name, recorded as this resource's, holds 127.0.0.1:5957.
  const definition = (owner: string) =>
    `<domain type="qemu"><name>jiaoshiji</name><metadata><nestlab:owner xmlns:nestlab="urn:nestlab:domain:1">${owner}</nestlab:owner></metadata>` +
    `<devices><graphics type="vnc" port="5957" autoport="no" listen="127.0.0.1"/></devices></domain>`;
  const hostWith = (owner: string) =>
    ({
      label: "this machine",
      hasCommand: async () => true,
      run: async (argv: readonly string[]) => ({
        exitCode: 0,
        stdout: argv.includes("-t")
          ? SS_TCP
          : argv.includes("list")
            ? "jiaoshiji\n"
            : argv.includes("dumpxml")
              ? definition(owner)
              : "",
        stderr: "",
      }),
    }) as unknown as HostAccess;
  const renamed = {
    domainName: "jiaoshiji-2",
    owner: OWNER,
    vnc: { listen: "127.0.0.1", display: 57 },
  };

  test("the port the resource's running domain holds is its own", async () => {
    await expect(
      checkPorts(hostWith(OWNER), renamed as unknown as ResolvedDomainSpec, {}, "qemu:///system"),
    ).resolves.toBeUndefined();
  });

  test("the same port held by another resource's domain is refused", async () => {
    await expect(
      checkPorts(
        hostWith("nestlab/dev/other"),
        renamed as unknown as ResolvedDomainSpec,
        {},
        "qemu:///system",
      ),
    ).rejects.toThrow(
      "vnc.display: 5957 is not valid; expected a TCP port that is free on 127.0.0.1 of this machine",
    );
  });
});

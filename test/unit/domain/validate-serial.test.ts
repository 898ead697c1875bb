import { resolveDomainSpec } from "../../../components/domain/resolve";
import { DomainSpec, UNKNOWN } from "../../../components/domain/spec";
import { validateDomainSpec } from "../../../components/domain/validate";

const ok: DomainSpec = {
  domainName: "nlt-domain-serial",
  memoryMiB: 256,
  vcpus: 1,
  cpu: { mode: "custom", model: "qemu64" },
  disks: [{ path: "/var/lib/libvirt/images/a.qcow2" }],
  owner: "p/s/n",
};

const withSerial = (serial: unknown): DomainSpec => ({ ...ok, serial }) as DomainSpec;

describe("a TCP serial console (it has no authentication)", () => {
  it.each(["0.0.0.0", "::", "192.168.122.1"])(
    "is refused on %s unless allowRemote says so",
    (host) => {
      expect(() => validateDomainSpec(withSerial({ type: "tcp", host, port: 4444 }))).toThrow(
        `serial.host: "${host}" is not valid; expected 127.0.0.1 (the default) or another loopback address, or set serial.allowRemote: true to listen on the network anyway (a serial console has no authentication: whoever reaches the port gets the guest's console; an SSH tunnel to 127.0.0.1 keeps it private).`,
      );
      expect(() =>
        validateDomainSpec(withSerial({ type: "tcp", host, port: 4444, allowRemote: false })),
      ).toThrow(`serial.host: "${host}" is not valid; expected 127.0.0.1 (the default)`);
    },
  );

  it.each(["0.0.0.0", "::", "192.168.122.1"])("listens on %s with allowRemote: true", (host) => {
    expect(() =>
      validateDomainSpec(withSerial({ type: "tcp", host, port: 4444, allowRemote: true })),
    ).not.toThrow();
  });

  it.each([undefined, "127.0.0.1", "127.0.0.2", "::1"])(
    "listens on loopback (%s) without being asked",
    (host) => {
      expect(() => validateDomainSpec(withSerial({ type: "tcp", host, port: 4444 }))).not.toThrow();
    },
  );

  it("refuses an allowRemote that is not a boolean", () => {
    expect(() =>
      validateDomainSpec(
        withSerial({ type: "tcp", host: "0.0.0.0", port: 4444, allowRemote: "true" }),
      ),
    ).toThrow('serial.allowRemote: "true" is not valid; expected true or false.');
  });

  it("waits for a host that is not known yet", () => {
    expect(() =>
      validateDomainSpec(withSerial({ type: "tcp", host: UNKNOWN, port: 4444 })),
    ).not.toThrow();
  });

  it("leaves allowRemote out of the domain: setting it alone changes nothing", () => {
    const facts = { domainType: "qemu", hostVendor: "amd" } as const;
    const plain = resolveDomainSpec(
      withSerial({ type: "tcp", host: "127.0.0.1", port: 4444 }),
      facts,
      false,
    );
    const asked = resolveDomainSpec(
      withSerial({ type: "tcp", host: "127.0.0.1", port: 4444, allowRemote: true }),
      facts,
      false,
    );
    expect(asked).toEqual(plain);
  });
});

import {
  acpiWaitSeconds,
  DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
} from "../../../components/domain/resolve";

describe("acpiWaitSeconds: how long a stop waits for the guest to answer ACPI", () => {
  it("waits the default for a domain that boots from a disk", () => {
    expect(acpiWaitSeconds({ disks: [{ path: "/var/lib/x.qcow2" }] })).toBe(
      DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
    );
    expect(DEFAULT_SHUTDOWN_TIMEOUT_SECONDS).toBe(60);
  });

  it("waits shutdownTimeoutSeconds when it is given", () => {
    expect(acpiWaitSeconds({ disks: [{ path: "/x" }], shutdownTimeoutSeconds: 7 })).toBe(7);
    expect(acpiWaitSeconds({ disks: [{ path: "/x" }], shutdownTimeoutSeconds: 0 })).toBe(0);
  });

  it("waits for a kernel booted directly, or one a NIC may boot", () => {
    expect(acpiWaitSeconds({ disks: [], boot: { kernel: "/k" }, shutdownTimeoutSeconds: 9 })).toBe(
      9,
    );
    expect(acpiWaitSeconds({ disks: [], networks: [{ network: "default" }] })).toBe(60);
  });

  it("does not wait for a domain with nothing to boot: no OS can answer", () => {
    expect(acpiWaitSeconds({ disks: [] })).toBe(0);
    expect(acpiWaitSeconds({ disks: [], networks: [], shutdownTimeoutSeconds: 120 })).toBe(0);
    expect(acpiWaitSeconds({})).toBe(0);
  });
});

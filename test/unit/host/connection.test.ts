import { describeHost, resolveHost } from "../../../components/host/connection";

describe("resolveHost", () => {
  it("defaults to this machine and qemu:///system", () => {
    expect(resolveHost(undefined)).toEqual({ spec: { libvirtUri: "qemu:///system", rootDir: "" } });
  });

  it("fills SSH defaults and keeps the key apart from the spec", () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n";
    const r = resolveHost({ ssh: { host: "hv1.example", privateKey: key } });
    expect(r).toEqual({
      spec: {
        libvirtUri: "qemu:///system",
        rootDir: "",
        ssh: {
          host: "hv1.example",
          port: 22,
          user: "root",
          knownHosts: undefined,
          connectTimeoutSeconds: 15,
        },
      },
      privateKey: key,
    });
    expect(JSON.stringify(r.spec)).not.toContain("BEGIN");
  });

  it("drops a trailing slash of rootDir", () => {
    expect(resolveHost({ rootDir: "/tmp/tree/" }).spec.rootDir).toBe("/tmp/tree");
  });

  it.each([
    [
      { libvirtUri: "system" },
      'host.libvirtUri: "system" is not valid; expected a libvirt URI such as "qemu:///system" or "qemu+ssh://root@host/system".',
    ],
    [
      { rootDir: "tree" },
      'host.rootDir: "tree" is not valid; expected an absolute path, or nothing.',
    ],
    [
      { ssh: { host: "bad host;rm" } },
      'host.ssh.host: "bad host;rm" is not valid; expected a host name or IP address.',
    ],
    [
      { ssh: { host: "h", port: 70000 } },
      "host.ssh.port: 70000 is not valid; expected a TCP port from 1 to 65535.",
    ],
    [
      { ssh: { host: "h", user: "-oProxyCommand=x" } },
      'host.ssh.user: "-oProxyCommand=x" is not valid; expected a user name (letters, digits, _ . -).',
    ],
    [
      { ssh: { host: "h", connectTimeoutSeconds: 0 } },
      "host.ssh.connectTimeoutSeconds: 0 is not valid; expected a whole number of seconds, 1 or more.",
    ],
  ])("refuses %j", (conn, message) => {
    expect(() => resolveHost(conn)).toThrow(message);
  });

  it("never echoes a malformed private key", () => {
    expect(() => resolveHost({ ssh: { host: "h", privateKey: "hunter2" } })).toThrow(
      'host.ssh.privateKey: "(secret)" is not valid; expected an OpenSSH or PEM private key',
    );
    try {
      resolveHost({ ssh: { host: "h", privateKey: "hunter2" } });
    } catch (e) {
      expect(String(e)).not.toContain("hunter2");
    }
  });
});

describe("describeHost", () => {
  it("labels local and SSH hosts", () => {
    expect(describeHost({ libvirtUri: "qemu:///system", rootDir: "" })).toBe("this machine");
    expect(describeHost(resolveHost({ ssh: { host: "h", port: 2200, user: "admin" } }).spec)).toBe(
      "admin@h:2200",
    );
  });
});

import { explainSshFailure, shellQuote, sshArgv } from "../../../components/host/ssh-argv";

const ssh = { host: "lab.example", port: 2222, user: "root", connectTimeoutSeconds: 15 };
const files = {
  controlPath: "/tmp/x/cm",
  identityFile: "/tmp/x/id",
  knownHostsFile: "/tmp/x/known_hosts",
};

describe("sshArgv", () => {
  it("passes the remote argv as one quoted command after the options", () => {
    expect(sshArgv(ssh, files, ["qemu-img", "info", "/images/my disk.vmdk"])).toEqual([
      "ssh",
      "-o", "BatchMode=yes",
      "-o", "ConnectTimeout=15",
      "-o", "StrictHostKeyChecking=yes",
      "-o", "ServerAliveInterval=15",
      "-o", "ControlMaster=auto",
      "-o", "ControlPath=/tmp/x/cm",
      "-o", "ControlPersist=60",
      "-o", "LogLevel=ERROR",
      "-o", "UserKnownHostsFile=/tmp/x/known_hosts",
      "-o", "IdentitiesOnly=yes",
      "-i", "/tmp/x/id",
      "-p", "2222",
      "-l", "root",
      "--",
      "lab.example",
      "env LC_ALL=C qemu-img info '/images/my disk.vmdk'",
    ]); // prettier-ignore
  });

  it("prefixes environment variables with env, sorted", () => {
    const argv = sshArgv(ssh, { controlPath: "/c" }, ["true"], { B: "2", A: "x y" });
    expect(argv[argv.length - 1]).toBe("env 'A=x y' B=2 LC_ALL=C true");
  });

  it("runs the remote command in the C locale, whatever locale is asked for", () => {
    const argv = sshArgv(ssh, { controlPath: "/c" }, ["virsh", "list"], { LC_ALL: "de_DE.UTF-8" });
    expect(argv[argv.length - 1]).toBe("env LC_ALL=C virsh list");
  });

  it("gives a command a connection of its own when no master socket is given", () => {
    const argv = sshArgv(ssh, { identityFile: "/tmp/x/id" }, ["true"]);
    expect(argv.slice(0, 15)).toEqual([
      "ssh",
      "-o", "BatchMode=yes",
      "-o", "ConnectTimeout=15",
      "-o", "StrictHostKeyChecking=yes",
      "-o", "ServerAliveInterval=15",
      "-o", "ControlPath=none",
      "-o", "LogLevel=ERROR",
      "-o", "IdentitiesOnly=yes",
    ]); // prettier-ignore
    expect(argv.some((a) => a.startsWith("ControlMaster") || a.startsWith("ControlPersist"))).toBe(
      false,
    );
  });

  it("uses the agent and known_hosts when no key or pinned host key is given", () => {
    const argv = sshArgv(ssh, { controlPath: "/c" }, ["true"]);
    expect(argv).not.toContain("-i");
    expect(argv.some((a) => a.startsWith("UserKnownHostsFile="))).toBe(false);
  });
});

describe("shellQuote", () => {
  it.each([
    ["plain", "plain"],
    ["/var/lib/libvirt/images/a.qcow2", "/var/lib/libvirt/images/a.qcow2"],
    ["with space", "'with space'"],
    ["$(reboot)", "'$(reboot)'"],
    ["it's", "'it'\\''s'"],
    ["", "''"],
    ["a;b|c&d", "'a;b|c&d'"],
  ])("quotes %j as %s", (arg, quoted) => {
    expect(shellQuote(arg)).toBe(quoted);
  });
});

describe("explainSshFailure", () => {
  it("names the pinned host key on a key mismatch", () => {
    expect(explainSshFailure("Host key verification failed.\n")).toMatch(
      /^The host's SSH key does not match/,
    );
  });
  it("says nothing listens on a refused connection", () => {
    expect(explainSshFailure("ssh: connect to host 127.0.0.1 port 1: Connection refused")).toMatch(
      /^Nothing accepts SSH/,
    );
  });
  it("points at the timeout setting on a timeout", () => {
    expect(
      explainSshFailure("ssh: connect to host 10.9.9.9 port 22: Connection timed out"),
    ).toMatch(/connectTimeoutSeconds/);
  });
  it("returns undefined for other errors", () => {
    expect(explainSshFailure("something else")).toBeUndefined();
  });
});

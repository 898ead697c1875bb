import * as net from "net";
import { provider } from "../../../components/lab/lab-machine-provider";
import { freePort } from "../../support/ports";

// A lab machine's delete reaches the classroom host over SSH. Only a classroom
// host that is off (nothing listens at its SSH forward) means the machines
// inside it are off too; any other failure to reach it is an error, never
// success while the machines may still run. No VM: ssh against local ports.

jest.setTimeout(60_000);

const state = (port: number) => ({
  host: {
    libvirtUri: "qemu:///system",
    rootDir: "",
    ssh: {
      host: "127.0.0.1",
      port,
      user: "root",
      connectTimeoutSeconds: 5,
      knownHosts: `[127.0.0.1]:${port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ`,
    },
  },
  domainName: "server",
  bootTimeoutSeconds: 10,
  shutdownTimeoutSeconds: 10,
  state: "running",
});

test("a classroom host that is off (its SSH port refuses): the machine is gone with it", async () => {
  await expect(provider.delete("id", state(await freePort()))).resolves.toBeUndefined();
});

test("a classroom host that answers, but not over SSH: the delete fails, naming it", async () => {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    await expect(provider.delete("id", state(port))).rejects.toThrow(
      `\`virsh --quiet -c qemu:///system domstate server\` on root@127.0.0.1:${port} did not finish:`,
    );
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

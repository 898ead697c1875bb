import { resolveDomainSpec } from "./resolve";
import { renderDomainXml } from "./render";
const spec = resolveDomainSpec({
  domainName: process.argv[2] ?? "nlt-domain-x", memoryMiB: 256, maxMemoryMiB: 512, vcpus: 1, maxVcpus: 2, topology: {sockets: 1, cores: 2, threads: 1},
  cpu: { mode: (process.argv[3] as any) ?? "custom", model: process.argv[3] && process.argv[3] !== "custom" ? undefined : "qemu64" },
  disks: [{ path: "/tmp/nlt-domain-explore/disk.qcow2" }, {path: "/tmp/nlt-domain-explore/disk.qcow2", bus: "sata"}, {path: "/tmp/nlt-domain-explore/disk.qcow2", bus: "ide", readonly: true, device: "cdrom"}],
  networks: [{ user: { forwards: [{ hostPort: 47022, guestPort: 22 }] } }, { network: "default" }],
  vnc: {}, serial: { type: "tcp", port: 47001 }, owner: "p/s/n",
}, { domainType: "qemu", hostVendor: "amd" }, false);
process.stdout.write(renderDomainXml(spec));

import { validateDomainSpec } from "../../../components/domain/validate";
import { DomainSpec } from "../../../components/domain/spec";
import { validateLabMachines } from "../../../components/lab/lab-machines";
import { validateNetworkSpec } from "../../../components/network/network-xml";
import {
  defaultVolumeName,
  validatePoolName,
  validateVolumeArgs,
} from "../../../components/volume/args";

// Every name that reaches virsh or a pool folder as an argument: one that
// starts with "-" would be read as an option, one that holds "/" as a path.
// Each is refused with its rule, naming the argument.

const domain: DomainSpec = {
  domainName: "nlt-names",
  memoryMiB: 256,
  vcpus: 1,
  cpu: { mode: "custom", model: "qemu64" },
  disks: [{ path: "/var/lib/libvirt/images/a.qcow2" }],
  owner: "p/s/n",
};
const DOMAIN_RULE =
  'a libvirt domain name: 1 to 200 characters, not starting with "-", no "/", no newline or other control characters, not only digits and not shaped like a UUID';
const REF_RULE = '(not empty, not starting with "-", no "/" or control characters)';
const VOLUME_RULE =
  'a file name for the volume (letters, digits, _ . + -, not starting with . or -), e.g. "classroom.qcow2"';

const CASES: readonly [string, () => unknown, string][] = [
  ...["--help", "-x", "a/b"].map((name): [string, () => unknown, string] => [
    `domainName ${name}`,
    () => validateDomainSpec({ ...domain, domainName: name }),
    `domainName: "${name}" is not valid; expected ${DOMAIN_RULE}.`,
  ]),
  [
    "a disk's volume.pool -p",
    () => validateDomainSpec({ ...domain, disks: [{ volume: { pool: "-p", volumeName: "a" } }] }),
    `disks[0].volume.pool: "-p" is not valid; expected a libvirt storage pool name ${REF_RULE}.`,
  ],
  [
    "a disk's volume.volumeName -v",
    () => validateDomainSpec({ ...domain, disks: [{ volume: { pool: "p", volumeName: "-v" } }] }),
    `disks[0].volume.volumeName: "-v" is not valid; expected a volume name in that pool ${REF_RULE}.`,
  ],
  [
    "a NIC's network -n",
    () => validateDomainSpec({ ...domain, networks: [{ network: "-n" }] }),
    `networks[0].network: "-n" is not valid; expected a libvirt network name ${REF_RULE}.`,
  ],
  ...["-p", "a/b"].map((name): [string, () => unknown, string] => [
    `pool ${name}`,
    () => validatePoolName(name),
    `pool: "${name}" is not valid; expected the name of a libvirt storage pool (letters, digits, _ . + -, not starting with . or -), as \`virsh pool-list --all\` shows it.`,
  ]),
  ...["-v.qcow2", "a/b.qcow2"].map((name): [string, () => unknown, string] => [
    `volumeName ${name}`,
    () => validateVolumeArgs({ source: "/srv/a.vmdk", pool: "p", volumeName: name }),
    `volumeName: "${name}" is not valid; expected ${VOLUME_RULE}.`,
  ]),
  ...["-disk", "lab/disk"].map((resource): [string, () => unknown, string] => [
    `the default volumeName of a resource named ${resource}`,
    () => defaultVolumeName(resource, "qcow2"),
    `volumeName: "${resource}.qcow2" is not valid; expected ${VOLUME_RULE}; the default, the resource's name + ".qcow2", is not one: set volumeName.`,
  ]),
  ...["-n", "a/b"].map((name): [string, () => unknown, string] => [
    `networkName ${name}`,
    () => validateNetworkSpec({ networkName: name, address: "192.168.150.1" }),
    `networkName: "${name}" is not valid; expected a libvirt network name (letters, digits, _ . + -, not starting with . or -), e.g. "rhce".`,
  ]),
  ...["-x", "a/b"].map((name): [string, () => unknown, string] => [
    `a lab machine ${name}`,
    () => validateLabMachines(["server", name]),
    `labMachines: ["server","${name}"] is not valid; expected a list of libvirt domain names defined inside the classroom host, e.g. ["classroom", "server", "desktop"].`,
  ]),
];

describe("names that virsh would take for an option or a path", () => {
  it.each(CASES)("refuses %s", (_name, validate, message) => {
    expect(validate).toThrow(message);
  });

  it("takes the default volume name of an ordinary resource name", () => {
    expect(defaultVolumeName("rhce-disk", "qcow2")).toBe("rhce-disk.qcow2");
    expect(defaultVolumeName("rhce-disk", "img")).toBe("rhce-disk.img");
  });
});

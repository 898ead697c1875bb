import * as pulumi from "@pulumi/pulumi";
import { parseLabConfig, RhceLab } from "./components";

// Stack config → RhceLab → outputs. Every key is checked once, in parseLabConfig.
const config = new pulumi.Config("nestlab");
const settings = parseLabConfig(
  {
    source: config.get("source"),
    pool: config.get("pool"),
    poolPath: config.get("poolPath"),
    volumeName: config.get("volumeName"),
    onSourceChange: config.get("onSourceChange"),
    hostNested: config.get("hostNested"),
    libvirtUri: config.get("libvirtUri"),
    classroom: config.getObject("classroom"),
    labMachines: config.getObject("labMachines"),
    classroomHostKey: config.get("classroomHostKey"),
    classroomAccess: config.get("classroomAccess"),
    natNetwork: config.getObject("natNetwork"),
  },
  process.env,
);

/** The classroom host's SSH key: written into its disk by the stack ("prepare"), or the image's own. */
const prepare = settings.classroomAccess === "prepare";
const sshKey = config.getSecret("classroomSshKey");
const keys =
  settings.labMachines.length === 0 || prepare
    ? undefined
    : { privateKey: config.requireSecret("classroomSshKey"), hostKey: settings.classroomHostKey! };

const lab = new RhceLab("rhce", {
  host: settings.libvirtUri ? { libvirtUri: settings.libvirtUri } : undefined,
  source: settings.source,
  pool: settings.pool,
  poolPath: settings.poolPath,
  volumeName: settings.volumeName,
  onSourceChange: settings.onSourceChange,
  hostNested: settings.hostNested,
  classroom: settings.classroom,
  natNetwork: settings.natNetwork,
  classroomAccess: prepare ? { privateKey: sshKey } : undefined,
  labMachines:
    settings.labMachines.length === 0
      ? undefined
      : {
          names: settings.labMachines,
          sshPrivateKey: keys?.privateKey,
          sshHostPublicKey: keys?.hostKey,
        },
});

export const volumePath = lab.volume.path;
export const volumeChain = lab.volume.chain;
export const classroomState = lab.classroom.state;
export const vncAddress = lab.vncAddress;
export const serialAddress = lab.serialAddress;
export const sshAddress = lab.sshAddress;
// With classroomAccess "prepare": root's key into the classroom host (a secret), its
// public line and the host key read from the disk (`ssh-keyscan`-free known_hosts).
export const classroomPrivateKey = lab.classroomPrivateKey;
export const classroomPublicKey = lab.classroomPublicKey;
export const classroomHostKey = lab.classroomHostKey;
export const labMachines = Object.fromEntries(
  Object.entries(lab.labMachines).map(([name, m]) => [name, m.state]),
);
export const hostNested = lab.nested
  ? {
      vendor: lab.nested.vendor,
      nested: lab.nested.nested,
      pendingReboot: lab.nested.pendingReboot,
    }
  : "skipped";

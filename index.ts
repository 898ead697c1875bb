import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "fs";
import * as path from "path";
import { parseLabConfig, RhceLab } from "./components";
import { STANDIN_HOST_KEY, STANDIN_SSH_KEY } from "./components/lab/config";

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
    natNetwork: config.getObject("natNetwork"),
  },
  process.env,
);

/** The classroom host's SSH keys: the stand-in's own, or the stack's secret. */
function classroomKeys(): { privateKey: pulumi.Input<string>; hostKey: string } | undefined {
  if (settings.labMachines.length === 0) return undefined;
  if (settings.standinDir) {
    const read = (name: string) => {
      try {
        return readFileSync(path.join(settings.standinDir!, name), "utf8");
      } catch {
        throw new Error(
          `nestlab:source is "standin" but no stand-in image is built (${settings.standinDir}): run \`npm run image:standin\``,
        );
      }
    };
    return {
      privateKey: pulumi.secret(read(STANDIN_SSH_KEY)),
      hostKey: read(STANDIN_HOST_KEY).trim(),
    };
  }
  return {
    privateKey: config.requireSecret("classroomSshKey"),
    hostKey: settings.classroomHostKey!,
  };
}

const keys = classroomKeys();
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
  labMachines: keys && {
    names: settings.labMachines,
    sshPrivateKey: keys.privateKey,
    sshHostPublicKey: keys.hostKey,
  },
});

export const volumePath = lab.volume.path;
export const volumeChain = lab.volume.chain;
export const classroomState = lab.classroom.state;
export const vncAddress = lab.vncAddress;
export const serialAddress = lab.serialAddress;
export const sshAddress = lab.sshAddress;
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

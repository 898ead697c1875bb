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
    hostNested: config.get("hostNested"),
    libvirtUri: config.get("libvirtUri"),
    classroom: config.getObject("classroom"),
  },
  process.env,
);

const lab = new RhceLab("rhce", {
  host: settings.libvirtUri ? { libvirtUri: settings.libvirtUri } : undefined,
  source: settings.source,
  pool: settings.pool,
  poolPath: settings.poolPath,
  volumeName: settings.volumeName,
  hostNested: settings.hostNested,
  classroom: settings.classroom,
});

export const volumePath = lab.volume.path;
export const volumeChain = lab.volume.chain;
export const classroomState = lab.classroom.state;
export const vncAddress = lab.vncAddress;
export const serialAddress = lab.serialAddress;
export const sshAddress = lab.sshAddress;
export const hostNested = lab.nested
  ? {
      vendor: lab.nested.vendor,
      nested: lab.nested.nested,
      pendingReboot: lab.nested.pendingReboot,
    }
  : "skipped";

import * as pulumi from "@pulumi/pulumi";
import { NestedDomain } from "../../../../components/domain";
import { ConvertedVolume } from "../../../../components/volume";

// Config: source (a vmdk on this machine), pool, domainName. A tiny TCG guest
// with nothing but the volume: it only needs to hold the file open.
const config = new pulumi.Config();
const volume = new ConvertedVolume("e2e-disk", {
  source: config.require("source"),
  pool: config.require("pool"),
  volumeName: `${config.require("domainName")}.qcow2`,
});
const domain = new NestedDomain("e2e-guest", {
  domainName: config.require("domainName"),
  memoryMiB: 64,
  vcpus: 1,
  cpu: { mode: "custom", model: "qemu64" },
  disks: [{ volume }],
  serial: { type: "pty" },
  shutdownTimeoutSeconds: 0,
});

export const volumePath = volume.path;
export const uuid = domain.uuid;
export const state = domain.state;

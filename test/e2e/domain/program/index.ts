import * as pulumi from "@pulumi/pulumi";
import { NestedDomain } from "../../../../components/domain";

// Config: domainName, disk (a qcow2 on this machine), memoryMiB, maxMemoryMiB, cpuModel,
// vncPort (a fixed VNC port).
const config = new pulumi.Config();
const domain = new NestedDomain("e2e-domain", {
  domainName: config.require("domainName"),
  memoryMiB: config.requireNumber("memoryMiB"),
  maxMemoryMiB: config.requireNumber("maxMemoryMiB"),
  vcpus: 1,
  cpu: { mode: "custom", model: config.require("cpuModel") },
  disks: [{ path: config.require("disk") }],
  vnc: { port: config.requireNumber("vncPort") },
  serial: { type: "pty" },
  shutdownTimeoutSeconds: 2,
});

export const uuid = domain.uuid;
export const state = domain.state;
export const vncAddress = domain.vncAddress;
export const liveMemoryMiB = domain.liveMemoryMiB;
export const pendingRestart = domain.pendingRestart;

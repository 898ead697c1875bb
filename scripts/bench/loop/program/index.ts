import * as pulumi from "@pulumi/pulumi";
import { ConvertedVolume, NestedDomain } from "../../../../components";

// The project's side of `npm run bench:loop`; the peer's is ../terraform.
// Config `what`: "domain" (domainName, vncPort, serialPort) or "volume"
// (source, pool, volumeName), the same inputs the peer gets; or "empty", no
// resource at all: what the engine and the language runtime cost alone.
const config = new pulumi.Config();
const what = config.require("what");

export const outputs: Record<string, pulumi.Output<unknown>> = {};
if (what === "domain") {
  // A guest with no OS: 256 MiB, a custom qemu64 CPU (svm is added: the
  // domain runs under TCG), VNC and a TCP serial console on 127.0.0.1.
  const domain = new NestedDomain("bench", {
    domainName: config.require("domainName"),
    domainType: "qemu",
    memoryMiB: 256,
    vcpus: 1,
    cpu: { mode: "custom", model: "qemu64" },
    disks: [],
    vnc: { port: config.requireNumber("vncPort") },
    serial: { type: "tcp", port: config.requireNumber("serialPort") },
  });
  outputs.state = domain.state;
} else if (what === "volume") {
  const volume = new ConvertedVolume("bench", {
    source: config.require("source"),
    pool: config.require("pool"),
    volumeName: config.require("volumeName"),
  });
  outputs.path = volume.path;
} else if (what !== "empty") {
  throw new Error(
    `config "what" must be "domain", "volume" or "empty", not ${JSON.stringify(what)}`,
  );
}

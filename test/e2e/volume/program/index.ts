import * as pulumi from "@pulumi/pulumi";
import { ConvertedVolume } from "../../../../components/volume";

// Config: source (a vmdk on this machine), pool, volumeName; retain=true keeps the volume on destroy.
const config = new pulumi.Config();
const volume = new ConvertedVolume(
  "e2e-disk",
  {
    source: config.require("source"),
    pool: config.require("pool"),
    volumeName: config.require("volumeName"),
  },
  { retainOnDelete: config.getBoolean("retain") ?? false },
);

export const path = volume.path;
export const format = volume.format;
export const virtualSizeBytes = volume.virtualSizeBytes;
export const chain = volume.chain;

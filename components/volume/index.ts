export { ConvertedVolume } from "./converted-volume";
export type { ConvertedVolumeArgs, CreatePoolArgs } from "./converted-volume";
export type { ConversionMode, Preallocation, Qcow2Compat } from "./args";
export type { ChainLink } from "./chain";
export type { ImageFormat } from "./confine";
export { OverlayVolume } from "./overlay-volume";
export type { OverlayVolumeArgs } from "./overlay-volume";
export type { BackingFormat } from "./overlay";

export * from "./nested-domain";
export type {
  CpuMode,
  DiskBus,
  DiskDevice,
  DiskFormat,
  DomainType,
  FeaturePolicy,
  HostVendor,
  NicModel,
  XmlPatch,
} from "./spec";

export { NestedVirtualization } from "./nested-virtualization";
export type { NestedVirtualizationArgs } from "./nested-virtualization";
export { NESTED_MODES } from "./args";
export type { NestedMode } from "./args";
export type { CpuVendor, KvmModule } from "../libvirt/cpu";
export type { ModuleState } from "./kernel-module";
export { MANAGED_FILE } from "./modprobe-conf";

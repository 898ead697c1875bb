export { NestedVirtualization, NestedVirtualizationArgs } from "./nested-virtualization";
export { NestedMode, NESTED_MODES } from "./args";
export { CpuVendor, KvmModule } from "./cpuinfo";
export { ModuleState } from "./kernel-module";
export { MANAGED_FILE } from "./modprobe-conf";

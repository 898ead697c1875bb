/** The public entry: the components and their argument types. */
export type { HostConnection, SshConnectionArgs } from "./host/connection";
export { NestedVirtualization } from "./nested/nested-virtualization";
export type { NestedVirtualizationArgs } from "./nested/nested-virtualization";
export { ConvertedVolume } from "./volume/converted-volume";
export type { ConvertedVolumeArgs } from "./volume/converted-volume";
export { NestedDomain } from "./domain/nested-domain";
export type { NestedDomainArgs } from "./domain/nested-domain";
export { RhceLab } from "./lab/rhce-lab";
export type { RhceLabArgs, ClassroomArgs } from "./lab/rhce-lab";
export { parseLabConfig } from "./lab/config";
export type { LabConfig } from "./lab/config";
export { NatNetwork } from "./network/nat-network";
export type { NatNetworkArgs } from "./network/nat-network";

/** The public entry: the components, their argument types and the unions those use. */
export type { HostConnection, SshConnectionArgs } from "./host/connection";
export * from "./nested";
export * from "./volume";
export * from "./domain";
export { NatNetwork } from "./network/nat-network";
export type { NatNetworkArgs } from "./network/nat-network";
export type { ForwardMode } from "./network/network-xml";
export { RhceLab } from "./lab/rhce-lab";
export type { RhceLabArgs, ClassroomArgs } from "./lab/rhce-lab";
export { parseLabConfig } from "./lab/config";
export type { LabConfig } from "./lab/config";
export { Classroom } from "./classroom/classroom";
export type {
  StudentClassroomArgs,
  ClassroomHypervisorArgs,
  ClassroomStudentArgs,
  ClassroomLabArgs,
} from "./classroom/classroom";
export type { RosterRow } from "./classroom/roster";
export type { Seat } from "./classroom/placement";
export type { AddressingOptions } from "./classroom/addressing";

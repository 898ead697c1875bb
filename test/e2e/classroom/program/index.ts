import * as pulumi from "@pulumi/pulumi";
import { Classroom } from "../../../../components";
import { StudentClassroomArgs } from "../../../../components/classroom/classroom";

// Config: classroom (JSON: the Classroom's arguments; a hypervisor's SSH key left out),
// hypervisorKey (secret): the key of every hypervisor reached over SSH.
const config = new pulumi.Config();
const args = config.requireObject<StudentClassroomArgs>("classroom");
const key = config.getSecret("hypervisorKey");
const classroom = new Classroom("class", {
  ...args,
  hypervisors: args.hypervisors.map((hv) => {
    const ssh = (hv.host as { ssh?: Record<string, unknown> } | undefined)?.ssh;
    return ssh && key ? { ...hv, host: { ...hv.host, ssh: { ...ssh, privateKey: key } } } : hv;
  }) as StudentClassroomArgs["hypervisors"],
});

export const roster = classroom.roster;

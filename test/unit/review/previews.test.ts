import { readFileSync } from "fs";
import * as path from "path";
import { review, ReviewFacts } from "../../../review";
import { gateFailure } from "../../../review/gate";
import { SECRET_SIGNATURE } from "../../../review/values";

// Previews recorded from the real engine (see previews/README.md): the facts
// of each case exactly, and the whole comment for three of them.

const read = (name: string) =>
  readFileSync(path.join(__dirname, "previews", `${name}.json`), "utf8");
const factsOf = (name: string) => review(read(name), "dev").facts;
const rows = (f: ReviewFacts) => f.rows.map((r) => [r.resource, r.action, r.impact, r.detail]);
const consequences = (f: ReviewFacts) => f.consequences.map((c) => [c.kind, c.resource, c.text]);
const answers = (
  losesData: boolean,
  downtime: boolean,
  touchesHost: boolean,
  opensPort: boolean,
) => ({
  losesData,
  downtime,
  touchesHost,
  opensPort,
});

const HOST = "classroom host jiaoshiji";
const DISK = "classroom disk jiaoshiji.qcow2";
const SHUTDOWN = "ACPI shutdown, forced off after 60 s";
const LAB = "and the lab machines in it (classroom, desktop, server) stop with it";
const NESTED_WRITE =
  "The host nested setting writes /etc/modprobe.d/nestlab-kvm.conf on the host and, where nested is not yet on, reloads the KVM module, which needs every guest on the host stopped (refused otherwise).";

test("no change", () => {
  const f = factsOf("no-change");
  expect([rows(f), consequences(f), f.answers, f.properties]).toEqual([
    [],
    [],
    answers(false, false, false, false),
    [],
  ]);
  expect(review(read("no-change"), "dev").markdown).toBe(
    "**No changes** to stack `dev`.\n\n<!-- nestlab-review stack=dev -->\n",
  );
});

test("memory within the maximum: live; the whole comment, under 25 lines", () => {
  const { facts, markdown } = review(read("memory-live"), "dev");
  expect(rows(facts)).toEqual([
    [
      HOST,
      "update",
      "live",
      "memoryMiB (through the guest's balloon driver); applies while running",
    ],
  ]);
  expect(consequences(facts)).toEqual([]);
  expect(facts.answers).toEqual(answers(false, false, false, false));
  expect(markdown).toBe(`**1 change** to stack \`dev\`: 1 live.

Loses data: no · Downtime: no · Touches the host: no · Opens a port: no

| Resource | Action | Impact | Why |
| --- | --- | --- | --- |
| classroom host \`jiaoshiji\` | update | live | memoryMiB (through the guest's balloon driver); applies while running |

<details><summary>Property changes</summary>

**classroom host jiaoshiji**

- \`memoryMiB\`: \`2048\` → \`2560\`

</details>

<!-- nestlab-review stack=dev -->
`);
  expect(markdown.split("\n").length).toBeLessThan(25);
});

test("a CPU model change: a restart that stops the three lab machines; the whole comment", () => {
  const { facts, markdown } = review(read("cpu-model"), "dev");
  expect(rows(facts)).toEqual([[HOST, "update", "restart", `cpu; ${SHUTDOWN}, then started`]]);
  expect(consequences(facts)).toEqual([
    ["downtime", HOST, `${HOST} restarts (cpu): ${SHUTDOWN}, then started again, ${LAB}.`],
  ]);
  expect(facts.answers).toEqual(answers(false, true, false, false));
  expect(markdown).toBe(`**1 change** to stack \`dev\`: 1 restart.

Loses data: no · Downtime: **yes** · Touches the host: no · Opens a port: no

| Resource | Action | Impact | Why |
| --- | --- | --- | --- |
| classroom host \`jiaoshiji\` | update | restart | cpu; ${SHUTDOWN}, then started |

#### Consequences

- **Downtime**: ${HOST} restarts (cpu): ${SHUTDOWN}, then started again, ${LAB}.

<details><summary>Property changes</summary>

**classroom host jiaoshiji**

- \`cpu.model\`: \`"qemu64"\` → \`"Opteron_G2"\`

</details>

<!-- nestlab-review stack=dev -->
`);
});

test("the source's content changed: disk and classroom host replaced, the loss spelled out; the whole comment", () => {
  const { facts, markdown } = review(read("source-changed"), "dev");
  expect(rows(facts)).toEqual([
    [DISK, "replace", "replace", "source content changed"],
    [HOST, "replace", "replace", "disks (disk replaced: the state inside it is lost)"],
  ]);
  const diskLost = `${DISK} is replaced (source content changed): it is deleted and converted again from the source, so everything written inside it since it was made (the classroom host's files and the lab machines' disks within it) is lost.`;
  const conversion = `${DISK} is converted from RHEL7_Server-000002.vmdk and 1 parent: the host reads 669.7 MiB and writes the volume.`;
  const hostLost = `${HOST} is replaced with its disk: it is shut down and undefined before the disk is deleted, then defined and started on the new one, so what ran in it and its memory are lost.`;
  const down = `${HOST} stops (${SHUTDOWN}) while it is replaced, ${LAB}.`;
  expect(consequences(facts)).toEqual([
    ["state-lost", DISK, diskLost],
    ["conversion", DISK, conversion],
    ["state-lost", HOST, hostLost],
    ["downtime", HOST, down],
  ]);
  expect(facts.answers).toEqual(answers(true, true, false, false));
  const source =
    "source content changed: RHEL7_Server-000002.vmdk (CID 6b167eaf → aab3e500, size 15.5 MiB → 15.6 MiB)";
  expect(facts.properties.map((p) => [p.resource, p.source])).toEqual([
    [DISK, [source]],
    [HOST, []],
  ]);
  expect(markdown).toBe(`**2 changes** to stack \`dev\`: 2 replace.

Loses data: **yes** · Downtime: **yes** · Touches the host: no · Opens a port: no

| Resource | Action | Impact | Why |
| --- | --- | --- | --- |
| classroom disk \`jiaoshiji.qcow2\` | replace | replace | source content changed |
| classroom host \`jiaoshiji\` | replace | replace | disks (disk replaced: the state inside it is lost) |

#### Consequences

- **State lost**: ${diskLost}
- **State lost**: ${hostLost}
- **Downtime**: ${down}
- **Conversion**: ${conversion}

<details><summary>Property changes</summary>

**classroom disk jiaoshiji.qcow2**

- ${source}

**classroom host jiaoshiji**

- \`disks\`: \`[{"bus":"virtio","volume":{"pool":"jiaoshiji","volumeName":"jiaoshiji.qcow2"}}]\` → \`(known after up)\`

</details>

<!-- nestlab-review stack=dev -->
`);
  expect(markdown).not.toMatch(/size=|head=|mtime=|cid=/);
  expect(gateFailure(facts, ["replace", "delete"])).toBe(
    `--fail-on replace,delete: ${DISK} (replace), ${HOST} (replace)`,
  );
});

test("a NAT network added: a bridge on the host; the classroom host's new NIC restarts it", () => {
  const f = factsOf("nat-network");
  expect(rows(f)).toEqual([
    ["NAT network jiaoshiji", "create", "create", "192.168.231.1/24"],
    [HOST, "update", "restart", `networks known after up; ${SHUTDOWN}, then started`],
  ]);
  expect(consequences(f)).toEqual([
    [
      "host",
      "NAT network jiaoshiji",
      "The NAT network jiaoshiji adds a bridge with 192.168.231.1/24 to the host and NAT firewall rules.",
    ],
    [
      "downtime",
      HOST,
      `${HOST} may restart (networks known after up): ${SHUTDOWN}, then started again, ${LAB}.`,
    ],
  ]);
  expect(f.answers).toEqual(answers(false, true, true, false));
  expect(f.properties[0]).toEqual({
    resource: "NAT network jiaoshiji",
    action: "create",
    source: [],
    changes: [
      { path: "address", from: "(none)", to: '"192.168.231.1"' },
      { path: "autostart", from: "(none)", to: "true" },
      { path: "mode", from: "(none)", to: '"nat"' },
      { path: "networkName", from: "(none)", to: '"jiaoshiji"' },
      { path: "prefixLength", from: "(none)", to: "24" },
    ],
  });
});

test("VNC moved to 0.0.0.0 with a password: reachable from outside; the password only as [secret]", () => {
  const { facts, markdown } = review(read("vnc-exposed"), "dev");
  expect(rows(facts)).toEqual([
    [HOST, "update", "restart", `vnc, vncPassword; ${SHUTDOWN}, then started`],
  ]);
  expect(consequences(facts)).toEqual([
    [
      "downtime",
      HOST,
      `${HOST} restarts (vnc, vncPassword): ${SHUTDOWN}, then started again, ${LAB}.`,
    ],
    [
      "exposed",
      HOST,
      `VNC of ${HOST} listens on every address of the host, port 42487: anyone who can reach it and has the VNC password gets the console.`,
    ],
  ]);
  expect(facts.answers).toEqual(answers(false, true, false, true));
  expect(facts.properties[0].changes).toEqual([
    { path: "vnc.listen", from: '"127.0.0.1"', to: '"0.0.0.0"' },
    { path: "vncPassword", from: "[secret]", to: "[secret] (changed)" },
  ]);
  expect(markdown).toContain("- **Reachable from outside 127.0.0.1**: VNC of classroom host");
});

test("the nested setting made where the stack skipped it", () => {
  const f = factsOf("nested-create");
  expect(rows(f)).toEqual([
    ["host nested setting", "create", "create", 'mode "enable"'],
    [HOST, "update", "restart", `hostVendor known after up; ${SHUTDOWN}, then started`],
  ]);
  expect(consequences(f)).toEqual([
    ["host", "host nested setting", NESTED_WRITE],
    [
      "downtime",
      HOST,
      `${HOST} may restart (hostVendor known after up): ${SHUTDOWN}, then started again, ${LAB}.`,
    ],
  ]);
  expect(f.answers).toEqual(answers(false, true, true, false));
});

test("nested mode changed on a host without vmx or svm: the review says up will refuse it", () => {
  const f = factsOf("nested-no-kvm");
  expect(rows(f)).toEqual([
    ["host nested setting", "update", "live", 'mode "disable" → "enable"; will be refused'],
    [
      HOST,
      "update",
      "restart",
      "hostVendor known after up; ACPI shutdown, forced off after 3 s, then started",
    ],
  ]);
  expect(consequences(f)).toEqual([
    [
      "host",
      "host nested setting",
      'The host nested setting (mode "disable" → "enable") will be refused: this host\'s CPU has no vmx or svm, so nothing can nest.',
    ],
    [
      "downtime",
      HOST,
      `${HOST} may restart (hostVendor known after up): ACPI shutdown, forced off after 3 s, then started again.`,
    ],
  ]);
  expect(f.answers).toEqual(answers(false, true, true, false));
});

// Built from nested-no-kvm.json: the same preview as a KVM host shows it (see previews/README.md).
test("nested mode changed where it applies: the module reload, refused while the classroom host runs", () => {
  const f = factsOf("nested-reload");
  expect(rows(f)).toEqual([
    ["host nested setting", "update", "restart", 'mode "persist" → "enable"; reloads kvm_intel'],
    [
      HOST,
      "update",
      "restart",
      "hostVendor known after up; ACPI shutdown, forced off after 3 s, then started",
    ],
  ]);
  expect(consequences(f)).toEqual([
    [
      "host",
      "host nested setting",
      'The host nested setting (mode "persist" → "enable") reloads kvm_intel on the host to turn nested on, which needs every guest on the host stopped: jiaoshiji ran on the host at the last refresh, so the update is refused until it is stopped.',
    ],
    [
      "downtime",
      HOST,
      `${HOST} may restart (hostVendor known after up): ACPI shutdown, forced off after 3 s, then started again.`,
    ],
  ]);
  expect(f.answers).toEqual(answers(false, true, true, false));
  expect(gateFailure(f, ["restart"])).toBe(
    `--fail-on restart: host nested setting (restart), ${HOST} (restart)`,
  );
});

test("every case: the same preview gives byte-identical Markdown, and the order of steps does not matter", () => {
  for (const name of ["cpu-model", "nat-network", "source-changed", "nested-reload"]) {
    const text = read(name);
    const digest = JSON.parse(text) as { steps: unknown[] };
    const reversed = JSON.stringify({ ...digest, steps: [...digest.steps].reverse() });
    expect(review(text, "dev").markdown).toBe(review(text, "dev").markdown);
    expect(review(reversed, "dev").markdown).toBe(review(text, "dev").markdown);
  }
});

test("a secret in its serialized form (signature and value) never shows, whatever its place", () => {
  const digest = JSON.parse(read("vnc-exposed")) as {
    steps: { newState?: { inputs: Record<string, unknown> } }[];
  };
  const domain = digest.steps.find((s) => s.newState?.inputs?.updatePlan)!;
  const secret = {
    [SECRET_SIGNATURE]: "1b47061264138c4ac30d75fd1eb44270",
    plaintext: '"Zq81kXe4"',
  };
  domain.newState!.inputs.vncPassword = secret;
  domain.newState!.inputs.xmlPatches = [{ op: "set", xpath: "/domain/title", value: secret }];
  const { facts, markdown } = review(JSON.stringify(digest), "dev");
  expect(markdown).not.toContain("Zq81kXe4");
  expect(JSON.stringify(facts)).not.toContain("Zq81kXe4");
  expect(facts.properties[0].changes).toContainEqual({
    path: "xmlPatches",
    from: "(none)",
    to: '[{"op":"set","value":"[secret]","xpath":"/domain/title"}]',
  });
});

test("a failed preview: the errors, and the gate fails", () => {
  const digest = {
    steps: [],
    diagnostics: [
      { severity: "info", message: "converting" },
      { severity: "error", message: 'vnc.listen: "0.0.0.0" is not valid; expected 127.0.0.1 …\n' },
    ],
  };
  const { facts, markdown } = review(JSON.stringify(digest), "lab");
  expect(facts.errors).toEqual(['vnc.listen: "0.0.0.0" is not valid; expected 127.0.0.1 …']);
  expect(markdown).toBe(
    [
      "**The preview of stack `lab` failed.**",
      "",
      "```",
      'vnc.listen: "0.0.0.0" is not valid; expected 127.0.0.1 …',
      "```",
      "",
      "<!-- nestlab-review stack=lab -->",
      "",
    ].join("\n"),
  );
  expect(gateFailure(facts, [])).toBe("the preview of stack lab failed");
});

test("a lab machine a refresh found stopped: started again, live (built from no-change.json)", () => {
  const digest = JSON.parse(read("no-change")) as {
    steps: { op: string; urn: string; oldState?: { outputs: Record<string, unknown> } }[];
  };
  const server = digest.steps.find((s) => s.urn.endsWith("LabMachine::rhce-lab-server"))!;
  server.op = "update";
  server.oldState!.outputs.state = "shut off";
  const f = review(JSON.stringify(digest), "dev").facts;
  expect(rows(f)).toEqual([["lab machine server", "update", "live", "applies while running"]]);
  expect(consequences(f)).toEqual([]);
  expect(f.properties).toEqual([]);
});

test("the lab machines replaced with the classroom host: why, and no downtime of their own (built from source-changed.json)", () => {
  const digest = JSON.parse(read("source-changed")) as { steps: { op: string; urn: string }[] };
  // The engine replaces each with the classroom host they take their classroomDomainName from, naming no reason.
  for (const s of digest.steps) if (s.urn.includes("LabMachine::")) s.op = "replace";
  const f = review(JSON.stringify(digest), "dev").facts;
  const why = "the classroom host is replaced: started again inside the new one";
  expect(rows(f)).toEqual([
    [DISK, "replace", "replace", "source content changed"],
    [HOST, "replace", "replace", "disks (disk replaced: the state inside it is lost)"],
    ["lab machine classroom", "replace", "replace", why],
    ["lab machine desktop", "replace", "replace", why],
    ["lab machine server", "replace", "replace", why],
  ]);
  // Their stop is said once, by the classroom host's downtime.
  expect(consequences(f).map(([kind, resource]) => [kind, resource])).toEqual([
    ["state-lost", DISK],
    ["conversion", DISK],
    ["state-lost", HOST],
    ["downtime", HOST],
  ]);
  expect(gateFailure(f, ["replace"])).toBe(
    `--fail-on replace: ${DISK} (replace), ${HOST} (replace), lab machine classroom (replace), lab machine desktop (replace), lab machine server (replace)`,
  );
});

import {
  logicalLines,
  MANAGED_FILE,
  modprobeReadOrder,
  nestedSettingsInFile,
  normalizeModuleName,
  parseLiveNested,
  parseNestedValue,
  renderManagedFile,
  revertManagedFile,
  splitOptions,
} from "../../../components/nested/modprobe-conf";

const HEADER =
  "# Written by nestlab (NestedVirtualization): nested virtualization for KVM.\n" +
  "# Destroying the resource restores what was here before.\n";

describe("modprobeReadOrder", () => {
  test("sorts by file name across folders; /etc hides the same name in /run and /lib", () => {
    expect(
      modprobeReadOrder([
        { dir: "/etc/modprobe.d", names: ["zz-local.conf", "kvm.conf", "README", ".hidden.conf"] },
        { dir: "/run/modprobe.d", names: ["kvm.conf", "amd.conf"] },
        { dir: "/usr/local/lib/modprobe.d", names: [] },
        { dir: "/usr/lib/modprobe.d", names: ["systemd.conf", "kvm.conf", "nested.conf.dpkg-old"] },
        { dir: "/lib/modprobe.d", names: ["systemd.conf", "aliases.conf"] },
      ]),
    ).toEqual([
      "/lib/modprobe.d/aliases.conf",
      "/run/modprobe.d/amd.conf",
      "/etc/modprobe.d/kvm.conf",
      "/usr/lib/modprobe.d/systemd.conf",
      "/etc/modprobe.d/zz-local.conf",
    ]);
  });

  test("compares names byte by byte, as strcmp does (upper case before lower case, '-' before '_')", () => {
    expect(
      modprobeReadOrder([
        {
          dir: "/etc/modprobe.d",
          names: ["kvm_intel.conf", "kvm-intel.conf", "Kvm.conf", "kvm.conf"],
        },
      ]),
    ).toEqual([
      "/etc/modprobe.d/Kvm.conf",
      "/etc/modprobe.d/kvm-intel.conf",
      "/etc/modprobe.d/kvm.conf",
      "/etc/modprobe.d/kvm_intel.conf",
    ]);
  });
});

describe("normalizeModuleName", () => {
  test.each([
    ["kvm-intel", "kvm_intel"],
    ["kvm_intel", "kvm_intel"],
    ["kvm-amd", "kvm_amd"],
  ])("%s → %s", (name, expected) => expect(normalizeModuleName(name)).toBe(expected));
});

describe("logicalLines", () => {
  test("joins a line ending in a backslash with the next, numbered by its first line", () => {
    expect(logicalLines("# c\noptions kvm_amd \\\n  nested=1\nblacklist x\n")).toEqual([
      { line: 1, text: "# c" },
      { line: 2, text: "options kvm_amd   nested=1" },
      { line: 4, text: "blacklist x" },
      { line: 5, text: "" },
    ]);
  });
});

describe("splitOptions", () => {
  test.each([
    ["nested=1 enable_apicv=0", ["nested=1", "enable_apicv=0"]],
    ["  nested=1\tx=2  ", ["nested=1", "x=2"]],
    ['name="a b" nested=0', ["name=a b", "nested=0"]],
    ['"nested=1"', ["nested=1"]],
    ["", []],
  ])("%j → %j", (text, words) => expect(splitOptions(text)).toEqual(words));
});

describe("parseNestedValue", () => {
  test.each([
    // kvm_intel: a bool parameter (kstrtobool)
    ["kvm_intel", "1", true],
    ["kvm_intel", "0", false],
    ["kvm_intel", "Y", true],
    ["kvm_intel", "N", false],
    ["kvm_intel", "y", true],
    ["kvm_intel", "n", false],
    ["kvm_intel", "on", true],
    ["kvm_intel", "off", false],
    ["kvm_intel", "true", true],
    ["kvm_intel", "false", false],
    ["kvm_intel", "maybe", undefined],
    ["kvm_intel", "", undefined],
    // kvm_amd: an int parameter (non-zero is on; Y makes the load fail)
    ["kvm_amd", "1", true],
    ["kvm_amd", "0", false],
    ["kvm_amd", "2", true],
    ["kvm_amd", "0x0", false],
    ["kvm_amd", "0x1", true],
    ["kvm_amd", "-1", true],
    ["kvm_amd", "00", false],
    ["kvm_amd", "Y", undefined],
    ["kvm_amd", "N", undefined],
    ["kvm_amd", "08", undefined],
    ["kvm_amd", "", undefined],
  ] as const)("%s nested=%j → %s", (module, raw, expected) => {
    expect(parseNestedValue(module, raw)).toBe(expected);
  });
});

describe("parseLiveNested", () => {
  test.each([
    ["Y\n", true],
    ["N\n", false],
    ["1\n", true],
    ["0\n", false],
    ["yes\n", undefined],
    ["", undefined],
    [undefined, undefined],
  ])("%j → %s", (raw, expected) => expect(parseLiveNested(raw)).toBe(expected));
});

describe("nestedSettingsInFile", () => {
  test("finds every nested= for the module, dashes or underscores, skipping comments and other modules", () => {
    const content = [
      "# options kvm_intel nested=1",
      "options kvm-intel nested=1 enable_shadow_vmcs=1",
      "options kvm_amd nested=0",
      "   options\tkvm_intel\tept=1 nested=N",
      "options kvm_intel",
      "blacklist kvm_intel",
      'options kvm_intel "nested=Y"',
      "",
    ].join("\n");
    expect(
      nestedSettingsInFile({ path: "/etc/modprobe.d/kvm.conf", content }, "kvm_intel"),
    ).toEqual([
      {
        source: "/etc/modprobe.d/kvm.conf:2",
        text: "options kvm-intel nested=1 enable_shadow_vmcs=1",
        raw: "1",
        value: true,
        managed: false,
      },
      {
        source: "/etc/modprobe.d/kvm.conf:4",
        text: "options\tkvm_intel\tept=1 nested=N",
        raw: "N",
        value: false,
        managed: false,
      },
      {
        source: "/etc/modprobe.d/kvm.conf:7",
        text: 'options kvm_intel "nested=Y"',
        raw: "Y",
        value: true,
        managed: false,
      },
    ]);
  });

  test("marks settings in the managed file", () => {
    expect(
      nestedSettingsInFile(
        { path: MANAGED_FILE, content: "options kvm_amd nested=1\n" },
        "kvm_amd",
      ),
    ).toEqual([
      {
        source: `${MANAGED_FILE}:1`,
        text: "options kvm_amd nested=1",
        raw: "1",
        value: true,
        managed: true,
      },
    ]);
  });

  test("reads an options line continued with a backslash", () => {
    const settings = nestedSettingsInFile(
      { path: "/etc/modprobe.d/a.conf", content: "options kvm_amd npt=1 \\\n nested=0\n" },
      "kvm_amd",
    );
    expect(settings.map((s) => [s.source, s.raw, s.value])).toEqual([
      ["/etc/modprobe.d/a.conf:1", "0", false],
    ]);
  });
});

describe("renderManagedFile", () => {
  test("writes a new file with a header and one options line", () => {
    expect(renderManagedFile(undefined, "kvm_amd", true)).toBe(
      `${HEADER}options kvm_amd nested=1\n`,
    );
    expect(renderManagedFile("", "kvm_intel", false)).toBe(`${HEADER}options kvm_intel nested=0\n`);
  });

  test("changes the value in place and keeps every other line, option and comment", () => {
    const current = "# mine\noptions kvm-intel ept=1 nested=0 enable_apicv=1\nblacklist pcspkr\n";
    expect(renderManagedFile(current, "kvm_intel", true)).toBe(
      "# mine\noptions kvm-intel ept=1 nested=1 enable_apicv=1\nblacklist pcspkr\n",
    );
  });

  test("appends a line when the file does not set nested for the module", () => {
    expect(renderManagedFile("# mine\noptions kvm_amd npt=1", "kvm_amd", false)).toBe(
      "# mine\noptions kvm_amd npt=1\noptions kvm_amd nested=0\n",
    );
  });

  test("leaves the other vendor's line alone", () => {
    expect(renderManagedFile("options kvm_intel nested=0\n", "kvm_amd", true)).toBe(
      "options kvm_intel nested=0\noptions kvm_amd nested=1\n",
    );
  });

  test("returns the same text when the value is already right", () => {
    const current = `${HEADER}options kvm_amd nested=1\n`;
    expect(renderManagedFile(current, "kvm_amd", true)).toBe(current);
  });
});

describe("revertManagedFile", () => {
  const written = `${HEADER}options kvm_amd nested=1\n`;
  test.each([
    ["never written: left as it is", "x\n", undefined, undefined, "x\n"],
    ["unchanged, nothing before: removed", written, written, undefined, undefined],
    [
      "unchanged, a file before: restored exactly",
      "# old\noptions kvm_amd nested=1 npt=0\n",
      "# old\noptions kvm_amd nested=1 npt=0\n",
      "# old\noptions kvm_amd nested=0 npt=0\n",
      "# old\noptions kvm_amd nested=0 npt=0\n",
    ],
    ["removed by someone, a file before: restored", undefined, written, "# old\n", "# old\n"],
    ["removed by someone, nothing before: stays removed", undefined, written, undefined, undefined],
    [
      "edited since, nothing before: only the setting and header go",
      `${written}options kvm_amd npt=0\n# added\n`,
      written,
      undefined,
      "options kvm_amd npt=0\n# added\n",
    ],
    [
      "edited since, setting on a shared line: the word goes",
      `${HEADER}options kvm_amd avic=1 nested=1\n`,
      written,
      undefined,
      "options kvm_amd avic=1\n",
    ],
    [
      "edited since, a value before: that value comes back",
      "# old\noptions kvm_amd nested=1\n# added\n",
      "# old\noptions kvm_amd nested=1\n",
      "# old\noptions kvm_amd nested=0\n",
      "# old\noptions kvm_amd nested=0\n# added\n",
    ],
  ])("%s", (_name, current, wrote, previous, expected) => {
    expect(revertManagedFile(current, wrote, previous, "kvm_amd")).toBe(expected);
  });
});

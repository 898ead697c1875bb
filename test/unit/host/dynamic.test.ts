import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
  locateProviderModule,
  providerFromModule,
  providerModuleId,
} from "../../../components/host/dynamic";

const ROOT = path.resolve(__dirname, "../../..");

describe("providerModuleId", () => {
  it("is the module's path from the project root, without extension", () => {
    expect(providerModuleId(require.resolve("../../../components/volume/provider"))).toBe(
      "components/volume/provider",
    );
  });

  it("is the same for the compiled file under dist/", () => {
    expect(providerModuleId(path.join(ROOT, "dist/components/volume/provider.js"))).toBe(
      "components/volume/provider",
    );
  });

  it("refuses a file outside the project", () => {
    expect(() => providerModuleId("/usr/lib/provider.js")).toThrow(
      '/usr/lib/provider.js is not inside the project (no folder above it holds the package.json named "nestlab"): a provider module must be part of it.',
    );
  });
});

describe("the serialized forwarder", () => {
  it("holds the module's id and no folder of this clone", async () => {
    const forwarder = providerFromModule("components/volume/provider");
    const { text } = await pulumi.runtime.serializeFunction(() => forwarder, {
      allowSecrets: true,
    });
    expect(text).toContain('"components/volume/provider"');
    expect(text).not.toContain(ROOT);
    expect(text).not.toContain(os.tmpdir());
  });
});

describe("locateProviderModule", () => {
  let tree: string;
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(tree, file)), { recursive: true });
    writeFileSync(path.join(tree, file), text);
  };

  beforeEach(() => {
    tree = mkdtempSync(path.join(os.tmpdir(), "nlt-dynamic-"));
    write("clone/package.json", JSON.stringify({ name: "nestlab" }));
    write("clone/test/e2e/volume/program/Pulumi.yaml", "name: e2e\n");
  });
  afterEach(() => rmSync(tree, { recursive: true, force: true }));

  it("finds the source under the nearest folder whose package.json is named nestlab", () => {
    write("clone/components/volume/provider.ts", "");
    // A package.json of another name on the way up is passed over.
    write("clone/test/package.json", JSON.stringify({ name: "something-else" }));
    const clone = path.join(tree, "clone");
    expect(
      locateProviderModule("components/volume/provider", `${clone}/test/e2e/volume/program`),
    ).toEqual({ root: clone, file: `${clone}/components/volume/provider.ts` });
    expect(locateProviderModule("components/volume/provider", clone)).toEqual({
      root: clone,
      file: `${clone}/components/volume/provider.ts`,
    });
  });

  it("takes the compiled dist/<id>.js first", () => {
    write("clone/components/volume/provider.ts", "");
    write("clone/dist/components/volume/provider.js", "");
    const clone = path.join(tree, "clone");
    expect(locateProviderModule("components/volume/provider", clone).file).toBe(
      `${clone}/dist/components/volume/provider.js`,
    );
  });

  it("has the clone's build make dist/ fresh before taking the compiled file", () => {
    write("clone/components/volume/provider.ts", "export const provider = 2;");
    write("clone/dist/components/volume/provider.js", "exports.provider = 1; // stale");
    // The clone's build script: here one that records the call and compiles.
    write(
      "clone/scripts/build/dist.js",
      `exports.ensureDist = (root, wanted) => {
         require("fs").writeFileSync(root + "/called.json", JSON.stringify({ root, wanted }));
         require("fs").writeFileSync(wanted[0], "exports.provider = 2;");
       };`,
    );
    const clone = path.join(tree, "clone");
    const compiled = `${clone}/dist/components/volume/provider.js`;
    expect(locateProviderModule("components/volume/provider", clone)).toEqual({
      root: clone,
      file: compiled,
    });
    expect(JSON.parse(readFileSync(`${clone}/called.json`, "utf8"))).toEqual({
      root: clone,
      wanted: [compiled],
    });
    expect(readFileSync(compiled, "utf8")).toBe("exports.provider = 2;");
  });

  it("refuses, naming both places, when the module is not there", () => {
    const clone = path.join(tree, "clone");
    expect(() => locateProviderModule("components/volume/provider", clone)).toThrow(
      `The provider module components/volume/provider is in neither ${clone}/dist/components/volume/provider.js nor ${clone}/components/volume/provider.ts: this stack was made by a version of the project that had it. Run pulumi from a clone of that version.`,
    );
  });

  it("refuses, naming the folder, outside any clone of the project", () => {
    expect(() => locateProviderModule("components/volume/provider", tree)).toThrow(
      `The provider module components/volume/provider cannot be loaded: no folder at or above ${tree} (the program's folder) holds the project's package.json (name "nestlab"). Run pulumi from the program's folder in a clone of the project.`,
    );
  });

  it("forwards every call to the module it finds from the working folder", async () => {
    write(
      "clone/dist/components/x/provider.js",
      'exports.provider = { create: async (inputs) => ({ id: "from " + __filename, outs: inputs }) };',
    );
    const cwd = process.cwd();
    process.chdir(path.join(tree, "clone/test/e2e/volume/program"));
    try {
      const made = await providerFromModule("components/x/provider").create!({ a: 1 });
      expect(made).toEqual({
        id: `from ${tree}/clone/dist/components/x/provider.js`,
        outs: { a: 1 },
      });
    } finally {
      process.chdir(cwd);
    }
  });
});

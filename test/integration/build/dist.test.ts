import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "fs";
import * as os from "os";
import * as path from "path";

// The build that programs and provider processes run (plain JavaScript).
const { ensureDist, isFresh } = require("../../../scripts/build/dist.js") as {
  ensureDist(root: string, wanted?: string[]): boolean;
  isFresh(root: string, wanted?: string[]): boolean;
};

const ROOT = path.resolve(__dirname, "../../..");

/** A project of two modules with the real TypeScript (about 1 s per compile). */
describe("scripts/build/dist.js: dist/ is what the sources compile to now, or nothing runs", () => {
  let root: string;
  const write = (file: string, text: string) => writeFileSync(path.join(root, file), text);
  const compiled = (file: string) => readFileSync(path.join(root, "dist", file), "utf8");

  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), "nlt-dist-"));
    symlinkSync(path.join(ROOT, "node_modules"), path.join(root, "node_modules"));
    write("package.json", JSON.stringify({ name: "nestlab" }));
    write(
      "tsconfig.json",
      JSON.stringify({
        compilerOptions: { strict: true, module: "commonjs", target: "ES2022", types: [] },
      }),
    );
    write(
      "tsconfig.build.json",
      JSON.stringify({
        extends: "./tsconfig.json",
        compilerOptions: {
          rootDir: ".",
          outDir: "dist",
          incremental: true,
          tsBuildInfoFile: "dist/.tsbuildinfo",
        },
        include: ["*.ts"],
      }),
    );
    write("a.ts", "export const value: number = 1;\n");
    write("b.ts", 'import { value } from "./a";\nexport const twice = value * 2;\n');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("builds once, then finds it fresh", () => {
    expect(isFresh(root)).toBe(false);
    expect(ensureDist(root)).toBe(true);
    expect(compiled("a.js")).toContain("exports.value = 1;");
    expect(ensureDist(root)).toBe(false);
    expect(isFresh(root, [path.join(root, "dist/b.js")])).toBe(true);
  }, 60_000);

  it("rebuilds a source changed under an old mtime (contents count, not times)", () => {
    write("a.ts", "export const value: number = 5;\n");
    utimesSync(path.join(root, "a.ts"), new Date("2001-01-01"), new Date("2001-01-01"));
    expect(isFresh(root)).toBe(false);
    expect(ensureDist(root)).toBe(true);
    expect(compiled("a.js")).toContain("exports.value = 5;");
  }, 60_000);

  it("removes the output of a source that is gone", () => {
    write("c.ts", "export const c = 3;\n");
    expect(ensureDist(root, [path.join(root, "dist/c.js")])).toBe(true);
    rmSync(path.join(root, "c.ts"));
    expect(isFresh(root)).toBe(false);
    expect(ensureDist(root)).toBe(true);
    expect(existsSync(path.join(root, "dist/c.js"))).toBe(false);
    expect(existsSync(path.join(root, "dist/b.js"))).toBe(true);
  }, 60_000);

  it("fails with tsc's message on a type error and records nothing: the old output never counts as fresh", () => {
    write("b.ts", 'import { value } from "./a";\nexport const twice: string = value * 2;\n');
    expect(() => ensureDist(root)).toThrow(
      /b\.ts\(2,14\): error TS2322: Type 'number' is not assignable to type 'string'/,
    );
    expect(isFresh(root)).toBe(false);
    expect(() => ensureDist(root)).toThrow(/TS2322/);
  }, 60_000);
});

import * as pulumi from "@pulumi/pulumi";

/**
 * A dynamic provider whose code lives in a module of this project.
 *
 * The engine serializes a provider object into the state and runs it in a
 * separate process (`pulumi-resource-pulumi-nodejs`), which loads `delete`
 * and `read` from the stored text, never from the program. So the object
 * serialized is only this forwarder, and all it captures is the module's id:
 * its path from the project root without extension
 * ("components/volume/provider"). The text is then the same in every clone
 * of the project, and the module is found when the forwarder is called (see
 * locateProviderModule), so any clone at any path can refresh and destroy
 * what another one made. The implementation module exports `provider`.
 */
export function providerFromModule(moduleId: string): pulumi.dynamic.ResourceProvider {
  const id = moduleId;
  const load = (): Required<pulumi.dynamic.ResourceProvider> => {
    const { root, file } = locateProviderModule(id, process.cwd());
    const req = require("module").createRequire(`${root}/package.json`) as NodeJS.Require;
    // The provider process knows no TypeScript: ts-node compiles the sources when they are what runs.
    if (file.endsWith(".ts") && !req.extensions[".ts"]) {
      req("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
    }
    return req(file).provider;
  };
  return {
    check: (olds, news) => load().check(olds, news),
    diff: (id, olds, news) => load().diff(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read(id, props),
    update: (id, olds, news) => load().update(id, olds, news),
    delete: (id, props) => load().delete(id, props),
  };
}

/** Names a dynamic resource `pulumi-nodejs:dynamic/nestlab:<type>`. */
export const DYNAMIC_MODULE = "nestlab";

/**
 * Where the provider process finds module `id`. The rule:
 * - the project root is the nearest folder at or above `from` whose
 *   package.json is named "nestlab" (`from` is the process's working folder:
 *   the engine starts the provider in the program's folder, the one with
 *   Pulumi.yaml, which is the root or a folder inside it);
 * - in it, when the clone has its build script (scripts/build/dist.js),
 *   the compiled `dist/<id>.js`, which that script first makes what the
 *   sources compile to now;
 * - else the compiled `dist/<id>.js` when it exists, else the source
 *   `<id>.ts`.
 * Serialized with the forwarder, so it uses nothing but Node itself.
 */
export function locateProviderModule(id: string, from: string): { root: string; file: string } {
  const fs: typeof import("fs") = require("fs");
  const path: typeof import("path") = require("path");
  const root = findProjectRoot(from);
  if (root === undefined) {
    throw new Error(
      `The provider module ${id} cannot be loaded: no folder at or above ${from} (the program's folder) holds the project's package.json (name "nestlab"). Run pulumi from the program's folder in a clone of the project.`,
    );
  }
  const compiled = path.join(root, "dist", `${id}.js`);
  const source = path.join(root, `${id}.ts`);
  // A clone with the build script runs its compiled tree, made fresh first:
  // `destroy` and `refresh` run no program that would have rebuilt it.
  const build = path.join(root, "scripts", "build", "dist.js");
  if (fs.existsSync(source) && fs.existsSync(build)) {
    require(build).ensureDist(root, [compiled]);
    return { root, file: compiled };
  }
  for (const file of [compiled, source]) if (fs.existsSync(file)) return { root, file };
  throw new Error(
    `The provider module ${id} is in neither ${compiled} nor ${source}: this stack was made by a version of the project that had it. Run pulumi from a clone of that version.`,
  );
}

/** The nearest folder at or above `from` whose package.json is named "nestlab"; serialized too. */
export function findProjectRoot(from: string): string | undefined {
  const fs: typeof import("fs") = require("fs");
  const path: typeof import("path") = require("path");
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
      if (pkg?.name === "nestlab") return dir;
    } catch {
      // no package.json here (or not one of ours): look further up
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The id of a provider module of this project, from its file as the program
 * resolved it (`require.resolve("./provider")`): the path from the project
 * root, without extension, and without the `dist/` of a compiled tree.
 */
export function providerModuleId(file: string): string {
  const path: typeof import("path") = require("path");
  const root = findProjectRoot(path.dirname(file));
  const relative = root === undefined ? undefined : path.relative(root, file);
  if (relative === undefined || relative.startsWith("..") || path.isAbsolute(relative)) {
    throw new Error(
      `${file} is not inside the project (no folder above it holds the package.json named "nestlab"): a provider module must be part of it.`,
    );
  }
  const id = relative
    .split(path.sep)
    .join("/")
    .replace(/\.(ts|js)$/, "");
  return id.startsWith("dist/") ? id.slice("dist/".length) : id;
}

// @ts-check
/**
 * Preloaded by every program of the project (Pulumi.yaml: `typescript:
 * false`, `nodeargs: --require <this file>`): makes dist/ fresh (compiling
 * what changed, see dist.js), then loads a `.ts` file of the project from
 * its compiled `.js` in dist/. So `main: index.ts` runs JavaScript, compiled
 * once instead of type-checked on every run, and never a stale build.
 */
"use strict";
const path = require("path");
const { distFile, ensureDist, projectRoot } = require("./dist");

// V8's compile cache (Node 22.1+): @pulumi/pulumi's many modules load about twice as fast.
require("module").enableCompileCache?.();

const root = projectRoot(__dirname);
if (!root)
  throw new Error(
    `${__filename} is not inside the project (no package.json named "nestlab" above it)`,
  );
ensureDist(root);

require.extensions[".ts"] = (module, filename) => {
  const relative = path.relative(root, filename);
  if (relative.startsWith("..") || relative.split(path.sep).includes("node_modules")) {
    throw new Error(
      `${filename} is TypeScript outside the project's build: only the project's own .ts files run (compiled, from dist/)`,
    );
  }
  const compiled = distFile(root, filename);
  // dist/ was made fresh above; a file it lacks (a new program) is built now.
  if (!require("fs").existsSync(compiled)) ensureDist(root, [compiled]);
  module.exports = require(compiled);
};

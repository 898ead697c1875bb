// @ts-check
/**
 * The compiled tree the programs and the dynamic providers run: `tsc -p
 * tsconfig.build.json` into dist/, incremental, and a record of what it was
 * built from, so that a stale dist/ never runs. (`-p`, not `-b`: build mode
 * skips a project whose files are older than its last build, whatever they
 * hold; `-p` with `incremental` compares the files' contents.)
 *
 * Plain JavaScript (it runs before anything is compiled), CommonJS, nothing
 * but Node and the project's own `typescript`. Used by:
 * - register.js, which every program preloads (Pulumi.yaml `nodeargs`);
 * - the dynamic-provider forwarder, in the provider process (`destroy` and
 *   `refresh` run no program);
 * - `npm run build` (`node scripts/build/dist.js`).
 *
 * Fresh means: every source the last build compiled has the same content
 * (sha256, not mtimes: a file copied with an old mtime still counts), the
 * compiler settings and TypeScript's version are the same, and the wanted
 * output exists. Otherwise it builds, under a lock (a program and a provider
 * process, or two runs, may ask at once), removes outputs whose source is
 * gone, and records the new state. A build with type errors fails, with
 * tsc's messages, and records nothing: nothing stale or ill-typed runs.
 */
"use strict";
const { execFileSync } = require("child_process");
const { createHash } = require("crypto");
const fs = require("fs");
const path = require("path");

const CONFIG = "tsconfig.build.json";
/** Besides the compiled sources, what changes the output. */
const SETTINGS = ["tsconfig.json", CONFIG];
const RECORD = ".sources.json";
const LOCK = ".build-lock";
const LOCK_WAIT_MS = 10 * 60 * 1000;

/** @param {string} file */
function digest(file) {
  try {
    return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  } catch {
    return "missing";
  }
}

/** @param {string} root */
function typescriptVersion(root) {
  return JSON.parse(
    fs.readFileSync(require.resolve("typescript/package.json", { paths: [root] }), "utf8"),
  ).version;
}

/** The compiled `.js` of a source file (a path from the root, or absolute inside it). */
function distFile(/** @type {string} */ root, /** @type {string} */ source) {
  const relative = path.isAbsolute(source) ? path.relative(root, source) : source;
  return path.join(root, "dist", relative.replace(/\.ts$/, ".js"));
}

/**
 * Whether dist/ holds what the sources compile to now. `wanted`: outputs
 * that must exist (absolute paths).
 * @param {string} root
 * @param {readonly string[]} wanted
 */
function isFresh(root, wanted = []) {
  let record;
  try {
    record = JSON.parse(fs.readFileSync(path.join(root, "dist", RECORD), "utf8"));
  } catch {
    return false;
  }
  if (record.typescript !== typescriptVersion(root)) return false;
  for (const [file, sum] of Object.entries(record.files)) {
    if (digest(path.join(root, file)) !== sum) return false;
  }
  return wanted.every((f) => fs.existsSync(f));
}

/** Every file under dir (relative to it). @param {string} dir @returns {string[]} */
function walk(dir, prefix = "") {
  /** @type {string[]} */
  const out = [];
  let entries;
  try {
    entries = fs.readdirSync(path.join(dir, prefix), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = path.join(prefix, e.name);
    if (e.isDirectory()) out.push(...walk(dir, rel));
    else out.push(rel);
  }
  return out;
}

/** Blocks the thread for ms (no busy loop). @param {number} ms */
function pause(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs body while holding dist/.build-lock (a folder: mkdir is atomic). A
 * lock whose holder has died is taken over.
 * @template T @param {string} dist @param {() => T} body @returns {T}
 */
function withLock(dist, body) {
  const lock = path.join(dist, LOCK);
  const deadline = Date.now() + LOCK_WAIT_MS;
  fs.mkdirSync(dist, { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
      break;
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== "EEXIST") throw e;
      let holder = NaN;
      try {
        holder = Number(fs.readFileSync(path.join(lock, "pid"), "utf8"));
      } catch {
        // being created or removed right now
      }
      if (holder > 0 && !alive(holder)) fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline)
        throw new Error(
          `${lock} has been held for ${LOCK_WAIT_MS / 60000} minutes: remove it if no build runs`,
        );
      else pause(100);
    }
  }
  try {
    return body();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return /** @type {NodeJS.ErrnoException} */ (e).code === "EPERM";
  }
}

/**
 * Builds dist/ unless it is fresh; throws with tsc's messages when the
 * sources do not compile. Returns whether it built.
 * @param {string} root the project's folder (holds tsconfig.build.json)
 * @param {readonly string[]} wanted outputs that must exist afterwards
 */
function ensureDist(root, wanted = []) {
  if (isFresh(root, wanted)) return false;
  const dist = path.join(root, "dist");
  return withLock(dist, () => {
    if (isFresh(root, wanted)) return false; // built meanwhile by whoever held the lock
    fs.rmSync(path.join(dist, RECORD), { force: true });
    const tsc = require.resolve("typescript/bin/tsc", { paths: [root] });
    try {
      execFileSync(process.execPath, [tsc, "-p", CONFIG], {
        cwd: root,
        encoding: "utf8",
        stdio: "pipe",
      });
    } catch (e) {
      const err = /** @type {{ stdout?: string, stderr?: string, message: string }} */ (e);
      throw new Error(
        `The project does not compile (tsc -p ${CONFIG} in ${root}); nothing was run:\n${(err.stdout || "") + (err.stderr || "") || err.message}`,
      );
    }
    // Every compiled .js stands for a source .ts; one whose source is gone is removed.
    /** @type {Record<string, string>} */
    const files = {};
    for (const rel of walk(dist)) {
      if (!rel.endsWith(".js")) continue;
      const source = rel.replace(/\.js$/, ".ts");
      const sum = digest(path.join(root, source));
      if (sum === "missing") fs.rmSync(path.join(dist, rel), { force: true });
      else files[source.split(path.sep).join("/")] = sum;
    }
    for (const s of SETTINGS) files[s] = digest(path.join(root, s));
    const record = { typescript: typescriptVersion(root), files };
    const tmp = path.join(dist, `${RECORD}.${process.pid}`);
    fs.writeFileSync(tmp, `${JSON.stringify(record, null, 1)}\n`);
    fs.renameSync(tmp, path.join(dist, RECORD));
    const missing = wanted.filter((f) => !fs.existsSync(f));
    if (missing.length) {
      throw new Error(`${missing.join(", ")} not built: is it in the "include" of ${CONFIG}?`);
    }
    return true;
  });
}

/** The project's folder: the nearest at or above `from` whose package.json is named "nestlab". */
function projectRoot(/** @type {string} */ from) {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).name === "nestlab")
        return dir;
    } catch {
      // no package.json here, or not ours
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

module.exports = { ensureDist, isFresh, distFile, projectRoot };

if (require.main === module) {
  const root = projectRoot(__dirname);
  if (!root) throw new Error(`no project above ${__dirname}`);
  const start = process.hrtime.bigint();
  const built = ensureDist(root);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`dist/ ${built ? "built" : "fresh"} in ${seconds.toFixed(2)} s`);
}

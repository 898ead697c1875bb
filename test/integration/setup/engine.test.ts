/**
 * What the set-up builds or installs into the cache: engine.sh's build of the
 * Pulumi CLI, with a recording `go` in place of the toolchain, and node.sh's
 * install of Node.js, with a recording `npm` (the real ones take minutes and
 * run once per machine in `npm test`'s set-up). Every step runs in its own
 * folder whatever the cache path holds, and two callers at once build once.
 * About 15 s.
 */
import { promises as fs } from "fs";
import * as path from "path";
import { fakeProgram, runClean, scratch, Scratch, tree } from "./support";

// Each test runs the scripts and the CLI several times, a second or two each.
jest.setTimeout(120_000);

const VERSION = "v3.274.1";

let s: Scratch;
let calls: string;

beforeEach(async () => {
  s = await scratch();
  calls = path.join(s.root, "go-calls");
  // Answers what engine.sh asks of `go`; `build` takes 2 s and writes a
  // program that prints the version.
  await fakeProgram(
    s.bin,
    "go",
    `printf '%s|%s\\n' "$PWD" "$*" >>'${calls}'
case "$1 $2" in
  "mod download") printf '{\\n\\t"GoMod": "/nonexistent/pkg.mod",\\n}\\n' ;;
  "mod edit") case " $* " in *" -json "*) echo '{"Replace":[{"Old":{"Path":"example.com/a"},"New":{"Path":"example.com/b","Version":"v1.0.0"}}]}' ;; esac ;;
esac
if [ "$1" = build ]; then
  prev=""
  for a in "$@"; do [ "$prev" = -o ] && out="$a"; prev="$a"; done
  sleep 2
  printf '#!/bin/sh\\necho ${VERSION}\\n' >"$out" && chmod +x "$out"
fi
`,
  );
});

afterEach(() => s.remove());

function engineSh(cache: string) {
  return runClean(["bash", "scripts/setup/engine.sh"], {
    cwd: s.project,
    env: { HOME: s.home, PATH: s.bin, NESTLAB_CACHE: cache, NESTLAB_BUILD_ENGINE: "1" },
  });
}

async function goCalls(): Promise<string[][]> {
  return (await fs.readFile(calls, "utf8"))
    .trim()
    .split("\n")
    .map((line) => line.split("|"));
}

it("builds in a cache folder whose path holds a quote and spaces", async () => {
  const cache = path.join(s.root, "it's a cache");
  const r = await engineSh(cache);

  expect(r.stderr).toMatch(/setup: engine ready in /);
  expect(r.exitCode).toBe(0);
  const engine = path.join(cache, `pulumi-${VERSION}-nodejs-v3.68.0`);
  expect(r.stdout).toBe(`${engine}\n`);
  expect(await tree(engine)).toEqual([
    "bin/",
    "bin/pulumi",
    "bin/pulumi-language-nodejs",
    "bin/pulumi-resource-pulumi-nodejs",
  ]);
  const ran = await goCalls();
  const where = (args: string) =>
    ran.filter(([, a]) => a.startsWith(args)).map(([dir]) => path.relative(cache, dir));
  expect(where("mod tidy")).toEqual([
    expect.stringMatching(/^\.engine-build\.[A-Za-z0-9]{6}\/cli$/),
    expect.stringMatching(/^\.engine-build\.[A-Za-z0-9]{6}\/langhost$/),
  ]);
  expect(where("build")).toEqual([
    expect.stringMatching(/^\.engine-build\.[A-Za-z0-9]{6}\/cli$/),
    expect.stringMatching(/^\.engine-build\.[A-Za-z0-9]{6}\/langhost$/),
  ]);
  expect(ran.find(([, a]) => a.startsWith("build"))![1]).toContain(`-o ${cache}/.engine-build.`);
  // Nothing of the build is left beside the engine.
  expect((await fs.readdir(cache)).filter((n) => n.startsWith(".engine-build"))).toEqual([]);
});

it("builds once when two callers ask at the same time; the second waits and uses it", async () => {
  const cache = path.join(s.root, "cache");
  const [a, b] = await Promise.all([engineSh(cache), engineSh(cache)]);

  expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
  const engine = path.join(cache, `pulumi-${VERSION}-nodejs-v3.68.0`);
  expect([a.stdout, b.stdout]).toEqual([`${engine}\n`, `${engine}\n`]);
  expect((await goCalls()).filter(([, args]) => args.startsWith("build"))).toHaveLength(2);
  expect((await fs.readdir(cache)).sort()).toEqual([
    ".engine.lock",
    `pulumi-${VERSION}-nodejs-v3.68.0`,
  ]);
});

it("installs Node.js once when two callers ask at the same time", async () => {
  const cache = path.join(s.root, "cache");
  const npmCalls = path.join(s.root, "npm-calls");
  // The machine's Node.js is too old; `npm install --prefix DIR node@24` takes 2 s.
  await fakeProgram(s.bin, "node", "echo 20\n");
  await fakeProgram(
    s.bin,
    "npm",
    `echo "$*" >>'${npmCalls}'
prev=""
for a in "$@"; do [ "$prev" = --prefix ] && prefix="$a"; prev="$a"; done
sleep 2
mkdir -p "$prefix/node_modules/node/bin"
printf '#!/bin/sh\necho v24.0.0\n' >"$prefix/node_modules/node/bin/node"
chmod +x "$prefix/node_modules/node/bin/node"
`,
  );
  const nodeSh = () =>
    runClean(["bash", "scripts/setup/node.sh"], {
      cwd: s.project,
      env: { HOME: s.home, PATH: s.bin, NESTLAB_CACHE: cache },
    });

  const [a, b] = await Promise.all([nodeSh(), nodeSh()]);

  const bin = path.join(cache, "node-24/node_modules/node/bin");
  expect([a.exitCode, b.exitCode, a.stdout, b.stdout]).toEqual([0, 0, `${bin}\n`, `${bin}\n`]);
  const installs = (await fs.readFile(npmCalls, "utf8")).trim().split("\n");
  expect(installs).toEqual([
    expect.stringMatching(
      /^install --silent --no-audit --no-fund --prefix \S+\/\.node-build\.\w{6} node@24$/,
    ),
  ]);
  expect((await fs.readdir(cache)).sort()).toEqual([".node.lock", "node-24"]);
});

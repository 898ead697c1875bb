import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";
import importPlugin from "eslint-plugin-import";

/**
 * The import graph, floor by floor: core → host → libvirt → features (nested,
 * volume, domain, network) → lab → classroom → components/index.ts → index.ts. A folder
 * imports only its own files and the floors below it; features never import
 * each other. `npx eslint .` fails on any arrow upward or sideways.
 */
const FLOORS = [
  ["core", []],
  ["host", ["core"]],
  ["libvirt", ["core", "host"]],
  ["nested", ["core", "host", "libvirt"]],
  ["volume", ["core", "host", "libvirt"]],
  ["domain", ["core", "host", "libvirt"]],
  ["network", ["core", "host", "libvirt"]],
  ["lab", ["core", "host", "libvirt", "nested", "volume", "domain", "network"]],
  ["classroom", ["core", "host", "libvirt", "nested", "volume", "domain", "network", "lab"]],
];
const importGraph = FLOORS.map(([folder, below]) => ({
  target: `./components/${folder}`,
  from: "./components",
  except: [`./${folder}`, ...below.map((b) => `./${b}`)],
  message: `components/${folder} may import only ${[folder, ...below].join(", ")}: the graph reads core → host → libvirt → features → lab → classroom (see ARCHITECTURE.md).`,
}));

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "jest.config.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { project: "./tsconfig.json" } },
    plugins: { "@pulumi": pulumi, import: importPlugin },
    settings: { "import/resolver": { node: { extensions: [".ts", ".js"] } } },
    rules: {
      "import/no-restricted-paths": [
        "error",
        {
          zones: [
            ...importGraph,
            {
              target: "./components",
              from: "./index.ts",
              message: "Nothing in components/ imports the program (index.ts).",
            },
          ],
        },
      ],
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
      // Dynamic providers load their implementation with require() at run time.
      "@typescript-eslint/no-require-imports": "off",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The build's bootstrap: plain CommonJS for Node, run before anything is compiled.
    files: ["scripts/build/*.js"],
    languageOptions: {
      sourceType: "commonjs",
      globals: {
        require: "readonly",
        module: "writable",
        process: "readonly",
        console: "readonly",
        __dirname: "readonly",
        __filename: "readonly",
      },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);

// Three levels, one runner: `npm test` runs them all; `--selectProjects` one.
const project = (name, extra = {}) => ({
  displayName: name,
  preset: "ts-jest",
  testEnvironment: "node",
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  ...extra,
});

module.exports = {
  projects: [
    project("unit"),
    // Integration and e2e tests drive a real libvirtd, qemu-img and the Pulumi
    // engine: they run one file at a time (see scripts/test.sh).
    project("integration", { slowTestThreshold: 60 }),
    project("e2e", { slowTestThreshold: 300 }),
  ],
};

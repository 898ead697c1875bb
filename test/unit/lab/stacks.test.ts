/**
 * The committed stack settings: the stacks the README names, and only the
 * dev stack carries an encryption salt (of its public passphrase, "nestlab-dev");
 * any other stack gets one from its user's own passphrase when it is made.
 */
import { promises as fs } from "fs";
import * as path from "path";

const STACKS = path.resolve(__dirname, "../../../stacks");

it("holds the dev, lab and classroom stacks and nothing else", async () => {
  expect((await fs.readdir(STACKS)).sort()).toEqual([
    "Pulumi.classroom.yaml",
    "Pulumi.dev.yaml",
    "Pulumi.lab.yaml",
  ]);
});

it("gives only the dev stack an encryption salt", async () => {
  const salted: string[] = [];
  for (const name of await fs.readdir(STACKS)) {
    if (/^encryptionsalt:/m.test(await fs.readFile(path.join(STACKS, name), "utf8"))) {
      salted.push(name);
    }
  }
  expect(salted).toEqual(["Pulumi.dev.yaml"]);
});

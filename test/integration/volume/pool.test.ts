import { existsSync, readdirSync } from "fs";
import * as path from "path";
import { provider as poolProvider } from "../../../components/volume/pool-provider";
import { provider } from "../../../components/volume/provider";
import {
  checkAndCreate,
  HOST,
  identical,
  rmrf,
  seedChain,
  sh,
  virshOut,
  volumes,
  workDir,
} from "./helpers";
import { virshRun } from "../../support/virsh";

jest.setTimeout(120_000);

const dir = workDir("pool");
const name = `nlt-volume-pool-${process.pid}`;

afterAll(() => {
  virshRun("pool-destroy", name);
  virshRun("pool-undefine", name);
  rmrf(dir);
});

describe("createPool: the StoragePool provider", () => {
  test("creates a running dir pool at the folder, holds the volume, and removes only an empty folder", async () => {
    const poolPath = path.join(dir, "lab-pool");
    const checked = await poolProvider.check({}, { host: HOST, pool: name, path: `${poolPath}/` });
    expect(checked.inputs).toMatchObject({ pool: name, path: poolPath });
    const pool = await poolProvider.create(checked.inputs);
    expect(pool.id).toBe(name);
    expect(virshOut("pool-info", name)).toMatch(/State:\s+running/);
    expect(virshOut("pool-dumpxml", name)).toContain(`<path>${poolPath}</path>`);
    expect(existsSync(poolPath)).toBe(true);

    // A second pool of the same name is refused, the first left alone.
    await expect(poolProvider.create(checked.inputs)).rejects.toThrow(
      `createPool: the pool "${name}" already exists on this machine, and this stack did not create it. Drop createPool to use it as it is, or choose another pool name.`,
    );

    const src = path.join(dir, "src");
    sh(["mkdir", "-p", src]);
    const { top } = seedChain(src, 64);
    const vol = await checkAndCreate({ source: top, pool: name, volumeName: "lab.qcow2" });
    expect(identical(top, "vmdk", vol.id, "qcow2")).toBe(true);
    expect(volumes(name)).toEqual(["lab.qcow2"]);
    await provider.delete(vol.id, vol.outs);
    expect(readdirSync(poolPath)).toEqual([]);

    await poolProvider.delete(name, pool.outs);
    expect(virshOut("pool-list", "--all", "--name").split("\n")).not.toContain(name);
    expect(existsSync(poolPath)).toBe(false);
    // Already gone is success.
    await poolProvider.delete(name, pool.outs);
  });

  test("refuses a relative folder in check", async () => {
    expect(await poolProvider.check({}, { host: HOST, pool: name, path: "images" })).toEqual({
      inputs: { host: HOST, pool: name, path: "images" },
      failures: [
        {
          property: "path",
          reason:
            'path: "images" is not valid; expected the absolute path of the folder that holds the pool\'s volumes, e.g. "/var/lib/libvirt/images/lab".',
        },
      ],
    });
  });
});

import { readFileSync } from "fs";
import * as path from "path";
import {
  comparableXml,
  fieldsFromXml,
  normaliseDomainXml,
} from "../../../components/domain/normalise";
import { renderDomainXml } from "../../../components/domain/render";
import { resolveDomainSpec } from "../../../components/domain/resolve";
import { FIXTURE_SPECS } from "./fixture-specs";

/** libvirt 9.0's `virsh dumpxml --inactive` of each fixture spec, captured by test/integration/domain/fixtures.test.ts. */
function captured(name: string): string {
  return readFileSync(path.join(__dirname, "fixtures", `${name}.inactive.xml`), "utf8");
}

function rendered(name: string): string {
  const f = FIXTURE_SPECS[name];
  return renderDomainXml(resolveDomainSpec(f.spec, f.facts, f.vncPasswordSet));
}

describe("normaliseDomainXml", () => {
  it.each(Object.keys(FIXTURE_SPECS))(
    "reads libvirt's stored XML of %s back as exactly what was defined",
    (name) => {
      expect(normaliseDomainXml(captured(name), rendered(name))).toBe(
        comparableXml(rendered(name)),
      );
    },
  );

  it("keeps what libvirt added when the defined XML has the same kind of node (a patched-in watchdog's address stays out, the watchdog stays)", () => {
    const normalised = normaliseDomainXml(captured("volume-patched"), rendered("volume-patched"));
    expect(normalised).toContain('<watchdog action="reset" model="i6300esb"/>');
    expect(normalised).not.toContain("<address");
    expect(normalised).not.toContain("<controller");
    expect(normalised).not.toContain("<uuid>");
  });

  it("shows a hand-made memory change", () => {
    const edited = captured("custom-svm").replace(
      "<currentMemory unit='KiB'>262144</currentMemory>",
      "<currentMemory unit='KiB'>393216</currentMemory>",
    );
    const normalised = normaliseDomainXml(edited, rendered("custom-svm"));
    expect(normalised).not.toBe(comparableXml(rendered("custom-svm")));
    const want = fieldsFromXml(rendered("custom-svm"));
    const have = fieldsFromXml(normalised);
    expect([want.memoryMiB, have.memoryMiB]).toEqual([256, 384]);
    expect(have.cpu).toEqual(want.cpu);
    expect(have.disks).toEqual(want.disks);
  });

  it("shows a feature removed by hand and a device added by hand", () => {
    const edited = captured("custom-svm")
      .replace("    <feature policy='require' name='svm'/>\n", "")
      .replace(
        "  </devices>",
        "    <disk type='file' device='disk'><source file='/tmp/extra.img'/><target dev='vdb' bus='virtio'/></disk>\n  </devices>",
      );
    const have = fieldsFromXml(normaliseDomainXml(edited, rendered("custom-svm")));
    expect(have.cpu).toEqual({ mode: "custom", model: "qemu64", features: [] });
    expect(have.disks.map((d) => d.path)).toEqual([
      "/var/lib/nestlab-fixture/jiaoshiji.qcow2",
      "/var/lib/nestlab-fixture/data.qcow2",
      "/var/lib/nestlab-fixture/rhel7.iso",
      "/tmp/extra.img",
    ]);
  });

  it("shows a VNC listen address changed by hand", () => {
    const edited = captured("custom-svm")
      .replace(/listen='127.0.0.1'/g, "listen='0.0.0.0'")
      .replace("address='127.0.0.1'", "address='0.0.0.0'");
    expect(fieldsFromXml(normaliseDomainXml(edited, rendered("custom-svm"))).vnc).toEqual({
      listen: "0.0.0.0",
      autoport: true,
    });
  });
});

describe("fieldsFromXml", () => {
  it("reads the typed arguments back from the rendered XML", () => {
    expect(fieldsFromXml(rendered("custom-svm"))).toEqual({
      memoryMiB: 256,
      maxMemoryMiB: 512,
      vcpus: 2,
      maxVcpus: 4,
      topology: { sockets: 4, dies: 1, cores: 1, threads: 1 },
      cpu: { mode: "custom", model: "qemu64", features: [{ name: "svm", policy: "require" }] },
      disks: [
        {
          path: "/var/lib/nestlab-fixture/jiaoshiji.qcow2",
          bus: "virtio",
          device: "disk",
          format: "qcow2",
          readonly: false,
        },
        {
          path: "/var/lib/nestlab-fixture/data.qcow2",
          bus: "sata",
          device: "disk",
          format: "qcow2",
          readonly: false,
        },
        {
          path: "/var/lib/nestlab-fixture/rhel7.iso",
          bus: "ide",
          device: "cdrom",
          format: "raw",
          readonly: true,
        },
      ],
      networks: [
        { network: "default", mac: "52:54:00:e8:db:4f", model: "virtio" },
        {
          user: {
            forwards: [
              { protocol: "tcp", hostAddress: "127.0.0.1", hostPort: 47222, guestPort: 22 },
            ],
          },
          mac: "52:54:00:c4:13:c5",
          model: "virtio",
        },
      ],
      vnc: { listen: "127.0.0.1", autoport: true },
      serial: { type: "tcp", host: "127.0.0.1", port: 47201 },
    });
  });

  it("reads a kernel boot, a pool volume and a unix console", () => {
    expect(fieldsFromXml(rendered("host-model-bridge")).boot).toEqual({
      kernel: "/var/lib/nestlab-fixture/vmlinuz",
      initrd: "/var/lib/nestlab-fixture/initrd.img",
      cmdline: "console=ttyS0 quiet",
    });
    const volume = fieldsFromXml(rendered("volume-patched"));
    expect(volume.disks).toEqual([
      {
        pool: "nlt-domain-fixture-pool",
        volumeName: "disk.qcow2",
        bus: "virtio",
        device: "disk",
        format: "qcow2",
        readonly: false,
      },
    ]);
    expect(volume.serial).toEqual({ type: "unix", path: "/run/nestlab-fixture/console.sock" });
  });
});

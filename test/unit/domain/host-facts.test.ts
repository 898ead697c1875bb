import { createHash } from "crypto";
import { readFileSync } from "fs";
import * as path from "path";
import {
  parseDomainCapabilities,
  parseDomIfAddr,
  parseDomInfoLive,
  parseListeners,
  parseNodeInfo,
  portTaken,
} from "../../../components/domain/host-facts";
import { nestedFeature, stableMac } from "../../../components/domain/resolve";
import { chooseDomainType, vendorFromCpuinfo } from "../../../components/libvirt/cpu";

const fixture = (name: string): string =>
  readFileSync(path.join(__dirname, "fixtures", name), "utf8");

describe("parseDomainCapabilities (libvirt 9.0, TCG, captured on an AMD host)", () => {
  const caps = parseDomainCapabilities(fixture("domcapabilities-qemu.xml"));

  it("reads which CPU modes TCG supports", () => {
    expect(caps.modes).toEqual({
      "host-passthrough": false,
      maximum: true,
      "host-model": true,
      custom: true,
    });
  });

  it("reads custom models with usability and vendor", () => {
    expect(caps.models.get("qemu64")).toEqual({ usable: true, vendor: "unknown" });
    expect(caps.models.get("Opteron_G2")).toEqual({ usable: true, vendor: "AMD" });
    expect(caps.models.get("EPYC")).toEqual({ usable: false, vendor: "AMD" });
    expect(caps.maxVcpus).toBe(255);
  });
});

describe("host output parsers", () => {
  it("reads CPUs and memory from virsh nodeinfo", () => {
    expect(parseNodeInfo(fixture("nodeinfo.txt"))).toEqual({ cpus: 2, memoryKiB: 11233492 });
  });

  it("reads addresses from virsh domifaddr", () => {
    const text = [
      " Name       MAC address          Protocol     Address",
      "-------------------------------------------------------------------------------",
      " vnet0      52:54:00:e8:db:4f    ipv4         192.168.122.57/24",
      " -          -                    ipv6         fe80::5054:ff:fee8:db4f/64",
      " vnet1      52:54:00:aa:bb:cc    ipv6         fd00::2/64",
    ].join("\n");
    expect(parseDomIfAddr(text)).toEqual(["192.168.122.57", "fd00::2"]);
  });

  it("reads listeners from ss and sees wildcard binds as taking every address", () => {
    const ss = [
      "LISTEN 0      128    0.0.0.0:2024 0.0.0.0:*",
      "LISTEN 0      4096   127.0.0.1:5920 0.0.0.0:*",
      "LISTEN 0      4096   [::]:8080 [::]:*",
    ].join("\n");
    const listeners = parseListeners(ss);
    expect(listeners).toEqual([
      { address: "0.0.0.0", port: 2024 },
      { address: "127.0.0.1", port: 5920 },
      { address: "::", port: 8080 },
    ]);
    expect(portTaken(listeners, "127.0.0.1", 2024)).toBe(true);
    expect(portTaken(listeners, "127.0.0.1", 5920)).toBe(true);
    expect(portTaken(listeners, "0.0.0.0", 5920)).toBe(true);
    expect(portTaken(listeners, "127.0.0.2", 5920)).toBe(false);
    expect(portTaken(listeners, "127.0.0.1", 4555)).toBe(false);
  });
});

describe("host decisions", () => {
  it("picks kvm only with a vendor KVM module loaded, never for a /dev/kvm alone (kvm_pvm)", () => {
    expect(chooseDomainType({ vendorKvmModule: true, devKvm: true })).toBe("kvm");
    expect(chooseDomainType({ vendorKvmModule: false, devKvm: true })).toBe("qemu");
    expect(chooseDomainType({ vendorKvmModule: true, devKvm: false })).toBe("qemu");
  });

  it("reads the vendor from cpuinfo flags first, then the vendor string", () => {
    expect(vendorFromCpuinfo("vendor_id\t: GenuineIntel\nflags\t\t: fpu vmx sse\n")).toBe("intel");
    expect(vendorFromCpuinfo("vendor_id\t: AuthenticAMD\nflags\t\t: fpu svm sse\n")).toBe("amd");
    expect(vendorFromCpuinfo("vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse hypervisor\n")).toBe(
      "amd",
    );
    expect(vendorFromCpuinfo("vendor_id\t: CentaurHauls\nflags\t\t: fpu\n")).toBe("none");
  });

  it("needs svm under TCG whatever the host, and the host's own flag under KVM", () => {
    expect(nestedFeature("qemu", "intel")).toBe("svm");
    expect(nestedFeature("kvm", "intel")).toBe("vmx");
    expect(nestedFeature("kvm", "amd")).toBe("svm");
  });

  it("derives MACs in 52:54:00 from the domain name and NIC position", () => {
    const digest = createHash("sha256")
      .update("nestlab-domain-mac\0jiaoshiji\0" + "1")
      .digest();
    expect(stableMac("jiaoshiji", 1)).toBe(
      `52:54:00:${[...digest.subarray(0, 3)].map((b) => b.toString(16).padStart(2, "0")).join(":")}`,
    );
    expect(stableMac("jiaoshiji", 1)).toBe(stableMac("jiaoshiji", 1));
    expect(stableMac("jiaoshiji", 0)).not.toBe(stableMac("jiaoshiji", 1));
    expect(stableMac("classroom", 0)).not.toBe(stableMac("jiaoshiji", 0));
  });

  it("mixes the hypervisor's identity into MACs: two hosts' jiaoshiji differ on a shared bridge", () => {
    const digest = createHash("sha256")
      .update("nestlab-domain-mac\0" + "0f6e1c2d\0jiaoshiji\0" + "0")
      .digest();
    expect(stableMac("jiaoshiji", 0, "0f6e1c2d")).toBe(
      `52:54:00:${[...digest.subarray(0, 3)].map((b) => b.toString(16).padStart(2, "0")).join(":")}`,
    );
    expect(stableMac("jiaoshiji", 0, "0f6e1c2d")).not.toBe(stableMac("jiaoshiji", 0, "7a9b3c4d"));
    expect(stableMac("jiaoshiji", 0, "0f6e1c2d")).not.toBe(stableMac("jiaoshiji", 0));
  });
});

describe("parseDomInfoLive (virsh dominfo of a running domain, libvirt 9.0)", () => {
  it("reads the memory the guest has and its vCPUs", () => {
    const dominfo = [
      "Id:             7",
      "Name:           nlt-f-memprobe",
      "UUID:           0c6f4a52-9d3e-4b8e-8f5e-2f1a3b4c5d6e",
      "OS Type:        hvm",
      "State:          running",
      "CPU(s):         1",
      "CPU time:       1.2s",
      "Max memory:     393216 KiB",
      "Used memory:    263168 KiB",
      "Persistent:     yes",
      "Autostart:      disable",
      "",
    ].join("\n");
    expect(parseDomInfoLive(dominfo)).toEqual({ usedMemoryKiB: 263168, cpus: 1 });
    expect(parseDomInfoLive("")).toEqual({ usedMemoryKiB: undefined, cpus: undefined });
  });
});

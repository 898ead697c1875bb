import { pickAddresses } from "../../support/second-hypervisor";
import { s3BackendUrl } from "../../support/s3-server";

const prefix = (dotted: string, bits: number): [number, number] => [
  dotted.split(".").reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0),
  bits,
];

describe("pickAddresses: a /30 of 198.18.0.0/15 for the second hypervisor", () => {
  test("the slot of the pid: this machine's end .1, the hypervisor's .2", () => {
    expect(pickAddresses(0, [])).toEqual(["198.18.0.1", "198.18.0.2"]);
    expect(pickAddresses(70, [])).toEqual(["198.18.1.25", "198.18.1.26"]);
    // The slots wrap within the range.
    expect(pickAddresses(32768 + 1, [])).toEqual(["198.18.0.5", "198.18.0.6"]);
    expect(pickAddresses(32767, [])).toEqual(["198.19.255.253", "198.19.255.254"]);
  });

  test("skips a /30 that an address or a narrower route here touches, not the broad routes", () => {
    const broad = [prefix("0.0.0.0", 0), prefix("198.0.0.0", 8), prefix("198.18.0.0", 15)];
    expect(pickAddresses(0, broad)).toEqual(["198.18.0.1", "198.18.0.2"]);
    expect(pickAddresses(0, [prefix("198.18.0.2", 32)])).toEqual(["198.18.0.5", "198.18.0.6"]);
    expect(pickAddresses(0, [prefix("198.18.0.0", 23)])).toEqual(["198.18.2.1", "198.18.2.2"]);
  });
});

describe("s3BackendUrl: the engine's S3 URL of a bucket on a server of one's own", () => {
  test("endpoint with its scheme, region, path-style addressing, checksums only where required", () => {
    expect(s3BackendUrl("team-state", "http://127.0.0.1:8333")).toBe(
      "s3://team-state?endpoint=http%3A%2F%2F127.0.0.1%3A8333&region=us-east-1&use_path_style=true&response_checksum_validation=when_required",
    );
    expect(s3BackendUrl("b", "https://s3.example.org", "eu-west-1")).toBe(
      "s3://b?endpoint=https%3A%2F%2Fs3.example.org&region=eu-west-1&use_path_style=true&response_checksum_validation=when_required",
    );
  });
});

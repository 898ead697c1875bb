import { HostAccess } from "../../../components/host/access";
import { checkPorts } from "../../../components/domain/preflight";
import { ResolvedDomainSpec } from "../../../components/domain/spec";
import { DomainInputs } from "../../../components/domain/inputs";

// `ss -H -l -n -t` on a host where the domain itself holds VNC on 127.0.0.1:5957
// and something else listens on 10.0.0.5:5958.
const SS_TCP = [
  "LISTEN 0      1          127.0.0.1:5957       0.0.0.0:*",
  "LISTEN 0      128         10.0.0.5:5958       0.0.0.0:*",
].join("\n");

const host = {
  label: "this machine",
  hasCommand: async () => true,
  run: async (argv: readonly string[]) => ({
    exitCode: 0,
    stdout: argv.includes("-t") ? SS_TCP : "",
    stderr: "",
  }),
} as unknown as HostAccess;

const olds = {
  domainName: "jiaoshiji",
  vnc: { listen: "127.0.0.1", display: 57 },
} as unknown as Partial<DomainInputs>;
const spec = (vnc: object) => ({ vnc }) as unknown as ResolvedDomainSpec;

test("VNC moved from 127.0.0.1 to 0.0.0.0 on the same port: the listener there is the domain's own, released by the restart", async () => {
  await expect(
    checkPorts(host, spec({ listen: "0.0.0.0", display: 57 }), olds),
  ).resolves.toBeUndefined();
});

test("a port someone else holds is still refused, naming the argument", async () => {
  await expect(checkPorts(host, spec({ listen: "0.0.0.0", display: 58 }), olds)).rejects.toThrow(
    "vnc.display: 5958 is not valid; expected a TCP port that is free on 0.0.0.0 of this machine",
  );
});

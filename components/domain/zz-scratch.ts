import { writeFileSync } from "fs";
import { execFileSync } from "child_process";
import { FIXTURE_SPECS } from "../../test/unit/domain/fixture-specs";
import { resolveDomainSpec } from "./resolve";
import { renderDomainXml } from "./render";
for (const [name, f] of Object.entries(FIXTURE_SPECS)) {
  const xml = renderDomainXml(resolveDomainSpec(f.spec, f.facts, f.vncPasswordSet));
  writeFileSync(`/tmp/nlt-domain-explore/${name}.xml`, xml);
  const v = (...a: string[]) => execFileSync("virsh", ["-q", "-c", "qemu:///system", ...a], { encoding: "utf8" });
  v("define", `/tmp/nlt-domain-explore/${name}.xml`);
  const dump = v("dumpxml", "--inactive", f.spec.domainName);
  v("undefine", f.spec.domainName);
  writeFileSync(`test/unit/domain/fixtures/${name}.inactive.xml`, dump);
  console.log(name, "ok");
}

import { promises as fs } from "fs";
import * as path from "path";
import { comparableXml, normaliseDomainXml } from "../../../components/domain/normalise";
import { renderDomainXml } from "../../../components/domain/render";
import { resolveDomainSpec } from "../../../components/domain/resolve";
import { FIXTURE_SPECS } from "../../unit/domain/fixture-specs";
import { removeOurDomains, scratchDir, virsh, virshOk } from "./support";

const FIXTURES = path.resolve(__dirname, "../../unit/domain/fixtures");

/**
 * The unit tests normalise libvirt's stored XML captured here. This test
 * defines each fixture spec in the real libvirtd, takes `virsh dumpxml
 * --inactive`, and checks (1) that it normalises back to what was defined and
 * (2) that it is what the unit tests were given (apart from the UUID), so the
 * captured files cannot go stale. NLT_DOMAIN_RECAPTURE=1 rewrites them.
 */
describe("libvirt's stored XML for each fixture spec", () => {
  let dir: string;
  beforeAll(async () => {
    await removeOurDomains();
    ({ dir } = await scratchDir("fixtures"));
  });
  afterAll(async () => {
    for (const f of Object.values(FIXTURE_SPECS)) await virsh("undefine", f.spec.domainName);
    await fs.rm(dir, { recursive: true, force: true });
  });

  test.each(Object.keys(FIXTURE_SPECS))(
    "%s: normalises back to the defined XML and matches the captured fixture",
    async (name) => {
      const f = FIXTURE_SPECS[name];
      const xml = renderDomainXml(resolveDomainSpec(f.spec, f.facts, f.vncPasswordSet));
      const file = path.join(dir, `${name}.xml`);
      await fs.writeFile(file, xml);
      await virsh("undefine", f.spec.domainName);
      await virshOk("define", file);
      const stored = await virshOk("dumpxml", "--inactive", f.spec.domainName);
      await virshOk("undefine", f.spec.domainName);
      expect(normaliseDomainXml(stored, xml)).toBe(comparableXml(xml));
      const capturedFile = path.join(FIXTURES, `${name}.inactive.xml`);
      if (process.env.NLT_DOMAIN_RECAPTURE === "1") await fs.writeFile(capturedFile, stored);
      const withoutUuid = (s: string) => s.replace(/<uuid>[^<]*<\/uuid>/, "<uuid/>");
      expect(withoutUuid(stored)).toBe(withoutUuid(await fs.readFile(capturedFile, "utf8")));
    },
  );
});

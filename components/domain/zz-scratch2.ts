import { readFileSync } from "fs";
import { comparableXml, normaliseDomainXml, fieldsFromXml } from "./normalise";
for (const m of ["custom", "host-model"]) {
  const gen = readFileSync(`/tmp/nlt-domain-explore/${m}.xml`, "utf8");
  const dump = readFileSync(`/tmp/nlt-domain-explore/${m}.dump.xml`, "utf8");
  const a = comparableXml(gen), b = normaliseDomainXml(dump, gen);
  console.log(m, a === b);
  if (a !== b) { console.log(a); console.log(b); }
  console.log(JSON.stringify(fieldsFromXml(b)) === JSON.stringify(fieldsFromXml(a)));
}
console.log(JSON.stringify(fieldsFromXml(readFileSync(`/tmp/nlt-domain-explore/custom.xml`, "utf8")), null, 1));

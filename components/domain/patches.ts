import { DOMParser } from "@xmldom/xmldom";
import type { Attr, Document, Element, Node } from "@xmldom/xmldom";
import * as xpath from "xpath";
import { assertNever, oneOf } from "../core/checks";
import { InvalidArgumentError } from "../core/errors";
import { isUnknown, XmlPatch } from "./spec";
import { docOf } from "../core/xml-doc";

/**
 * Applies xmlPatches to the rendered document, in order. Each patch must
 * match at least one node: a patch that matches nothing is stale (the typed
 * arguments changed under it) and is refused rather than silently skipped.
 */
export function applyXmlPatches(doc: Document, patches: readonly XmlPatch[]): void {
  const select = xpath.useNamespaces(PATCH_NAMESPACES);
  patches.forEach((patch, i) => {
    const arg = `xmlPatches[${i}]`;
    const found = select(patch.xpath, doc as unknown as globalThis.Node);
    const nodes = (Array.isArray(found) ? found : []) as unknown as Node[];
    if (nodes.length === 0) {
      throw new InvalidArgumentError(
        `${arg}.xpath`,
        patch.xpath,
        "an XPath that matches at least one node of the generated XML (see the `xml` output)",
      );
    }
    for (const node of nodes) {
      switch (patch.op) {
        case "set":
          setNode(arg, node, patch.attribute, patch.value);
          break;
        case "remove":
          removeNode(arg, node);
          break;
        case "add": {
          if (node.nodeType !== 1)
            throw new InvalidArgumentError(
              `${arg}.xpath`,
              patch.xpath,
              "an XPath that selects elements to add to",
            );
          const fragment = parseFragment(`${arg}.xml`, patch.xml);
          node.appendChild(doc.importNode(fragment, true));
          break;
        }
        default:
          assertNever(patch);
      }
    }
  });
}

function setNode(arg: string, node: Node, attribute: string | undefined, value: string): void {
  if (node.nodeType === 2) {
    (node as Attr).value = value;
    const owner = (node as Attr).ownerElement;
    owner?.setAttribute((node as Attr).name, value);
    return;
  }
  if (node.nodeType !== 1)
    throw new InvalidArgumentError(
      `${arg}.xpath`,
      "(a text node)",
      "an XPath that selects elements or attributes",
    );
  const el = node as Element;
  if (attribute !== undefined) {
    el.setAttribute(attribute, value);
    return;
  }
  while (el.firstChild) el.removeChild(el.firstChild);
  el.appendChild(docOf(el).createTextNode(value));
}

function removeNode(arg: string, node: Node): void {
  if (node.nodeType === 2) {
    const attr = node as Attr;
    attr.ownerElement?.removeAttribute(attr.name);
    return;
  }
  const parent = node.parentNode;
  if (!parent || parent.nodeType === 9)
    throw new InvalidArgumentError(`${arg}.xpath`, "(the root element)", "an XPath below <domain>");
  parent.removeChild(node);
}

/** Patches must name a node set that xpath understands, and carry what their op needs. */
export function validateXmlPatches(patches: readonly XmlPatch[] | undefined): void {
  if (patches === undefined || isUnknown(patches)) return;
  if (!Array.isArray(patches))
    throw new InvalidArgumentError("xmlPatches", patches, "a list of { op, xpath, … }");
  const probe = new DOMParser().parseFromString("<domain/>", "text/xml");
  patches.forEach((p: XmlPatch, i: number) => {
    const arg = `xmlPatches[${i}]`;
    if (isUnknown(p)) return;
    oneOf(`${arg}.op`, p.op, ["set", "remove", "add"], false);
    if (isUnknown(p.xpath)) return;
    if (typeof p.xpath !== "string" || p.xpath.trim() === "")
      throw new InvalidArgumentError(`${arg}.xpath`, p.xpath, "an XPath expression");
    try {
      xpath.useNamespaces(PATCH_NAMESPACES)(p.xpath, probe as unknown as globalThis.Node);
    } catch (e) {
      throw new InvalidArgumentError(
        `${arg}.xpath`,
        p.xpath,
        `an XPath expression (${(e as Error).message})`,
      );
    }
    switch (p.op) {
      case "set":
        if (
          p.attribute !== undefined &&
          (typeof p.attribute !== "string" || !/^[A-Za-z_][A-Za-z0-9_.:-]*$/.test(p.attribute))
        ) {
          throw new InvalidArgumentError(
            `${arg}.attribute`,
            p.attribute,
            "an XML attribute name, or nothing to set the element's text",
          );
        }
        if (typeof p.value !== "string" && !isUnknown(p.value))
          throw new InvalidArgumentError(`${arg}.value`, p.value, "a string");
        return;
      case "remove":
        return;
      case "add":
        if (isUnknown(p.xml)) return;
        parseFragment(`${arg}.xml`, p.xml);
        return;
      default:
        return assertNever(p);
    }
  });
}

/** Prefixes an xmlPatches XPath may use. */
export const PATCH_NAMESPACES: Record<string, string> = {
  qemu: "http://libvirt.org/schemas/domain/qemu/1.0",
};

/** Parses one element of XML for an "add" patch; throws InvalidArgumentError when it is not well formed. */
export function parseFragment(argument: string, xml: unknown): Element {
  const allowed = "one well-formed XML element, e.g. \"<watchdog model='i6300esb'/>\"";
  if (typeof xml !== "string") throw new InvalidArgumentError(argument, xml, allowed);
  let bad: string | undefined;
  try {
    const doc = new DOMParser({
      onError: (level, msg) => {
        if (level !== "warning") bad ??= msg;
      },
    }).parseFromString(xml, "text/xml");
    if (bad === undefined && doc.documentElement) return doc.documentElement;
  } catch {
    // xmldom throws on fatal errors: the same answer as an error report.
  }
  throw new InvalidArgumentError(argument, xml, allowed);
}

import type { Attr, Document, Element, Node } from "@xmldom/xmldom";
import * as xpath from "xpath";
import { assertNever } from "../core/checks";
import { InvalidArgumentError } from "../core/errors";
import { XmlPatch } from "./spec";
import { parseFragment, PATCH_NAMESPACES } from "./validate";
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

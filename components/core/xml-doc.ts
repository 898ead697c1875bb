import { DOMParser, XMLSerializer } from "@xmldom/xmldom";
import type { Attr, Document, Element, Node } from "@xmldom/xmldom";

/**
 * Small DOM helpers shared by every libvirt document (domain, network), and
 * the one canonical way a document becomes text: attributes sorted by name
 * (namespace declarations first), two-space indentation, no XML declaration.
 * Two documents with the same content always give the same bytes.
 */

export const XMLNS = "http://www.w3.org/2000/xmlns/";
export const QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0";
/** The namespace of this project's `<metadata>` element. */
export const NESTLAB_NS = "urn:nestlab:domain:1";

export type Attrs = Readonly<Record<string, string | number | undefined>>;

/** Appends `<name attrs…>` to parent; undefined attribute values are left out. */
export function child(
  parent: Element,
  name: string,
  attrs: Attrs = {},
  text?: string | number,
): Element {
  const doc = docOf(parent);
  const el = name.startsWith("qemu:")
    ? doc.createElementNS(QEMU_NS, name)
    : doc.createElement(name);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined) el.setAttribute(key, String(value));
  }
  if (text !== undefined) el.appendChild(doc.createTextNode(String(text)));
  parent.appendChild(el);
  return el;
}

/** The document a node belongs to. */
export function docOf(node: Node): Document {
  const doc = node.ownerDocument;
  if (!doc) throw new Error(`<${node.nodeName}> belongs to no document`);
  return doc;
}

/** Parses a document, throwing with the parser's message when it is not well formed. */
export function parseXml(xml: string, what = "domain XML"): Document {
  let problem: string | undefined;
  let doc: Document | undefined;
  try {
    doc = new DOMParser({
      onError: (level, message) => {
        if (level !== "warning") problem ??= message;
      },
    }).parseFromString(xml, "text/xml");
  } catch (e) {
    problem ??= (e as Error).message;
  }
  if (problem !== undefined || !doc?.documentElement)
    throw new Error(`The ${what} is not well formed: ${problem ?? "no root element"}`);
  return doc;
}

/** The root element of a parsed document. */
export function rootOf(doc: Document): Element {
  const root = doc.documentElement;
  if (!root) throw new Error("The document has no root element");
  return root;
}

/** Child elements of a node, in document order. */
export function elements(node: Node): Element[] {
  const out: Element[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) out.push(c as Element);
  return out;
}

/** The first child element with that name, if any. */
export function firstChild(node: Node, name: string): Element | undefined {
  return elements(node).find((e) => e.nodeName === name);
}

/** The text of an element, trimmed. */
export function textOf(el: Element | undefined): string | undefined {
  return el?.textContent?.trim();
}

/** The canonical text of a document (see the module comment). */
export function canonicalXml(doc: Document): string {
  const copy = parseXml(new XMLSerializer().serializeToString(doc));
  const root = rootOf(copy);
  tidy(root, 0);
  return `${new XMLSerializer().serializeToString(root)}\n`;
}

/** Drops whitespace-only text, sorts attributes, indents children. */
function tidy(el: Element, depth: number): void {
  const attrs: { ns: string | null; name: string; value: string }[] = [];
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i) as Attr;
    attrs.push({ ns: a.namespaceURI, name: a.name, value: a.value });
  }
  for (const a of attrs) el.removeAttribute(a.name);
  attrs.sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const a of attrs) {
    if (a.ns) el.setAttributeNS(a.ns, a.name, a.value);
    else el.setAttribute(a.name, a.value);
  }
  const kids: Node[] = [];
  for (let c = el.firstChild; c; c = c.nextSibling) kids.push(c);
  const hasElements = kids.some((k) => k.nodeType === 1);
  if (!hasElements) {
    // A leaf: keep its text exactly (trimmed), or make it empty.
    const text = kids
      .map((k) => k.nodeValue ?? "")
      .join("")
      .trim();
    for (const k of kids) el.removeChild(k);
    if (text !== "") el.appendChild(docOf(el).createTextNode(text));
    return;
  }
  for (const k of kids) if (k.nodeType !== 1) el.removeChild(k);
  const doc = docOf(el);
  const pad = "\n" + "  ".repeat(depth + 1);
  for (const k of kids.filter((n) => n.nodeType === 1)) {
    el.insertBefore(doc.createTextNode(pad), k);
    tidy(k as Element, depth + 1);
  }
  el.appendChild(doc.createTextNode("\n" + "  ".repeat(depth)));
}

function rank(a: { ns: string | null; name: string }): number {
  return a.ns === XMLNS || a.name === "xmlns" || a.name.startsWith("xmlns:") ? 0 : 1;
}

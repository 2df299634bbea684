// The little XML the COS endpoint speaks: result documents out, and the one document in
// (CompleteMultipartUpload's part list), whose fixed shape a small parser reads without a
// general XML library.
import { CosError, cosErrors } from "./errors.js";

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&apos;",
  );
}

function unescapeXml(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#(\d+)|#x([0-9a-f]+));/gi, (m, name: string, dec, hex) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[name.toLowerCase()] ?? m;
  });
}

export type XmlValue = string | number | boolean | null | undefined | XmlNode | XmlNode[];
export interface XmlNode {
  [tag: string]: XmlValue;
}

function render(tag: string, value: XmlValue): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) return value.map((v) => render(tag, v)).join("");
  if (value === null || value === "") return `<${tag}/>`;
  if (typeof value === "object") {
    const inner = Object.entries(value)
      .map(([k, v]) => render(k, v))
      .join("");
    return `<${tag}>${inner}</${tag}>`;
  }
  return `<${tag}>${escapeXml(String(value))}</${tag}>`;
}

/** `<?xml ...?><Root>...</Root>`; arrays repeat their tag, null/"" give an empty element. */
export function xmlDocument(root: string, body: XmlNode): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${render(root, body)}`;
}

export function errorXml(err: CosError, requestId: string, resource: string): string {
  return xmlDocument("Error", {
    Code: err.code,
    Message: err.message,
    Resource: resource,
    RequestId: requestId,
    TraceId: requestId,
  });
}

export interface CompletePart {
  partNumber: number;
  /** Without quotes. */
  etag: string;
}

/** Reads `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...</CompleteMultipartUpload>`. */
export function parseCompleteMultipart(xml: string): CompletePart[] {
  const body = xml.replace(/^\uFEFF/, "").replace(/<\?xml[^>]*\?>/, "");
  const root = /^\s*<CompleteMultipartUpload(?:\s[^>]*)?>([\s\S]*)<\/CompleteMultipartUpload>\s*$/.exec(body);
  if (!root) throw cosErrors.malformedXML();
  const parts: CompletePart[] = [];
  let rest = root[1]!;
  const partRe = /^\s*<Part>([\s\S]*?)<\/Part>/;
  for (;;) {
    const m = partRe.exec(rest);
    if (!m) break;
    const inner = m[1]!;
    const num = /<PartNumber>\s*(\d{1,5})\s*<\/PartNumber>/.exec(inner);
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(inner);
    if (!num || !etag) throw cosErrors.malformedXML();
    parts.push({ partNumber: Number(num[1]), etag: unescapeXml(etag[1]!).trim().replace(/^"|"$/g, "") });
    rest = rest.slice(m[0].length);
  }
  if (rest.trim() !== "" || parts.length === 0) throw cosErrors.malformedXML();
  return parts;
}

// The COS request signature (q-sign-algorithm=sha1), verified the way cos-nodejs-sdk-v5's
// util.getAuth computes it:
//   SignKey      = hex(HMAC-SHA1(SecretKey, q-key-time))
//   FormatString = method\npath\nparams\nheaders\n   (path: "/" + the object key, not encoded;
//                  params and headers: the signed ones, sorted, `k=v` with lowercased encoded
//                  keys and encoded values, joined by "&")
//   StringToSign = "sha1\n" + q-sign-time + "\n" + hex(SHA1(FormatString)) + "\n"
//   q-signature  = hex(HMAC-SHA1(SignKey, StringToSign))   (the hex SignKey is the HMAC key)
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export interface CosAuthorization {
  accessKey: string;
  signTime: string;
  keyTime: string;
  /** q-sign-time bounds, Unix seconds. */
  start: number;
  end: number;
  /** Lowercased, encoded names as listed in the header. */
  headerList: string[];
  paramList: string[];
  signature: string;
}

/** Parses `q-sign-algorithm=sha1&q-ak=...&...`; undefined when it is not a well-formed COS signature. */
export function parseCosAuthorization(header: string | undefined): CosAuthorization | undefined {
  if (!header || !header.startsWith("q-sign-algorithm=")) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.split("&")) {
    const eq = part.indexOf("=");
    if (eq < 0) return undefined;
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  if (fields.get("q-sign-algorithm") !== "sha1") return undefined;
  const accessKey = fields.get("q-ak");
  const signTime = fields.get("q-sign-time");
  const keyTime = fields.get("q-key-time");
  const signature = fields.get("q-signature");
  const headers = fields.get("q-header-list");
  const params = fields.get("q-url-param-list");
  if (!accessKey || !signTime || !keyTime || !signature || headers === undefined || params === undefined) {
    return undefined;
  }
  const m = /^(\d{1,12});(\d{1,12})$/.exec(signTime);
  if (!m || !/^[0-9a-f]{40}$/i.test(signature)) return undefined;
  const list = (s: string) => (s ? s.split(";").map((x) => x.toLowerCase()) : []);
  return {
    accessKey,
    signTime,
    keyTime,
    start: Number(m[1]),
    end: Number(m[2]),
    headerList: list(headers),
    paramList: list(params),
    signature: signature.toLowerCase(),
  };
}

/** encodeURIComponent plus the characters COS also escapes (the SDK's camSafeUrlEncode). */
export function camSafeUrlEncode(s: string): string {
  return encodeURIComponent(s)
    .replace(/!/g, "%21")
    .replace(/'/g, "%27")
    .replace(/\(/g, "%28")
    .replace(/\)/g, "%29")
    .replace(/\*/g, "%2A");
}

/** The SDK's obj2str over the entries whose encoded, lowercased key is in `signed`. */
function canonical(entries: Iterable<[string, string]>, signed: string[]): string {
  const wanted = new Set(signed);
  const picked: [string, string][] = [];
  for (const [k, v] of entries) if (wanted.has(camSafeUrlEncode(k).toLowerCase())) picked.push([k, v]);
  picked.sort(([a], [b]) => {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x === y ? 0 : x > y ? 1 : -1;
  });
  return picked.map(([k, v]) => `${camSafeUrlEncode(k).toLowerCase()}=${camSafeUrlEncode(v)}`).join("&");
}

export interface SignedCosRequest {
  method: string;
  /** "/" + the object key, decoded (as the SDK signs it). */
  pathname: string;
  /** Decoded query parameters. */
  query: Map<string, string>;
  /** Request headers with lowercased names (as Node gives them). */
  headers: Record<string, string | string[] | undefined>;
}

export function cosSignature(secretKey: string, auth: CosAuthorization, req: SignedCosRequest): string {
  const headerEntries: [string, string][] = [];
  for (const name of auth.headerList) {
    const v = req.headers[name];
    headerEntries.push([name, Array.isArray(v) ? v.join(",") : (v ?? "")]);
  }
  const formatString = [
    req.method.toLowerCase(),
    req.pathname,
    canonical(req.query, auth.paramList),
    canonical(headerEntries, auth.headerList),
    "",
  ].join("\n");
  const signKey = createHmac("sha1", secretKey).update(auth.keyTime).digest("hex");
  const digest = createHash("sha1").update(formatString, "utf8").digest("hex");
  const stringToSign = `sha1\n${auth.signTime}\n${digest}\n`;
  return createHmac("sha1", signKey).update(stringToSign).digest("hex");
}

export function signatureMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected, "latin1");
  const b = Buffer.from(given, "latin1");
  return a.length === b.length && timingSafeEqual(a, b);
}

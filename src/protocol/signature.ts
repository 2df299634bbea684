// Request authentication for both signature styles the Tencent Cloud SDKs emit:
// TC3-HMAC-SHA256 (Authorization header; JSON POST or query GET) and the legacy
// HmacSHA1/HmacSHA256 (Signature parameter in a form POST or a GET query).
// See shared/reference/vod-api-notes.md §1 for what the SDK puts on the wire.

import { createHmac, hash, timingSafeEqual, type BinaryLike } from "node:crypto";
import { errors } from "./errors.js";
import { FORBIDDEN_KEYS, MAX_DEPTH, MAX_KEYS, unflatten } from "./params.js";

export interface SignedRequest {
  method: string;
  /** Node-style headers: lowercase names. */
  headers: Record<string, string | string[] | undefined>;
  /** Raw query string without '?'. */
  rawQuery: string;
  body: Buffer;
}

export interface Authenticated {
  style: "TC3-HMAC-SHA256" | "HmacSHA1" | "HmacSHA256";
  secretId: string;
  action: string;
  version: string;
  region: string;
  language: string;
  token: string;
  /** API parameters only; the common parameters are never part of it. */
  params: Record<string, unknown>;
  /** True when params came from form/query strings (legacy, or TC3 GET/form): every leaf is a string. */
  coerceStrings: boolean;
  /** Legacy styles: what identifies this signed request, and the Unix second its Timestamp expires (src/protocol/replay.ts). */
  replay?: { key: string; untilSec: number };
}

const WINDOW_SEC = 300;
const FORM = "application/x-www-form-urlencoded";
const COMMON = new Set([
  "Action",
  "Version",
  "Region",
  "Timestamp",
  "Nonce",
  "SecretId",
  "SignatureMethod",
  "Signature",
  "RequestClient",
  "Language",
  "Token",
]);
const LEGACY_ALG = { HmacSHA1: "sha1", HmacSHA256: "sha256" } as const;

// The fixed layout every SDK writes. The service label is whatever the client derived from its
// endpoint (the SDK uses endpoint.split(".")[0], so `127` for 127.0.0.1:PORT), hence it is
// taken from the scope and never assumed to be `vod`.
const TC3_AUTH =
  /^TC3-HMAC-SHA256 +Credential=([^/,\s]+)\/(\d{4}-\d{2}-\d{2})\/([^/,\s]+)\/tc3_request *, *SignedHeaders=([a-z0-9-]+(?:;[a-z0-9-]+)*) *, *Signature=([0-9a-fA-F]{64})$/;

export function authenticate(
  req: SignedRequest,
  lookupSecretKey: (secretId: string) => string | undefined,
  nowSec: number,
): Authenticated {
  if (req.method !== "GET" && req.method !== "POST") {
    throw errors.unsupportedProtocol(`HTTP method ${req.method} is not supported; use GET or POST.`);
  }
  const auth = header(req, "authorization");
  if (auth) {
    if (!auth.startsWith("TC3-HMAC-SHA256")) throw errors.invalidAuthorization();
    return tc3(req, auth, lookupSecretKey, nowSec);
  }
  return legacy(req, lookupSecretKey, nowSec);
}

function tc3(
  req: SignedRequest,
  auth: string,
  lookupSecretKey: (secretId: string) => string | undefined,
  nowSec: number,
): Authenticated {
  const m = TC3_AUTH.exec(auth);
  if (!m) throw errors.invalidAuthorization();
  const [, secretId, date, service, signedHeaders, sigHex] = m;
  const signed = signedHeaders.split(";");
  if (!signed.includes("host") || !signed.includes("content-type")) {
    throw errors.invalidAuthorization("SignedHeaders must include content-type and host.");
  }
  const action = required(header(req, "x-tc-action"), "X-TC-Action");
  const version = required(header(req, "x-tc-version"), "X-TC-Version");
  const tsRaw = required(header(req, "x-tc-timestamp"), "X-TC-Timestamp");
  checkTimestamp(tsRaw, "X-TC-Timestamp", nowSec);
  if (utcDay(tsRaw) !== date) {
    throw errors.signatureFailure("The date in the credential scope does not match X-TC-Timestamp.");
  }
  const key = lookupSecretKey(secretId);
  if (!key) throw errors.secretIdNotFound();

  const kSigning = signingKey(key, date, service);
  const expected = Buffer.from(sigHex, "hex");
  const prefix = `${req.method}\n/\n${req.rawQuery}\n`;
  const suffix = `\n${signedHeaders}\n${hash("sha256", req.body, "hex")}`;
  const scope = `TC3-HMAC-SHA256\n${tsRaw}\n${date}/${service}/tc3_request\n`;
  const matches = (block: string) => {
    // One-shot hashes (crypto.hash) spare the Hash object a createHash() makes per request.
    const hashed = hash("sha256", prefix + block + suffix, "hex");
    return timingSafeEqual(hmac(kSigning, scope + hashed), expected);
  };
  // The Node SDK signs `host:` with the URL hostname (no port) while sending Host with the port,
  // and content-type exactly as sent. Other clients sign the Host header verbatim, or lowercase
  // the values as Tencent's docs describe; those spellings are only tried after a mismatch.
  const host = header(req, "host") ?? "";
  const bare = host.startsWith("[")
    ? host.slice(0, host.indexOf("]") + 1) || host
    : host.replace(/:\d*$/, "");
  const block = (h: string, lower: boolean) =>
    signed
      .map((n) => {
        const v = n === "host" ? h : (header(req, n) ?? "").trim();
        return `${n}:${lower ? v.toLowerCase() : v}\n`;
      })
      .join("");
  const first = block(bare, false);
  if (!matches(first)) {
    const rest = new Set([block(host, false), block(bare, true)]);
    rest.delete(first);
    if (![...rest].some(matches)) throw errors.signatureFailure();
  }

  let params: Record<string, unknown>;
  let coerceStrings = true;
  if (req.method === "GET") {
    params = formParams(new URLSearchParams(req.rawQuery));
  } else {
    const type = mediaType(header(req, "content-type"));
    if (type === "application/json") {
      params = jsonParams(req.body);
      coerceStrings = false;
    } else if (type === FORM) {
      params = formParams(new URLSearchParams(req.body.toString("utf8")));
    } else {
      throw errors.invalidParameter(
        "Content-Type must be application/json or application/x-www-form-urlencoded.",
      );
    }
  }
  return {
    style: "TC3-HMAC-SHA256",
    secretId,
    action,
    version,
    region: header(req, "x-tc-region") ?? "",
    language: header(req, "x-tc-language") ?? "",
    token: header(req, "x-tc-token") ?? "",
    params,
    coerceStrings,
  };
}

function legacy(
  req: SignedRequest,
  lookupSecretKey: (secretId: string) => string | undefined,
  nowSec: number,
): Authenticated {
  let text: string;
  if (req.method === "GET") text = req.rawQuery;
  else if (mediaType(header(req, "content-type")) === FORM) text = req.body.toString("utf8");
  else {
    throw errors.invalidParameter(
      "A request without an Authorization header must be a GET query or an application/x-www-form-urlencoded POST.",
    );
  }
  const all = [...new URLSearchParams(text)];
  if (all.length > MAX_KEYS + COMMON.size)
    throw errors.invalidParameter(`Too many parameters (more than ${MAX_KEYS}).`);
  const common = new Map<string, string>();
  const api: [string, string][] = [];
  for (const pair of all) {
    if (!COMMON.has(pair[0])) api.push(pair);
    else if (common.has(pair[0]))
      throw errors.invalidParameter(`The parameter \`${pair[0]}\` is given more than once.`);
    else common.set(pair[0], pair[1]);
  }
  if (!common.has("SecretId") && !common.has("Signature"))
    throw errors.invalidAuthorization("Request is not signed.");
  const action = required(common.get("Action"), "Action");
  const secretId = required(common.get("SecretId"), "SecretId");
  const signature = required(common.get("Signature"), "Signature");
  const tsRaw = required(common.get("Timestamp"), "Timestamp");
  const nonce = required(common.get("Nonce"), "Nonce");
  if (!/^\d{1,20}$/.test(nonce)) {
    throw errors.invalidParameter("The parameter `Nonce` must be a positive integer.");
  }
  const version = required(common.get("Version"), "Version");
  const style = common.get("SignatureMethod") ?? "HmacSHA1";
  if (style !== "HmacSHA1" && style !== "HmacSHA256") {
    throw errors.invalidParameter("The parameter `SignatureMethod` must be HmacSHA1 or HmacSHA256.");
  }
  checkTimestamp(tsRaw, "Timestamp", nowSec);
  const key = lookupSecretKey(secretId);
  if (!key) throw errors.secretIdNotFound();

  // Signed over the Host header as sent (the SDK uses its endpoint string, port included) and the
  // decoded, unencoded values sorted by key in UTF-16 order, like the SDK's keys.sort().
  const sorted = all
    .filter((p) => p[0] !== "Signature")
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const toSign = `${req.method}${header(req, "host") ?? ""}/?${sorted.map(([k, v]) => `${k}=${v}`).join("&")}`;
  const expected = Buffer.from(createHmac(LEGACY_ALG[style], key).update(toSign, "utf8").digest("base64"));
  // A base64 '+' sent unencoded decodes to a space.
  const given = Buffer.from(signature.replaceAll(" ", "+"));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw errors.signatureFailure();

  return {
    style,
    secretId,
    action,
    version,
    region: common.get("Region") ?? "",
    language: common.get("Language") ?? "",
    token: common.get("Token") ?? "",
    params: unflatten(api),
    coerceStrings: true,
    replay: {
      key: `${secretId}\n${tsRaw}\n${nonce}\n${expected.toString()}`,
      untilSec: Number(tsRaw) + WINDOW_SEC,
    },
  };
}

function header(req: SignedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

function required(value: string | undefined, name: string): string {
  if (!value) throw errors.missingParameter(`The parameter \`${name}\` is missing.`);
  return value;
}

function checkTimestamp(raw: string, name: string, nowSec: number): void {
  if (!/^\d{1,12}$/.test(raw))
    throw errors.invalidParameter(`The parameter \`${name}\` must be a Unix time in seconds.`);
  if (Math.abs(Number(raw) - nowSec) > WINDOW_SEC) throw errors.signatureExpire();
}

// Every request of a second carries the same timestamp: its UTC day is worked out once.
let lastDay = { ts: "", day: "" };
function utcDay(tsRaw: string): string {
  if (lastDay.ts !== tsRaw)
    lastDay = { ts: tsRaw, day: new Date(Number(tsRaw) * 1000).toISOString().slice(0, 10) };
  return lastDay.day;
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";", 1)[0].trim().toLowerCase();
}

// The derived key depends only on the secret, the day and the service: derive it once a day
// instead of three HMACs per request.
const signingKeys = new Map<string, Buffer>();
function signingKey(secretKey: string, date: string, service: string): Buffer {
  const id = `${date}\n${service}\n${secretKey}`;
  let k = signingKeys.get(id);
  if (!k) {
    if (signingKeys.size > 1000) signingKeys.clear();
    k = hmac(hmac(hmac("TC3" + secretKey, date), service), "tc3_request");
    signingKeys.set(id, k);
  }
  return k;
}

function hmac(key: BinaryLike, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

function formParams(query: URLSearchParams): Record<string, unknown> {
  const api: [string, string][] = [];
  for (const pair of query) if (!COMMON.has(pair[0])) api.push(pair);
  return unflatten(api);
}

// JSON.parse defines "__proto__" as an own data property (no pollution by itself), but handlers
// that Object.assign or merge params could still be tricked, so the same names are refused here.
function jsonParams(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    throw errors.invalidParameter("The request body is not valid JSON.");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw errors.invalidParameter("The request body must be a JSON object.");
  }
  checkTree(value, 0);
  return value as Record<string, unknown>;
}

function checkTree(node: object, depth: number): void {
  const values = Array.isArray(node)
    ? node
    : Object.keys(node).map((k) => {
        if (FORBIDDEN_KEYS.has(k)) throw errors.invalidParameter(`The parameter name \`${k}\` is invalid.`);
        return (node as Record<string, unknown>)[k];
      });
  // Children of a node at `depth` sit at path length depth+1, the measure unflatten limits too.
  if (values.length > 0 && depth >= MAX_DEPTH) {
    throw errors.invalidParameter(`Parameters are nested deeper than ${MAX_DEPTH} levels.`);
  }
  for (const v of values) if (typeof v === "object" && v !== null) checkTree(v, depth + 1);
}

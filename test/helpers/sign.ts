// Independent request signers and a raw HTTP client, so tests can craft requests the official
// SDK never sends (wrong versions, stale timestamps, broken bodies) with a valid signature.
// Written from Tencent's documentation, not from src/protocol/signature.ts.
import { createHash, createHmac } from "node:crypto";
import http from "node:http";

export interface Tc3Options {
  secretId: string;
  secretKey: string;
  /** The exact body bytes that will be sent ("" for GET). */
  body: string | Buffer;
  method?: "GET" | "POST";
  /** Raw query string without '?', signed verbatim. */
  query?: string;
  /** X-TC-Action; "" leaves the header out. */
  action?: string;
  version?: string;
  /** Unix seconds; defaults to now. */
  ts?: number;
  /** Credential scope date; defaults to the UTC date of ts. */
  date?: string;
  /** Service label of the credential scope. */
  service?: string;
  /** The host value signed into the canonical headers (the SDK signs it without the port). */
  signedHost?: string;
  contentType?: string;
  /** Lowercase the canonical header values, as some non-SDK clients do. */
  lower?: boolean;
}

export const nowSec = () => Math.floor(Date.now() / 1000);

const sha256 = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
const hmac = (k: string | Buffer, s: string) => createHmac("sha256", k).update(s).digest();

/** The headers of a TC3-HMAC-SHA256 request, signed over content-type and host. */
export function tc3Headers(o: Tc3Options): Record<string, string> {
  const ts = o.ts ?? nowSec();
  const date = o.date ?? new Date(ts * 1000).toISOString().slice(0, 10);
  const method = o.method ?? "POST";
  const ct = o.contentType ?? (method === "GET" ? "application/x-www-form-urlencoded" : "application/json");
  const service = o.service ?? "vod";
  const host = o.signedHost ?? "127.0.0.1";
  const canonHeaders = `content-type:${o.lower ? ct.toLowerCase() : ct}\nhost:${host}\n`;
  const canonical = `${method}\n/\n${o.query ?? ""}\n${canonHeaders}\ncontent-type;host\n${sha256(o.body)}`;
  const sts = `TC3-HMAC-SHA256\n${ts}\n${date}/${service}/tc3_request\n${sha256(canonical)}`;
  const key = hmac(hmac(hmac("TC3" + o.secretKey, date), service), "tc3_request");
  const sig = hmac(key, sts).toString("hex");
  const headers: Record<string, string> = {
    "Content-Type": ct,
    "X-TC-Version": o.version ?? "2018-07-17",
    "X-TC-Timestamp": String(ts),
    Authorization: `TC3-HMAC-SHA256 Credential=${o.secretId}/${date}/${service}/tc3_request, SignedHeaders=content-type;host, Signature=${sig}`,
  };
  if (o.action !== "") headers["X-TC-Action"] = o.action ?? "DescribeTaskDetail";
  return headers;
}

export interface LegacyOptions {
  secretId: string;
  secretKey: string;
  /** The Host header as it will be sent (the SDK signs its endpoint, port included). */
  host: string;
  action?: string;
  alg?: "sha1" | "sha256";
  method?: "GET" | "POST";
  ts?: number;
  nonce?: string;
}

/** Parameters of a legacy HmacSHA1/HmacSHA256 request, Signature included, url-encoded. */
export function legacyForm(params: Record<string, string>, o: LegacyOptions): string {
  const alg = o.alg ?? "sha256";
  const all: Record<string, string> = {
    Action: o.action ?? "ProcessMedia",
    Version: "2018-07-17",
    Timestamp: String(o.ts ?? nowSec()),
    Nonce: o.nonce ?? "4242",
    SecretId: o.secretId,
    SignatureMethod: alg === "sha1" ? "HmacSHA1" : "HmacSHA256",
    ...params,
  };
  const toSign = `${o.method ?? "POST"}${o.host}/?${Object.keys(all)
    .sort()
    .map((k) => `${k}=${all[k]}`)
    .join("&")}`;
  all.Signature = createHmac(alg, o.secretKey).update(toSign).digest("base64");
  return new URLSearchParams(all).toString();
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: Buffer;
  /** The parsed body, undefined when it is not JSON. */
  json: any;
}

/** One HTTP request with exactly these headers and body bytes. */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | Buffer = "",
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        const text = body.toString("utf8");
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body, json });
      });
      res.on("error", reject);
    });
    r.on("error", reject);
    r.end(body);
  });
}

/** A request without a body (file serving checks: GET, HEAD, Range...). */
export const rawGet = (port: number, path: string, method = "GET", headers: Record<string, string> = {}) =>
  rawRequest(port, method, path, headers);

/** A client upload signature exactly as Tencent's docs (266/9221) and server samples build it. */
export function signUpload(fields: Record<string, string | number>, key: string): string {
  const original = new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString();
  const mac = createHmac("sha1", key).update(original).digest();
  return Buffer.concat([mac, Buffer.from(original)]).toString("base64");
}

/** The required fields of a client upload signature valid for an hour, with `over` on top. */
export function uploadFields(
  secretId: string,
  over: Record<string, string | number> = {},
): Record<string, string | number> {
  return {
    secretId,
    currentTimeStamp: nowSec(),
    expireTime: nowSec() + 3600,
    random: Math.floor(Math.random() * 2 ** 32),
    ...over,
  };
}

export interface UgcAnswer {
  code: number;
  message: string;
  data?: any;
}

/** One request to the web upload endpoint (POST /v3/index.php?Action=...), as vod-js-sdk-v6 sends it. */
export async function ugcCall(
  baseUrl: string,
  action: string,
  body: unknown,
  raw = false,
): Promise<UgcAnswer> {
  const r = await fetch(`${baseUrl}/v3/index.php?Action=${action}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  if (r.status !== 200) throw new Error(`${action}: HTTP ${r.status}`);
  if (r.headers.get("access-control-allow-origin") !== "*") throw new Error(`${action}: no CORS header`);
  return (await r.json()) as UgcAnswer;
}

/** A Key hotlink URL as doc 266/14047 signs it: md5(KEY + Dir + t + exper + rlimit + us), t in lowercase hex. */
export function signPlaybackUrl(
  url: string,
  key: string,
  o: { t?: number; exper?: number; rlimit?: number; us?: string } = {},
): string {
  const u = new URL(url);
  const t = (o.t ?? nowSec() + 600).toString(16);
  const exper = o.exper === undefined ? "" : String(o.exper);
  const rlimit = o.rlimit === undefined ? "" : String(o.rlimit);
  const us = o.us ?? "";
  const dir = u.pathname.slice(0, u.pathname.lastIndexOf("/") + 1);
  const sign = createHash("md5")
    .update(key + dir + t + exper + rlimit + us)
    .digest("hex");
  const q = new URLSearchParams({ t });
  if (exper) q.set("exper", exper);
  if (rlimit) q.set("rlimit", rlimit);
  if (us) q.set("us", us);
  q.set("sign", sign);
  return `${u.origin}${u.pathname}?${q}`;
}

/** GET from a chosen loopback source address (rlimit counts client IPs); the status. */
export function statusFrom(url: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { localAddress, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on("error", reject);
  });
}

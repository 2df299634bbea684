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

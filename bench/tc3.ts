// A tiny TC3-HMAC-SHA256 signer that writes the same request the official Node SDK writes
// (sign.js sign3, see shared/reference/vod-api-notes.md §1.2): JSON POST to "/", the signed
// host is the endpoint's hostname without the port, and the service label is the endpoint's
// first dot-separated label ("127" for 127.0.0.1:PORT).
import { createHash, createHmac } from "node:crypto";

export interface Tc3Request {
  /** e.g. "127.0.0.1:9080" (no scheme). */
  endpoint: string;
  secretId: string;
  secretKey: string;
  action: string;
  version?: string;
  region?: string;
  /** The request object; serialized once, and these exact bytes are what gets signed and sent. */
  params: Record<string, unknown>;
  /** Unix seconds; now by default. */
  timestamp?: number;
}

export interface SignedTc3 {
  headers: Record<string, string>;
  body: string;
}

const sha256hex = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const hmac = (key: string | Buffer, s: string) => createHmac("sha256", key).update(s, "utf8").digest();

export function signTc3(r: Tc3Request): SignedTc3 {
  const ts = r.timestamp ?? Math.floor(Date.now() / 1000);
  const date = new Date(ts * 1000).toISOString().slice(0, 10);
  const service = r.endpoint.split(".")[0]!;
  const hostname = new URL(`http://${r.endpoint}`).hostname;
  const contentType = "application/json";
  const body = JSON.stringify(r.params);

  const canonical = [
    "POST",
    "/",
    "",
    `content-type:${contentType}\nhost:${hostname}\n`,
    "content-type;host",
    sha256hex(body),
  ].join("\n");
  const scope = `${date}/${service}/tc3_request`;
  const toSign = `TC3-HMAC-SHA256\n${ts}\n${scope}\n${sha256hex(canonical)}`;
  const kSigning = hmac(hmac(hmac("TC3" + r.secretKey, date), service), "tc3_request");
  const signature = hmac(kSigning, toSign).toString("hex");

  return {
    body,
    headers: {
      "content-type": contentType,
      "x-tc-action": r.action,
      "x-tc-version": r.version ?? "2018-07-17",
      "x-tc-timestamp": String(ts),
      "x-tc-region": r.region ?? "ap-guangzhou",
      "x-tc-requestclient": "SDK_NODEJS_4.1.220",
      authorization: `TC3-HMAC-SHA256 Credential=${r.secretId}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`,
    },
  };
}

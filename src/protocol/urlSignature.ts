// Key hotlink protection (Tencent doc 266/14047): a playback URL carries
// ?t=<hex expiry>&exper=<preview s>&rlimit=<max IPs>&us=<nonce>&sign=<md5>, where
// sign = md5(KEY + Dir + t + exper + rlimit + us), Dir is the path up to and including its last
// "/", and absent parameters count as "". One signature therefore covers a whole directory,
// which is what lets an HLS playlist's segments share it. Nothing here knows about files.
import { createHash, timingSafeEqual } from "node:crypto";

export interface UrlSignature {
  t: string;
  exper: string;
  rlimit: string;
  us: string;
  sign: string;
}

/** Where the rest of a failed check would not help the client: all refusals are one 403. */
export type UrlSignatureVerdict =
  | { ok: true; sig: UrlSignature; expirySec: number; previewSec: number; maxIps: number }
  | { ok: false; why: string };

const MAX_RLIMIT = 9;

/** The directory a path's signature covers: up to and including the last "/". */
export function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/") + 1);
}

export function urlSign(key: string, dir: string, p: Omit<UrlSignature, "sign">): string {
  return createHash("md5")
    .update(key + dir + p.t + p.exper + p.rlimit + p.us)
    .digest("hex");
}

/** The query string of a signed URL for `path`, in the documented order. */
export function signedQuery(key: string, path: string, p: Omit<UrlSignature, "sign">): string {
  const q = new URLSearchParams({ t: p.t });
  if (p.exper) q.set("exper", p.exper);
  if (p.rlimit) q.set("rlimit", p.rlimit);
  if (p.us) q.set("us", p.us);
  q.set("sign", urlSign(key, dirOf(path), p));
  return q.toString();
}

/** Checks a request path (as received, still URL-encoded) and its query against the key. */
export function verifyUrlSignature(
  key: string,
  path: string,
  query: URLSearchParams,
  nowSec: number,
): UrlSignatureVerdict {
  const t = query.get("t") ?? "";
  const sign = query.get("sign") ?? "";
  if (!t || !sign) return { ok: false, why: "unsigned" };
  const exper = query.get("exper") ?? "";
  const rlimit = query.get("rlimit") ?? "";
  const us = query.get("us") ?? "";
  if (!/^[0-9a-f]{1,12}$/.test(t)) return { ok: false, why: "t is not lowercase hex" };
  if (exper && !/^\d{1,9}$/.test(exper)) return { ok: false, why: "exper is not a number" };
  if (rlimit && (!/^\d$/.test(rlimit) || Number(rlimit) < 1 || Number(rlimit) > MAX_RLIMIT)) {
    return { ok: false, why: "rlimit is not 1..9" };
  }
  if (us.length > 64) return { ok: false, why: "us is too long" };
  if (!/^[0-9a-f]{32}$/.test(sign)) return { ok: false, why: "sign is not an md5" };
  const expected = urlSign(key, dirOf(path), { t, exper, rlimit, us });
  if (!timingSafeEqual(Buffer.from(sign), Buffer.from(expected)))
    return { ok: false, why: "sign does not match" };
  const expirySec = parseInt(t, 16);
  if (expirySec < nowSec) return { ok: false, why: "expired" };
  return {
    ok: true,
    sig: { t, exper, rlimit, us, sign },
    expirySec,
    previewSec: exper ? Number(exper) : 0,
    maxIps: rlimit ? Number(rlimit) : 0,
  };
}

// Key hotlink protection on /files/ (Tencent doc 266/14047), for applications whose
// UrlSignatureAuthPolicy is Enabled: every GET/HEAD of one of their files must carry a valid
// t/exper/rlimit/us/sign (src/protocol/urlSignature.ts), else 403. What a valid one grants:
// - until t (hex Unix time);
// - rlimit: at most that many client IPs per signature (recorded in the store, so a restart or
//   another process does not let more in);
// - exper (preview seconds): HLS playlists are cut after that much media and end there;
//   segments are served; any other file is refused, since openvod cannot cut it on the fly;
// - HLS: a signed playlist is answered with every relative URI (segments, variant playlists,
//   keys, init sections) signed with the same t/exper/rlimit/us for its own directory, so a
//   player follows it without knowing the key.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { readFile, stat } from "node:fs/promises";
import type { Deps } from "../domain/deps.js";
import { SignatureUses } from "../domain/signatureUses.js";
import { policyChanges, urlSignaturePolicy, type UrlSignaturePolicy } from "../domain/domains.js";
import { signedQuery, verifyUrlSignature, type UrlSignature } from "../protocol/urlSignature.js";
import { keyOfUrl } from "./files.js";

const POLICY_CACHE_MS = 1000;
const MAX_PLAYLIST_BYTES = 8 * 1024 * 1024;
const PLAYLIST = /\.m3u8$/i;
/** Files that make up an HLS stream besides its playlists: served under a preview signature. */
const SEGMENT = /(\.(ts|m4s|aac|vtt|webvtt|key)|_init\.mp4)$/i;

/**
 * A playlist as a signed client gets it: relative URIs signed for their own directory with the
 * same parameters, and, for a preview, cut after `previewSec` seconds of segments.
 */
export function signPlaylist(
  text: string,
  playlistPath: string,
  key: string,
  sig: Omit<UrlSignature, "sign">,
  previewSec: number,
): string {
  const sign = (uri: string): string => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith("//")) return uri;
    const path = new URL(uri, `http://openvod${playlistPath}`).pathname;
    return `${uri}${uri.includes("?") ? "&" : "?"}${signedQuery(key, path, sig)}`;
  };
  const out: string[] = [];
  let seconds = 0;
  let cut = false;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith("#")) {
      if (cut) continue;
      const inf = /^#EXTINF:\s*([\d.]+)/.exec(line);
      if (inf && previewSec > 0 && seconds >= previewSec) {
        cut = true;
        continue;
      }
      if (inf) seconds += Number(inf[1]);
      if (line.startsWith("#EXT-X-ENDLIST")) continue;
      out.push(line.replace(/URI="([^"]*)"/g, (_m, u: string) => `URI="${sign(u)}"`));
    } else if (line.trim()) {
      if (!cut) out.push(sign(line.trim()));
    } else {
      out.push(line);
    }
  }
  const isMedia = /#EXTINF:/.test(text);
  const ended = /#EXT-X-ENDLIST/.test(text) || cut;
  while (out.length && out[out.length - 1] === "") out.pop();
  if (isMedia && ended) out.push("#EXT-X-ENDLIST");
  return out.join("\n") + "\n";
}

export function registerHotlink(app: FastifyInstance, deps: Deps): void {
  const policies = new Map<number, { p: UrlSignaturePolicy; at: number; version: number }>();
  const ips = new SignatureUses(deps.store, "url.rlimit");
  const policyOf = async (appId: number): Promise<UrlSignaturePolicy> => {
    const now = Date.now();
    const hit = policies.get(appId);
    const version = policyChanges();
    if (hit && now - hit.at < POLICY_CACHE_MS && hit.version === version) return hit.p;
    const p = await urlSignaturePolicy(deps, appId);
    if (policies.size > 10_000) policies.clear();
    policies.set(appId, { p, at: now, version });
    return p;
  };
  const forbid = (reply: FastifyReply) =>
    reply.code(403).header("cache-control", "no-store").type("text/plain").send("Forbidden\n");

  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.url.startsWith("/files/") || (req.method !== "GET" && req.method !== "HEAD")) return;
    const key = keyOfUrl(req.url);
    const appId = key ? Number(key.slice(0, key.indexOf("/"))) : NaN;
    if (!key || !Number.isSafeInteger(appId)) return;
    const policy = await policyOf(appId);
    if (policy.Status !== "Enabled") return;
    const q = req.url.indexOf("?");
    const path = q >= 0 ? req.url.slice(0, q) : req.url;
    const query = new URLSearchParams(q >= 0 ? req.url.slice(q + 1) : "");
    const nowSec = Math.floor(deps.now() / 1000);
    const v = verifyUrlSignature(policy.EncryptedKey, path, query, nowSec);
    if (!v.ok) return forbid(reply);
    if (v.maxIps && !(await ips.use(v.sig.sign, req.ip, v.maxIps, v.expirySec, deps.now())))
      return forbid(reply);
    if (!PLAYLIST.test(key)) {
      if (v.previewSec > 0 && !SEGMENT.test(key)) return forbid(reply);
      return; // served by the file routes as usual
    }
    let text: string;
    try {
      const file = await deps.blobs.localPath(key);
      if ((await stat(file)).size > MAX_PLAYLIST_BYTES) return forbid(reply);
      text = await readFile(file, "utf8");
    } catch {
      return; // not there: the file routes answer 404
    }
    const body = signPlaylist(text, path, policy.EncryptedKey, v.sig, v.previewSec);
    reply
      .code(200)
      .header("content-type", "application/vnd.apple.mpegurl")
      .header("cache-control", "no-store")
      .header("content-length", Buffer.byteLength(body));
    return req.method === "HEAD" ? reply.send() : reply.send(body);
  });
}

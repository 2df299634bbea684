// GET/HEAD /files/<key> when blobs live in S3-compatible storage (the local directory is served
// by @fastify/static, see server.ts). Two modes:
// - proxy (default): openvod streams the object, passing Range and conditional requests on to
//   the storage, so clients see what the local directory gives them: 200/206 with Content-Range,
//   416, 304, Content-Type by extension, 404 for missing keys.
// - presigned (OPENVOD_S3_PRESIGNED_URLS=true): openvod answers 302 to a presigned GET URL of
//   the object, which expires after OPENVOD_S3_PRESIGN_EXPIRES_SECONDS, and the client fetches
//   the bytes from the storage itself. The FileUrl stays an openvod URL and never expires; only
//   the redirect's target does. Playlists and manifests (.m3u8, .mpd) are still proxied: their
//   relative segment URLs must resolve against openvod's /files/, not against the signed URL.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { contentTypeOf } from "../blobs/mime.js";
import { ObjectError, type ObjectHead, type ReadOptions, type S3BlobStore } from "../blobs/s3.js";

export interface ObjectFilesOptions {
  presignedUrls: boolean;
  presignExpiresSeconds: number;
  log: Logger;
}

const PREFIX = "/files/";
/** Text files whose relative references must resolve against openvod, never redirected. */
const MANIFEST = /\.(m3u8|mpd)$/i;

/**
 * The blob key of a request path, or undefined when it is not one: every segment is decoded
 * once and must be a plain name (no empty, `.`/`..`, dot-file, slash, backslash or NUL).
 */
export function keyOfUrl(url: string): string | undefined {
  const q = url.indexOf("?");
  const path = q >= 0 ? url.slice(0, q) : url;
  if (!path.startsWith(PREFIX)) return undefined;
  const segments: string[] = [];
  for (const raw of path.slice(PREFIX.length).split("/")) {
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (!s || s.startsWith(".") || /[/\\\0]/.test(s)) return undefined;
    segments.push(s);
  }
  return segments.length ? segments.join("/") : undefined;
}

type RangeSpec = { start: number; end?: number } | { suffix: number };

/** One byte range from a Range header; undefined for none, several or an invalid one (→ 200). */
export function parseRange(header: string | undefined): RangeSpec | undefined {
  const m = header ? /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header) : null;
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") return { suffix: Number(m[2]) };
  const start = Number(m[1]);
  if (m[2] === "") return { start };
  const end = Number(m[2]);
  return end < start ? undefined : { start, end };
}

/** A range against a known size: absolute bounds, or "unsatisfiable". */
function resolveRange(spec: RangeSpec, size: number): { start: number; end: number } | "unsatisfiable" {
  if ("suffix" in spec) {
    if (spec.suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - spec.suffix), end: size - 1 };
  }
  if (spec.start >= size) return "unsatisfiable";
  return { start: spec.start, end: Math.min(spec.end ?? size - 1, size - 1) };
}

function httpDate(raw: string | string[] | undefined): Date | undefined {
  if (typeof raw !== "string") return undefined;
  const d = new Date(raw);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === "string" ? v : undefined;
}

function describe(reply: FastifyReply, key: string, h: ObjectHead): void {
  reply.header("accept-ranges", "bytes");
  reply.header("content-type", contentTypeOf(key) ?? h.contentType ?? "application/octet-stream");
  if (h.etag) reply.header("etag", h.etag);
  if (h.lastModified) reply.header("last-modified", h.lastModified.toUTCString());
  reply.header("cache-control", "public, max-age=0");
}

function unsatisfiable(reply: FastifyReply, size: number) {
  return reply.code(416).header("content-range", `bytes */${size}`).send();
}

export async function registerObjectFiles(
  app: FastifyInstance,
  blobs: S3BlobStore,
  o: ObjectFilesOptions,
): Promise<void> {
  const conditions = (req: FastifyRequest): ReadOptions => {
    const ifNoneMatch = header(req, "if-none-match");
    return {
      ifNoneMatch,
      // If-Modified-Since is ignored when If-None-Match is present (RFC 9110 13.1.3).
      ifModifiedSince: ifNoneMatch ? undefined : httpDate(req.headers["if-modified-since"]),
    };
  };

  const head = async (req: FastifyRequest, reply: FastifyReply, key: string) => {
    const h = await blobs.head(key, conditions(req));
    if (!h) return reply.callNotFound();
    describe(reply, key, h);
    const spec = parseRange(header(req, "range"));
    const range = spec && resolveRange(spec, h.size);
    if (range === "unsatisfiable") return unsatisfiable(reply, h.size);
    if (range) {
      reply.code(206).header("content-range", `bytes ${range.start}-${range.end}/${h.size}`);
      return reply.header("content-length", range.end - range.start + 1).send();
    }
    return reply.code(200).header("content-length", h.size).send();
  };

  const get = async (req: FastifyRequest, reply: FastifyReply, key: string) => {
    const spec = parseRange(header(req, "range"));
    let range: ReadOptions["range"];
    if (spec && "suffix" in spec) {
      // Suffix ranges are resolved here: not every S3-compatible server supports them.
      const h = await blobs.head(key);
      if (!h) return reply.callNotFound();
      const r = resolveRange(spec, h.size);
      if (r === "unsatisfiable") return unsatisfiable(reply, h.size);
      range = r;
    } else {
      range = spec;
    }
    const opts: ReadOptions = { ...conditions(req), range };
    const ifRange = range ? header(req, "if-range") : undefined;
    if (ifRange) {
      // If-Range: the range only if the object is still that version, else the whole object.
      if (/^(W\/)?"/.test(ifRange)) opts.ifMatch = ifRange;
      else opts.ifUnmodifiedSince = httpDate(ifRange);
    }
    let read;
    try {
      read = await blobs.openRead(key, opts);
    } catch (err) {
      if (!(err instanceof ObjectError)) throw err;
      if (err.status === 404) return reply.callNotFound();
      if (err.status === 304) return reply.code(304).send();
      if (err.status === 412 && ifRange) {
        read = await blobs.openRead(key, conditions(req)).catch((e2) => {
          if (e2 instanceof ObjectError && e2.status === 404) return undefined;
          throw e2;
        });
        if (!read) return reply.callNotFound();
      } else if (err.status === 416) {
        const h = await blobs.head(key);
        if (!h) return reply.callNotFound();
        return unsatisfiable(reply, h.size);
      } else {
        return reply.code(err.status).send();
      }
    }
    describe(reply, key, read);
    reply.header("content-length", read.length);
    if (read.range) {
      reply.code(206).header("content-range", `bytes ${read.range.start}-${read.range.end}/${read.size}`);
    } else {
      reply.code(200);
    }
    // Streamed, never buffered; fastify destroys the S3 stream if the client goes away.
    return reply.send(read.body);
  };

  const redirect = async (reply: FastifyReply, key: string) => {
    const h = await blobs.head(key);
    if (!h) return reply.callNotFound();
    const url = await blobs.presignedUrl(key, o.presignExpiresSeconds);
    // The target expires: clients and proxies must come back to openvod for a fresh one.
    return reply.code(302).header("location", url).header("cache-control", "no-store").send();
  };

  app.route({
    method: ["GET", "HEAD"],
    url: `${PREFIX}*`,
    handler: async (req, reply) => {
      const key = keyOfUrl(req.url);
      if (!key) return reply.callNotFound();
      try {
        if (o.presignedUrls && !MANIFEST.test(key)) return await redirect(reply, key);
        return req.method === "HEAD" ? await head(req, reply, key) : await get(req, reply, key);
      } catch (err) {
        if (err instanceof ObjectError) {
          if (err.status === 304) return reply.code(304).send();
          if (err.status === 404) return reply.callNotFound();
        }
        o.log.error({ err, key }, "reading from object storage failed");
        return reply.code(502).send();
      }
    },
  });
}

// openvod's COS-compatible object endpoint, on the API's port: what cos-nodejs-sdk-v5's
// putObject and sliceUploadFile (and so vod-node-sdk) send between ApplyUpload and CommitUpload.
// PutObject, InitiateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload,
// ListParts, ListMultipartUploads and HeadObject, on the two keys of an upload session only.
//
// How requests get here (cosRewriteUrl, run before routing):
// - the COS SDK's `Ip` option keeps the bucket host: `Host: <bucket>.cos.<region>.myqcloud.com`,
//   any path → /cos/<bucket>/<path>;
// - the `Domain` option "HOST:PORT/cos/{Bucket}" sends /cos/<bucket>/<key> as is;
// - the `Domain` option "HOST:PORT" drops the bucket: a request signed the COS way
//   (`Authorization: q-sign-algorithm=...`, never an API signature) → /cos/-/<path>, and the
//   bucket is the one of the credentials.
// Bodies are never buffered: this plugin has its own content-type handling that leaves the
// stream alone, and handlers stream it to a file (src/cos/receive.ts). Every reply carries
// x-cos-request-id, errors are COS XML with COS status codes.
import { randomBytes, createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import { once } from "node:events";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Deps } from "../domain/deps.js";
import { mkdirDurable, syncDir, syncFile } from "../blobs/durable.js";
import { bucketOf, sessionDir } from "../domain/uploads.js";
import type { MultipartRow, UploadObject, UploadSessionRow } from "../store/types.js";
import { CosError, cosErrors } from "./errors.js";
import { closeMd5Thread } from "./md5.js";
import { contentMd5, receiveBody, readSmallBody } from "./receive.js";
import { camSafeUrlEncode, cosSignature, parseCosAuthorization, signatureMatches } from "./signature.js";
import { errorXml, parseCompleteMultipart, xmlDocument, type XmlNode } from "./xml.js";

/** COS's limits: one PutObject or UploadPart, parts per upload, smallest part but the last. */
const MAX_SINGLE_BYTES = 5 * 1024 ** 3;
const MAX_PARTS = 10_000;
const MIN_PART_BYTES = 1024 * 1024;
const MAX_UPLOADS_PER_SESSION = 100;
const MAX_XML_BYTES = 2 * 1024 * 1024;
/** How far q-sign-time may start in the future (client clocks drift). */
const MAX_SKEW_SEC = 15 * 60;
/** An error reply leaves the rest of a body to be read and dropped up to this size; past it the connection is closed. */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;

const BUCKET_HOST = /^([a-z\d-]+-\d+)\.(?:cos\.)?[a-z\d-]+\.(?:myqcloud\.com|tencentcos\.cn)(?::\d+)?$/i;

/** Fastify's rewriteUrl: sends COS requests to /cos/<bucket>/... (see the header comment). */
export function cosRewriteUrl(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const host = req.headers.host;
  if (host) {
    const m = BUCKET_HOST.exec(host);
    if (m) return `/cos/${m[1]!.toLowerCase()}${url.startsWith("/") ? url : "/" + url}`;
  }
  if (url.startsWith("/cos/")) return url;
  const auth = req.headers.authorization;
  if (typeof auth === "string" && auth.startsWith("q-sign-algorithm=")) {
    return `/cos/-${url.startsWith("/") ? url : "/" + url}`;
  }
  return url;
}

interface Target {
  /** The bucket named by the request; "-" when the request names none. */
  bucket: string;
  /** The object key as the request names it, decoded, leading slashes dropped ("" for the bucket). */
  key: string;
  /** What the SDK signs as the path: "/" + the key as sent (decoded). */
  pathname: string;
  query: Map<string, string>;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw cosErrors.invalidURI("The request URI could not be decoded.");
  }
}

function parseTarget(url: string): Target {
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  const m = /^\/cos\/([^/]+)(?:\/(.*))?$/s.exec(path);
  if (!m) throw cosErrors.invalidURI();
  const keyPath = decode(m[2] ?? "");
  const key = keyPath.replace(/^\/+/, "");
  // Keys are names, not paths, but nothing that reads as a path climbing out of a directory is
  // accepted: no "." or ".." segment, no backslash, no control character.
  if (
    key.length > 850 ||
    /[\\\u0000-\u001f\u007f]/.test(key) ||
    key.split("/").some((seg) => seg === "." || seg === "..")
  ) {
    throw cosErrors.invalidURI(
      "The object key is not valid: no '.' or '..' segments, backslashes or control characters.",
    );
  }
  const query = new Map<string, string>();
  if (q >= 0) {
    for (const part of url.slice(q + 1).split("&")) {
      if (!part) continue;
      const eq = part.indexOf("=");
      query.set(decode(eq < 0 ? part : part.slice(0, eq)), eq < 0 ? "" : decode(part.slice(eq + 1)));
    }
  }
  return { bucket: decode(m[1]!), key, pathname: "/" + keyPath, query };
}

type Which = "media" | "cover";

interface Authorized {
  session: UploadSessionRow;
  /** The session object the key names; undefined for bucket-level requests. */
  which: Which | undefined;
}

/** A request header as the client sent it (req.raw.headers: fastify's view may carry an overlay, see below). */
function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.raw.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const ids = new WeakMap<FastifyRequest, string>();

function requestIdOf(req: FastifyRequest): string {
  let id = ids.get(req);
  if (!id) ids.set(req, (id = randomBytes(12).toString("base64url")));
  return id;
}

const httpDate = (ms: number) => new Date(ms).toUTCString();
const isoMs = (ms: number) => new Date(ms).toISOString();
const quoted = (etag: string) => `"${etag}"`;

export async function registerCos(app: FastifyInstance, deps: Deps): Promise<void> {
  const { store, config } = deps;
  const dirOf = (s: UploadSessionRow) => sessionDir(config.dataDir, s.id);
  const keyOf = (s: UploadSessionRow, which: Which) => (which === "media" ? s.mediaKey : s.coverKey);
  const owner = (s: UploadSessionRow) => ({
    ID: `qcs::cam::uin/${s.appId}:uin/${s.appId}`,
    DisplayName: String(s.appId),
  });

  async function authorize(req: FastifyRequest, t: Target): Promise<Authorized> {
    const auth = parseCosAuthorization(header(req, "authorization"));
    if (!auth) {
      throw cosErrors.accessDenied(
        "Requests need a COS signature (q-sign-algorithm=sha1) made with the temporary credentials of ApplyUpload.",
      );
    }
    const session = await store.getUploadSessionBySecretId(auth.accessKey);
    if (!session) throw cosErrors.invalidAccessKeyId();
    const token = header(req, "x-cos-security-token") ?? "";
    if (!signatureMatches(session.token, token)) {
      throw cosErrors.accessDenied("The x-cos-security-token does not belong to this SecretId.");
    }
    const now = deps.now();
    if (session.expireTime <= now) {
      throw cosErrors.accessDenied(
        `The temporary credentials expired at ${new Date(session.expireTime).toISOString()}.`,
      );
    }
    const nowSec = Math.floor(now / 1000);
    if (auth.end < nowSec) throw cosErrors.accessDenied("Request has expired"); // the SDKs' cue to correct their clock
    if (auth.start > nowSec + MAX_SKEW_SEC) throw cosErrors.requestTimeTooSkewed();
    const expected = cosSignature(session.secretKey, auth, {
      method: req.method,
      pathname: t.pathname,
      query: t.query,
      headers: req.raw.headers,
    });
    if (!signatureMatches(expected, auth.signature)) throw cosErrors.signatureDoesNotMatch();
    // Parameters that change what a request does must be signed.
    for (const k of t.query.keys()) {
      if (!auth.paramList.includes(camSafeUrlEncode(k).toLowerCase())) {
        throw cosErrors.accessDenied(`The query parameter ${k} is not signed.`);
      }
    }
    if (t.bucket !== "-" && t.bucket !== bucketOf(session.appId)) {
      throw cosErrors.accessDenied("These credentials are not valid for this bucket.");
    }
    if (session.status !== "OPEN") {
      throw cosErrors.accessDenied(
        "This upload was committed (or is being committed); ApplyUpload again for a new one.",
      );
    }
    let which: Which | undefined;
    if (t.key) {
      if (t.key === session.mediaKey) which = "media";
      else if (session.coverKey && t.key === session.coverKey) which = "cover";
      else
        throw cosErrors.accessDenied(
          "These credentials cover only the MediaStoragePath and CoverStoragePath of their upload.",
        );
    }
    return { session, which };
  }

  const newFileName = (prefix: string) => `${prefix}-${randomBytes(8).toString("hex")}`;

  /** Records a finished object on the session; the file is dropped when the session was committed meanwhile. */
  async function setObject(s: UploadSessionRow, which: Which, obj: UploadObject): Promise<void> {
    const r = await store.setUploadObject(s.id, which, obj);
    if (!r) {
      await rm(join(dirOf(s), obj.file), { force: true });
      throw cosErrors.accessDenied("This upload was committed meanwhile.");
    }
    if (r.replaced) await rm(join(dirOf(s), r.replaced.file), { force: true });
  }

  async function multipartOf(s: UploadSessionRow, which: Which, t: Target): Promise<MultipartRow> {
    const uploadId = t.query.get("uploadId") ?? "";
    const mp = uploadId ? await store.getMultipart(uploadId) : undefined;
    if (!mp || mp.sessionId !== s.id || mp.target !== which) throw cosErrors.noSuchUpload();
    return mp;
  }

  function intParam(t: Target, name: string, def: number, min: number, max: number): number {
    const raw = t.query.get(name);
    if (raw === undefined || raw === "") return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw cosErrors.invalidArgument(`${name} must be an integer from ${min} to ${max}.`);
    return n;
  }

  async function putObject(req: FastifyRequest, reply: FastifyReply, a: Authorized): Promise<void> {
    const { session: s, which } = a;
    if (header(req, "x-cos-copy-source"))
      throw cosErrors.notImplemented("PutObject - Copy is not supported.");
    await mkdirDurable(dirOf(s));
    const file = newFileName(which!);
    const got = await receiveBody(req.raw, join(dirOf(s), file), {
      maxBytes: Math.min(MAX_SINGLE_BYTES, config.uploadMaxBytes),
      what: "object",
    });
    const etag = got.md5.toString("hex");
    await setObject(s, which!, {
      file,
      size: got.size,
      etag,
      contentType: header(req, "content-type") || "application/octet-stream",
      lastModified: deps.now(),
    });
    reply.header("etag", quoted(etag)).code(200).send();
  }

  async function initiate(req: FastifyRequest, reply: FastifyReply, a: Authorized, t: Target): Promise<void> {
    const { session: s, which } = a;
    req.raw.resume();
    if ((await store.listMultiparts(s.id)).length >= MAX_UPLOADS_PER_SESSION) {
      throw cosErrors.invalidRequest(
        `At most ${MAX_UPLOADS_PER_SESSION} multipart uploads per upload session.`,
      );
    }
    const now = deps.now();
    const uploadId = `${Math.floor(now / 1000)}${randomBytes(20).toString("hex")}`;
    await store.insertMultipart({
      uploadId,
      sessionId: s.id,
      target: which!,
      contentType: header(req, "content-type") || "application/octet-stream",
      createTime: now,
    });
    sendXml(reply, 200, "InitiateMultipartUploadResult", {
      Bucket: bucketOf(s.appId),
      Key: t.key,
      UploadId: uploadId,
    });
  }

  async function uploadPart(
    req: FastifyRequest,
    reply: FastifyReply,
    a: Authorized,
    t: Target,
  ): Promise<void> {
    const { session: s, which } = a;
    const partNumber = intParam(t, "partNumber", 0, 1, MAX_PARTS);
    const mp = await multipartOf(s, which!, t);
    const others = (await store.listUploadParts(mp.uploadId))
      .filter((p) => p.partNumber !== partNumber)
      .reduce((sum, p) => sum + p.size, 0);
    const room = Math.min(MAX_SINGLE_BYTES, config.uploadMaxBytes - others);
    if (room <= 0) {
      throw cosErrors.entityTooLarge(
        `The parts uploaded already reach the ${config.uploadMaxBytes} bytes openvod accepts.`,
      );
    }
    await mkdirDurable(dirOf(s));
    const file = newFileName(`part-${partNumber}`);
    const got = await receiveBody(req.raw, join(dirOf(s), file), { maxBytes: room, what: "part" });
    const etag = got.md5.toString("hex");
    const r = await store.putUploadPart({
      uploadId: mp.uploadId,
      partNumber,
      file,
      size: got.size,
      etag,
      lastModified: deps.now(),
    });
    if (!r) {
      await rm(join(dirOf(s), file), { force: true });
      throw cosErrors.noSuchUpload();
    }
    if (r.replaced) await rm(join(dirOf(s), r.replaced.file), { force: true });
    reply.header("etag", quoted(etag)).code(200).send();
  }

  async function complete(req: FastifyRequest, reply: FastifyReply, a: Authorized, t: Target): Promise<void> {
    const { session: s, which } = a;
    const mp = await multipartOf(s, which!, t);
    const expected = contentMd5(header(req, "content-md5"));
    const body = await readSmallBody(req.raw, MAX_XML_BYTES);
    if (expected && !expected.equals(createHash("md5").update(body).digest())) {
      throw cosErrors.invalidDigest("The Content-MD5 you specified did not match what we received.");
    }
    const listed = parseCompleteMultipart(body.toString("utf8"));
    for (let i = 1; i < listed.length; i++) {
      if (listed[i]!.partNumber <= listed[i - 1]!.partNumber) throw cosErrors.invalidPartOrder();
    }
    const stored = new Map((await store.listUploadParts(mp.uploadId)).map((p) => [p.partNumber, p]));
    const parts = listed.map((l) => {
      const p = stored.get(l.partNumber);
      if (!p) throw cosErrors.invalidPart(`Part ${l.partNumber} was not uploaded.`);
      if (p.etag.toLowerCase() !== l.etag.toLowerCase()) {
        throw cosErrors.invalidPart(`Part ${l.partNumber} has ETag "${p.etag}", not "${l.etag}".`);
      }
      return p;
    });
    parts.slice(0, -1).forEach((p) => {
      if (p.size < MIN_PART_BYTES) {
        throw cosErrors.entityTooSmall(
          `Part ${p.partNumber} has ${p.size} bytes; every part but the last needs at least ${MIN_PART_BYTES}.`,
        );
      }
    });
    const total = parts.reduce((sum, p) => sum + p.size, 0);
    if (total > config.uploadMaxBytes) {
      throw cosErrors.entityTooLarge(
        `The object would have ${total} bytes; openvod accepts ${config.uploadMaxBytes}.`,
      );
    }

    // One file from the parts, streamed; the ETag is COS's: MD5 of the parts' MD5s, "-", count.
    const dir = dirOf(s);
    const file = newFileName(which!);
    const out = createWriteStream(join(dir, file), { flags: "wx", highWaterMark: 1024 * 1024 });
    try {
      for (const p of parts) {
        for await (const chunk of createReadStream(join(dir, p.file), { highWaterMark: 1024 * 1024 })) {
          if (!out.write(chunk)) await once(out, "drain");
        }
      }
      out.end();
      await once(out, "finish");
      // On disk before the 200, as a PutObject's body is (src/cos/receive.ts).
      await syncFile(join(dir, file));
      await syncDir(dir);
    } catch (err) {
      out.destroy();
      await rm(join(dir, file), { force: true });
      throw err;
    }
    const md5s = Buffer.concat(parts.map((p) => Buffer.from(p.etag, "hex")));
    const etag = `${createHash("md5").update(md5s).digest("hex")}-${parts.length}`;
    await setObject(s, which!, {
      file,
      size: total,
      etag,
      contentType: mp.contentType,
      lastModified: deps.now(),
    });
    const leftover = (await store.deleteMultipart(mp.uploadId)) ?? [];
    await Promise.all(leftover.map((p) => rm(join(dir, p.file), { force: true })));
    sendXml(reply, 200, "CompleteMultipartUploadResult", {
      Location: `${bucketOf(s.appId)}.cos.${String(s.params.StorageRegion)}.myqcloud.com/${t.key}`,
      Bucket: bucketOf(s.appId),
      Key: t.key,
      ETag: quoted(etag),
    });
  }

  async function abort(reply: FastifyReply, a: Authorized, t: Target): Promise<void> {
    const mp = await multipartOf(a.session, a.which!, t);
    const parts = await store.deleteMultipart(mp.uploadId);
    if (!parts) throw cosErrors.noSuchUpload();
    await Promise.all(parts.map((p) => rm(join(dirOf(a.session), p.file), { force: true })));
    reply.code(204).send();
  }

  async function listParts(reply: FastifyReply, a: Authorized, t: Target): Promise<void> {
    const mp = await multipartOf(a.session, a.which!, t);
    const max = intParam(t, "max-parts", 1000, 1, 1000);
    const marker = intParam(t, "part-number-marker", 0, 0, MAX_PARTS);
    const all = (await store.listUploadParts(mp.uploadId)).filter((p) => p.partNumber > marker);
    const page = all.slice(0, max);
    const truncated = all.length > max;
    sendXml(reply, 200, "ListPartsResult", {
      Bucket: bucketOf(a.session.appId),
      "Encoding-Type": t.query.get("encoding-type"),
      Key: t.key,
      UploadId: mp.uploadId,
      Initiator: owner(a.session),
      Owner: owner(a.session),
      PartNumberMarker: marker,
      Part: page.map((p) => ({
        PartNumber: p.partNumber,
        LastModified: isoMs(p.lastModified),
        ETag: quoted(p.etag),
        Size: p.size,
      })),
      NextPartNumberMarker: truncated ? page[page.length - 1]!.partNumber : "",
      StorageClass: "STANDARD",
      MaxParts: max,
      IsTruncated: truncated,
    });
  }

  async function listUploads(reply: FastifyReply, a: Authorized, t: Target): Promise<void> {
    const s = a.session;
    const prefix = t.query.get("prefix") ?? "";
    const max = intParam(t, "max-uploads", 1000, 1, 1000);
    const keyMarker = t.query.get("key-marker") ?? "";
    const idMarker = t.query.get("upload-id-marker") ?? "";
    const all = (await store.listMultiparts(s.id))
      .map((mp) => ({ mp, key: keyOf(s, mp.target) }))
      .filter(({ key }) => key.startsWith(prefix.replace(/^\/+/, "")))
      .filter(
        ({ key, mp }) =>
          !keyMarker || key > keyMarker || (key === keyMarker && idMarker !== "" && mp.uploadId > idMarker),
      )
      .sort((x, y) => (x.key === y.key ? (x.mp.uploadId < y.mp.uploadId ? -1 : 1) : x.key < y.key ? -1 : 1));
    const page = all.slice(0, max);
    const truncated = all.length > max;
    const last = page[page.length - 1];
    sendXml(reply, 200, "ListMultipartUploadsResult", {
      Bucket: bucketOf(s.appId),
      "Encoding-Type": t.query.get("encoding-type"),
      KeyMarker: keyMarker,
      UploadIdMarker: idMarker,
      NextKeyMarker: truncated ? last!.key : "",
      NextUploadIdMarker: truncated ? last!.mp.uploadId : "",
      MaxUploads: max,
      IsTruncated: truncated,
      Prefix: prefix,
      Upload: page.map(({ mp, key }) => ({
        Key: key,
        UploadId: mp.uploadId,
        StorageClass: "STANDARD",
        Initiator: owner(s),
        Owner: owner(s),
        Initiated: isoMs(mp.createTime),
      })),
    });
  }

  function head(reply: FastifyReply, a: Authorized): void {
    const obj = a.session[a.which!];
    if (!obj) throw cosErrors.noSuchKey();
    // Exact headers (Content-Length of the object, no body), so the reply is written by hand.
    reply.hijack();
    reply.raw.writeHead(200, {
      "x-cos-request-id": reply.getHeader("x-cos-request-id") as string,
      "content-length": obj.size,
      "content-type": obj.contentType,
      etag: quoted(obj.etag),
      "last-modified": httpDate(obj.lastModified),
      "x-cos-storage-class": "STANDARD",
      "access-control-allow-origin": "*",
      "access-control-expose-headers": "ETag, x-cos-request-id",
    });
    reply.raw.end();
  }

  function sendXml(reply: FastifyReply, status: number, root: string, body: XmlNode): void {
    reply.code(status).type("application/xml").send(xmlDocument(root, body));
  }

  async function handle(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (req.method === "OPTIONS") {
      // CORS preflight (browser uploaders): allowed for any origin; the signature is the guard.
      reply
        .header("access-control-allow-methods", "GET, HEAD, PUT, POST, DELETE")
        .header("access-control-allow-headers", header(req, "access-control-request-headers") ?? "*")
        .header("access-control-max-age", "86400")
        .code(200)
        .send();
      return;
    }
    const t = parseTarget(req.url);
    const a = await authorize(req, t);
    const q = t.query;
    if (!a.which) {
      if (req.method === "GET" && q.has("uploads")) return listUploads(reply, a, t);
      throw cosErrors.notImplemented(
        `${req.method} on the bucket is not supported by openvod's COS endpoint.`,
      );
    }
    switch (req.method) {
      case "PUT":
        if (q.has("partNumber") || q.has("uploadId")) return uploadPart(req, reply, a, t);
        return putObject(req, reply, a);
      case "POST":
        if (q.has("uploads")) return initiate(req, reply, a, t);
        if (q.has("uploadId")) return complete(req, reply, a, t);
        break;
      case "GET":
        if (q.has("uploadId")) return listParts(reply, a, t);
        break;
      case "HEAD":
        return head(reply, a);
      case "DELETE":
        if (q.has("uploadId")) return abort(reply, a, t);
        break;
    }
    throw cosErrors.notImplemented(`This ${req.method} request is not supported by openvod's COS endpoint.`);
  }

  await app.register(async (cos) => {
    // The stream is the handler's: no parser reads it, whatever the Content-Type. That header
    // stays as received in req.raw.headers, where the signature check (cos-nodejs-sdk-v5 3.x signs
    // it) and the object's metadata read it. Fastify answers 415 to a Content-Type that is no
    // media type before any parser runs, and both SDK majors send an empty one on
    // InitiateMultipartUpload: fastify's own view gets a neutral type through the documented
    // additive `request.headers` setter, which leaves req.raw.headers alone.
    cos.removeAllContentTypeParsers();
    cos.addContentTypeParser("*", (_req, _payload, done) => done(null));
    cos.addHook("onRequest", async (req, reply) => {
      if (req.raw.headers["content-type"] !== undefined) {
        req.headers = { "content-type": "application/octet-stream" };
      }
      reply
        .header("x-cos-request-id", requestIdOf(req))
        .header("access-control-allow-origin", "*")
        .header("access-control-expose-headers", "ETag, x-cos-request-id");
    });
    cos.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      const e =
        err instanceof CosError
          ? err
          : err.statusCode && err.statusCode < 500
            ? cosErrors.invalidRequest(err.message)
            : cosErrors.internalError();
      if (e.status >= 500) deps.log.error({ err, url: req.url }, "COS request failed");
      // An unread body is dropped after the reply; a large one is not worth reading: close instead.
      const declared = Number(req.headers["content-length"] ?? 0);
      if (!req.raw.complete && (!req.headers["content-length"] || declared > DRAIN_MAX_BYTES)) {
        reply.header("connection", "close");
      }
      let resource = "/";
      try {
        resource = parseTarget(req.url).pathname;
      } catch {
        /* the error is about the URL itself */
      }
      reply
        .header("x-cos-request-id", requestIdOf(req))
        .code(e.status)
        .type("application/xml")
        .send(errorXml(e, requestIdOf(req), resource));
    });
    cos.addHook("onClose", async () => closeMd5Thread());
    for (const url of ["/cos/:bucket", "/cos/:bucket/*"]) {
      cos.route({
        method: ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"],
        url,
        exposeHeadRoute: false,
        handler: handle,
      });
    }
  });
}

// The HTTP front: the API on POST/GET /, files on GET/HEAD /files/*, and /healthz. Fastify
// owns the HTTP details; every body is read raw (the signature covers its exact bytes).
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyInstance } from "fastify";
import type { Deps } from "../domain/deps.js";
import { errorBody } from "../protocol/envelope.js";
import { errors } from "../protocol/errors.js";
import { LocalBlobStore } from "../blobs/local.js";
import { S3BlobStore } from "../blobs/s3.js";
import { registerObjectFiles } from "./files.js";
import { createApi } from "./api.js";
import { cosRewriteUrl, registerCos } from "../cos/routes.js";
import { randomUUID } from "node:crypto";

export async function buildServer(deps: Deps): Promise<FastifyInstance> {
  const app = Fastify({
    // No per-request child loggers: openvod logs what matters itself (deps.log), and a logger
    // per request costs more than the rest of a cached DescribeTaskDetail.
    logger: false,
    bodyLimit: deps.config.maxBodyBytes,
    return503OnClosing: false,
    // COS requests (the upload flow) are routed to /cos/<bucket>/... before anything else.
    rewriteUrl: cosRewriteUrl,
  });
  const handle = createApi(deps);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  // Anything that goes wrong before the API answers (body too large, broken stream) still
  // reaches the SDK as a Tencent error it can read, never as a bare 4xx/5xx.
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    const requestId = randomUUID();
    if (req.url.startsWith("/files/")) {
      reply.code(err.statusCode && err.statusCode < 500 ? err.statusCode : 500).send();
      return;
    }
    const e =
      err.code === "FST_ERR_CTP_BODY_TOO_LARGE"
        ? errors.requestSizeLimitExceeded(`The request body exceeds ${deps.config.maxBodyBytes} bytes.`)
        : err.statusCode && err.statusCode < 500
          ? errors.invalidRequest(err.message)
          : errors.internalError();
    if (!err.statusCode || err.statusCode >= 500) deps.log.error({ err }, "request failed");
    reply.code(200).type("application/json").send(errorBody(e, requestId));
  });

  const api = async (req: {
    method: string;
    headers: Record<string, string | string[] | undefined>;
    url: string;
    body: unknown;
  }) => {
    const q = req.url.indexOf("?");
    const answer = await handle({
      method: req.method,
      headers: req.headers,
      rawQuery: q >= 0 ? req.url.slice(q + 1) : "",
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    });
    if (answer.code && deps.log.isLevelEnabled("debug")) {
      deps.log.debug({ requestId: answer.requestId, code: answer.code }, "api error");
    }
    return answer.body;
  };
  app.route({
    method: ["GET", "POST"],
    url: "/",
    handler: async (req, reply) => {
      const body = await api(req);
      // Written straight to the socket in one piece: the answer is a finished JSON string, and
      // fastify's generic send path costs more than the rest of a cached DescribeTaskDetail.
      reply.hijack();
      reply.raw.writeHead(200, {
        "content-type": "application/json; charset=utf-8",
        "content-length": Buffer.byteLength(body),
      });
      reply.raw.end(body);
    },
  });

  // Other methods on the API path (PUT, DELETE, OPTIONS, PROPFIND...) match no route; they still
  // get a Tencent error over HTTP 200 rather than Fastify's bare 404. Other paths stay 404.
  app.setNotFoundHandler((req, reply) => {
    const q = req.url.indexOf("?");
    if ((q >= 0 ? req.url.slice(0, q) : req.url) !== "/") {
      reply
        .code(404)
        .type("application/json")
        .send({ message: `Route ${req.method}:${req.url} not found`, error: "Not Found", statusCode: 404 });
      return;
    }
    const e = errors.unsupportedProtocol(`HTTP method ${req.method} is not supported; use GET or POST.`);
    reply.code(200).type("application/json").send(errorBody(e, randomUUID()));
  });

  app.get("/healthz", async () => ({ status: "ok" }));

  // The COS-compatible object endpoint of ApplyUpload/CommitUpload: its own body handling.
  await registerCos(app, deps);

  // Files: streamed from (or redirected to) object storage, or served from the local directory.
  if (deps.blobs instanceof S3BlobStore) {
    await registerObjectFiles(app, deps.blobs, {
      presignedUrls: deps.config.s3?.presignedUrls ?? false,
      presignExpiresSeconds: deps.config.s3?.presignExpiresSeconds ?? 3600,
      log: deps.log,
    });
  } else {
    await app.register(fastifyStatic, {
      root: LocalBlobStore.filesDir(deps.config.dataDir),
      prefix: "/files/",
      decorateReply: false,
      dotfiles: "deny",
      index: false,
      list: false,
      cacheControl: true,
      maxAge: 0,
    });
  }
  return app;
}

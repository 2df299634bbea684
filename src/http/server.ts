// The HTTP front: the API on POST/GET /, files on GET/HEAD /files/*, and /healthz. Fastify
// owns the HTTP details; every body is read raw (the signature covers its exact bytes).
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Deps } from "../domain/deps.js";
import { errorBody } from "../protocol/envelope.js";
import { errors } from "../protocol/errors.js";
import { LocalBlobStore } from "../blobs/local.js";
import { S3BlobStore } from "../blobs/s3.js";
import { registerObjectFiles } from "./files.js";
import { createApi } from "./api.js";
import { cosRewriteUrl, registerCos } from "../cos/routes.js";
import { registerUgc } from "./ugc.js";
import { registerHotlink } from "./hotlink.js";
import { registerConsole } from "./console.js";
import { serveApiDirectly, writeApiAnswer } from "./directApi.js";
import { randomUUID } from "node:crypto";
import { maxHeaderSize } from "node:http";
import type { Duplex } from "node:stream";

export async function buildServer(deps: Deps): Promise<FastifyInstance> {
  const app = Fastify({
    // No per-request child loggers: openvod logs what matters itself (deps.log), and a logger
    // per request costs more than the rest of a cached DescribeTaskDetail.
    logger: false,
    bodyLimit: deps.config.maxBodyBytes,
    return503OnClosing: false,
    // COS requests (the upload flow) are routed to /cos/<bucket>/... before anything else.
    rewriteUrl: cosRewriteUrl,
    clientErrorHandler: answerClientError,
    // A URL the router cannot decode (e.g. "/%zz") is answered like one that matches no route.
    frameworkErrors: (err, req, reply) =>
      outsideApi(req, reply, { error: "Bad Request", code: err.code, message: err.message, statusCode: 400 }),
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
      writeApiAnswer(reply.raw, body);
    },
  });
  // On the real server, API requests skip fastify altogether (the route above still answers
  // inject() and whatever the direct path leaves to fastify).
  serveApiDirectly(app.server, {
    api,
    bodyLimit: deps.config.maxBodyBytes,
    isApiRequest: (req) => cosRewriteUrl(req) === req.url,
  });

  app.setNotFoundHandler((req, reply) =>
    outsideApi(req, reply, {
      message: `Route ${req.method}:${req.url} not found`,
      error: "Not Found",
      statusCode: 404,
    }),
  );

  app.get("/healthz", async () => ({ status: "ok" }));

  // The COS-compatible object endpoint of ApplyUpload/CommitUpload: its own body handling.
  await registerCos(app, deps);
  // The web and mobile upload SDKs' endpoint (client upload signatures).
  await registerUgc(app, deps);

  // The web console (static files; it signs its API calls in the browser).
  registerConsole(app, deps);

  // Key hotlink protection of the applications that switched it on, before any file is served.
  registerHotlink(app, deps);

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

/**
 * What matches no route gets a Tencent error over HTTP 200, as the SDK can read it: other methods
 * on / (PUT, DELETE, OPTIONS, PROPFIND...) and any other path. Under /files and /cos (plain HTTP
 * statuses and COS XML are theirs) fastify's own answer stays.
 */
function outsideApi(
  req: FastifyRequest,
  reply: FastifyReply,
  plain: { error: string; message: string; statusCode: number; code?: string },
): void {
  const q = req.url.indexOf("?");
  const path = q >= 0 ? req.url.slice(0, q) : req.url;
  if (/^\/(?:files|cos)(?:\/|$)/.test(path)) {
    reply.code(plain.statusCode).type("application/json").send(plain);
    return;
  }
  const shown = path.length > 200 ? path.slice(0, 200) + "..." : path;
  const e = errors.unsupportedProtocol(
    path === "/"
      ? `HTTP method ${req.method} is not supported; use GET or POST.`
      : `The API is served at /, not ${shown}; check the endpoint setting.`,
  );
  reply.code(200).type("application/json").send(errorBody(e, randomUUID()));
}

/** How long a refused connection may go on sending before it is closed. */
const CLIENT_ERROR_GRACE_MS = 5000;

/**
 * Requests Node's parser refuses before fastify sees them. Headers over the limit get the API's
 * envelope (the path is not known yet, and the API is what SDKs talk to); the rest get Node's
 * and fastify's plain 400, timeouts 408.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  let head: string;
  let body: string;
  if (err.code === "HPE_HEADER_OVERFLOW") {
    const e = errors.requestSizeLimitExceeded(`The request headers exceed ${maxHeaderSize} bytes.`);
    head = "200 OK\r\nContent-Type: application/json; charset=utf-8";
    body = errorBody(e, randomUUID());
  } else if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    head = "408 Request Timeout";
    body = "";
  } else {
    head = "400 Bad Request";
    body = "";
  }
  // Flushed and closed with end(), the rest of the request read and dropped meanwhile: closing a
  // socket with unread data resets it, and a client still sending its headers would see the
  // reset instead of the answer. A client that never stops sending is cut off after a while.
  if (!socket.writable) {
    socket.destroy(err);
    return;
  }
  socket.resume();
  socket.end(
    `HTTP/1.1 ${head}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), CLIENT_ERROR_GRACE_MS).unref();
}

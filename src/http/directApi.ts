// The API answered straight from node:http, beside fastify. A signed API request is a small
// body POSTed (or a query GET) to "/", and fastify's generic path (routing, hooks, reply and
// request objects, the content-type parser) cost more per request than verifying its signature
// and answering a cached DescribeTaskDetail. Requests that take this path are the ones fastify
// would route to the same handler with the same raw body; everything else (other paths and
// methods, COS requests, chunked or oversized bodies, content types fastify would refuse, and
// inject() in tests) still goes through fastify, so every answer is the same either way.
import type { IncomingMessage, Server, ServerResponse } from "node:http";

/** Turns the raw request into the finished JSON answer (the same function fastify's route calls). */
export type ApiFunction = (req: {
  method: string;
  headers: IncomingMessage["headers"];
  url: string;
  body: Buffer | undefined;
}) => Promise<string>;

// A media type fastify parses as valid (token "/" token, token=token parameters): anything more
// unusual goes through fastify, which may answer it with its own error.
const SIMPLE_CONTENT_TYPE = /^[\w.+-]+\/[\w.+-]+(?:\s*;\s*[\w-]+=[\w.-]+)*$/;
const DIGITS = /^\d{1,15}$/;
const EMPTY = Buffer.alloc(0);

export function writeApiAnswer(res: ServerResponse, body: string): void {
  res.writeHead(200, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Puts a direct handler for API requests in front of fastify's on `server`. `isApiRequest` is
 * asked first (e.g. whether the request is COS's, by its host or authorization) so the routing
 * fastify does before its own handler stays the one that decides.
 */
export function serveApiDirectly(
  server: Server,
  o: { api: ApiFunction; bodyLimit: number; isApiRequest: (req: IncomingMessage) => boolean },
): void {
  const others = server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (others.length !== 1) throw new Error(`expected fastify's one request listener, found ${others.length}`);
  const fastify = others[0]!;
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (!direct(req, res, o)) fastify.call(server, req, res);
  });
}

function direct(
  req: IncomingMessage,
  res: ServerResponse,
  o: { api: ApiFunction; bodyLimit: number; isApiRequest: (req: IncomingMessage) => boolean },
): boolean {
  const method = req.method;
  if (method !== "POST" && method !== "GET") return false;
  const url = req.url ?? "";
  if (url !== "/" && !url.startsWith("/?")) return false;
  const h = req.headers;
  if (h["transfer-encoding"] !== undefined) return false;
  const cl = h["content-length"];
  if (cl !== undefined && !DIGITS.test(cl)) return false;
  const length = cl === undefined ? 0 : Number(cl);
  // fastify reads no body for GET; one that comes with a body is left to it.
  if (method === "GET" && length > 0) return false;
  if (length > o.bodyLimit) return false;
  const ct = h["content-type"];
  if (ct !== undefined && !SIMPLE_CONTENT_TYPE.test(ct)) return false;
  if (!o.isApiRequest(req)) return false;

  const answer = (body: Buffer) =>
    o.api({ method, headers: h, url, body }).then(
      (text) => writeApiAnswer(res, text),
      () => res.destroy(),
    );
  if (length === 0) {
    // Drained (a GET or an empty POST has nothing to read, but 'end' must still come).
    req.resume();
    void answer(EMPTY);
    return true;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  req.on("data", (chunk: Buffer) => {
    received += chunk.length;
    chunks.push(chunk);
  });
  req.once("end", () => {
    // The HTTP parser frames the body by its Content-Length; a short one ends with 'aborted'.
    if (received !== length) return void res.destroy();
    void answer(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
  });
  req.once("error", () => res.destroy());
  return true;
}

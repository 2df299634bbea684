// The one outbound HTTP client: every request openvod makes to a URL it was given (PullUpload's
// MediaUrl and CoverUrl, PUSH callbacks to a NotificationUrl) goes through request() here.
// Built on node:http (and node:tls for https) with no connection pool: each exchange has a
// socket of its own, so no socket outlives its request, and a misbehaving remote (closing
// early, resetting, stalling, sending too much) ends as an OutboundError in plain words, never
// as an exception that takes the process down.
//
// Limits: a connect timeout, a headers timeout, a body idle timeout, an overall deadline (an
// AbortSignal), a byte limit for bodies, and redirects followed by hand, every hop re-checked.
//
// The private-address guard (unless allowPrivate): a URL whose host is a literal non-public
// address is refused before connecting; a hostname is resolved through a lookup hook that
// refuses it when any of its addresses is non-public (so DNS rebinding cannot slip past); and
// the address the socket actually connected to is checked again before anything is sent.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import {
  request as httpRequest,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from "node:http";
import { connect as netConnect, isIP, type Socket } from "node:net";
import { Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { connect as tlsConnect } from "node:tls";
import ipaddr from "ipaddr.js";

export class OutboundError extends Error {
  constructor(
    message: string,
    /** True when the fault is the request's (bad URL, refused address), not the remote's. */
    readonly badRequest = false,
  ) {
    super(message);
    this.name = "OutboundError";
  }
}

const GUARD_HINT = "private addresses are refused unless OPENVOD_ALLOW_PRIVATE_URLS is true";

/**
 * True for a globally routable unicast address. Refused: everything ipaddr.js does not call
 * "unicast" (private, loopback, link-local, CGNAT, unspecified, multicast, broadcast, reserved,
 * documentation, benchmarking, Teredo, ...). IPv6 forms that carry an IPv4 address inside
 * (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4
 * 2002:aabb:ccdd::) are judged by the IPv4 address they carry. Anything that is not a plain
 * address (a zone index, a hostname, a non-canonical IPv4 spelling) is refused.
 */
export function isPublicAddress(address: string): boolean {
  if (!isIP(address) || address.includes("%")) return false;
  const ip = ipaddr.parse(address);
  if (ip.kind() === "ipv4") return ip.range() === "unicast";
  const v6 = ip as ipaddr.IPv6;
  const range = v6.range();
  if (range === "unspecified" || range === "loopback") return false;
  const embedded = embeddedIPv4(v6);
  if (embedded) return embedded.range() === "unicast";
  return range === "unicast";
}

/** The IPv4 address an IPv4-mapped, IPv4-compatible, NAT64 (/96) or 6to4 address carries. */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = ip.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  const zeroUpTo = (n: number) => p.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(5) && p[5] === 0xffff) return v4(p[6]!, p[7]!); // ::ffff:a.b.c.d
  if (zeroUpTo(6)) return v4(p[6]!, p[7]!); // ::a.b.c.d (deprecated IPv4-compatible)
  if (p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0)) return v4(p[6]!, p[7]!);
  if (p[0] === 0x2002) return v4(p[1]!, p[2]!); // 6to4: 2002:AABB:CCDD::/48
  return undefined;
}

/** What kind of address it is, for messages ("loopback", "private", "linkLocal", ...). */
function rangeOf(address: string): string {
  try {
    return ipaddr.parse(address.replace(/%.*$/, "")).range();
  } catch {
    return "not an address";
  }
}

/** Parses a URL that may be fetched: http(s) only, no credentials. */
export function checkUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OutboundError(`Invalid URL: ${raw.slice(0, 200)}`, true);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new OutboundError(`Only http and https URLs are accepted, not ${url.protocol}`, true);
  }
  if (url.username || url.password) throw new OutboundError("URLs with credentials are not accepted", true);
  return url;
}

/** The URL's host without IPv6 brackets. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "");
}

/** Refuses a URL whose host is a literal non-public address (the WHATWG parser has already
 *  turned 0x7f000001, 2130706433 and the like into dotted form). */
export function checkLiteralHost(url: URL): void {
  const host = bareHost(url);
  if (isIP(host) && !isPublicAddress(host)) {
    throw new OutboundError(`${url.host} is a private address (${rangeOf(host)}); ${GUARD_HINT}`, true);
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

class PrivateAddressError extends OutboundError {
  constructor(message: string) {
    super(message, true);
  }
}

/** A dns.lookup that refuses a hostname when any of its addresses is not public. */
function guardedLookup(hostname: string, options: { all?: boolean }, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => !isPublicAddress(a.address));
    if (bad) {
      return callback(
        new PrivateAddressError(
          `${hostname} resolves to a private address (${bad.address}, ${rangeOf(bad.address)}); ${GUARD_HINT}`,
        ),
        [],
      );
    }
    if (list.length === 0)
      return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), []);
    if (options.all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Let requests reach private, loopback and link-local addresses (OPENVOD_ALLOW_PRIVATE_URLS). */
  allowPrivate: boolean;
  /** The overall deadline and cancellation: aborting it ends the request and its body. */
  signal?: AbortSignal;
  connectTimeoutMs?: number;
  /** From connected to the response's headers. */
  headersTimeoutMs?: number;
  /** The longest silence while a body is read. */
  bodyIdleTimeoutMs?: number;
  /** Redirects followed (GET only); 0 hands a 3xx back as it is. */
  maxRedirects?: number;
}

const DEFAULTS = {
  connectTimeoutMs: 15_000,
  headersTimeoutMs: 30_000,
  bodyIdleTimeoutMs: 60_000,
};

/** The shared state of one exchange: the first error seen on its socket, for messages. */
interface Exchange {
  url: URL;
  req: ClientRequest;
  /** The TCP socket while it is ours (until handed to http), to be destroyed on failure. */
  socket?: Socket;
  socketError?: NodeJS.ErrnoException;
}

export class OutboundResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The Content-Length, when the answer declares one. */
  readonly length: number | undefined;
  private consumed = false;

  constructor(
    /** The URL of the hop that answered (after redirects). */
    readonly url: URL,
    private readonly res: IncomingMessage,
    private readonly ex: Exchange,
    private readonly o: RequestOptions,
  ) {
    this.status = res.statusCode ?? 0;
    this.headers = res.headers;
    const n = Number(res.headers["content-length"]);
    this.length =
      res.headers["content-length"] !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
    // Errors before (or without) a reader must not go unhandled.
    res.on("error", () => {});
  }

  /**
   * Streams the body into `sink`. Resolves with the byte count once the whole body (as long as
   * the declared Content-Length) has been written; rejects with an OutboundError when the body
   * is cut short, reset, goes silent too long, passes `maxBytes` or the signal fires.
   */
  async pipeTo(
    sink: Writable,
    opts: { maxBytes?: number; onProgress?: (received: number, total: number | undefined) => void } = {},
  ): Promise<number> {
    this.consumed = true;
    const { url } = this;
    const total = this.length;
    const idleMs = this.o.bodyIdleTimeoutMs ?? DEFAULTS.bodyIdleTimeoutMs;
    let received = 0;
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () =>
          this.res.destroy(
            new OutboundError(
              `${what(this.o, url)} timed out: nothing received for ${Math.round(idleMs / 1000)} s`,
            ),
          ),
        idleMs,
      );
    };
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        if (opts.maxBytes !== undefined && received > opts.maxBytes)
          return cb(new OutboundError(`The file is over the limit of ${opts.maxBytes} bytes`));
        arm();
        try {
          opts.onProgress?.(received, total);
        } catch {
          // A progress callback never breaks a download.
        }
        cb(null, chunk);
      },
    });
    arm();
    try {
      await pipeline(this.res, meter, sink, ...(this.o.signal ? [{ signal: this.o.signal }] : []));
    } catch (err) {
      throw this.describeBodyError(err, received, total);
    } finally {
      clearTimeout(idle);
      this.close();
    }
    if (total !== undefined && received !== total) {
      throw new OutboundError(`The connection closed after ${received} of ${total} bytes`);
    }
    return received;
  }

  /** Reads and drops up to `limit` bytes of the body (a callback's answer), then hangs up. */
  async drain(limit = 64 * 1024): Promise<void> {
    if (this.consumed) return;
    this.consumed = true;
    const idleMs = this.o.bodyIdleTimeoutMs ?? DEFAULTS.bodyIdleTimeoutMs;
    await new Promise<void>((resolve) => {
      let seen = 0;
      const done = () => {
        clearTimeout(timer);
        this.o.signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, idleMs);
      this.o.signal?.addEventListener("abort", done);
      this.res.on("data", (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > limit) done();
      });
      this.res.on("end", done);
      this.res.on("close", done);
      this.res.on("error", done);
    });
    this.close();
  }

  /** Hangs up without reading the body (no connection is reused, so nothing is lost). */
  close(): void {
    this.consumed = true;
    if (!this.res.destroyed) this.res.destroy();
    if (!this.ex.req.destroyed) this.ex.req.destroy();
  }

  private describeBodyError(err: unknown, received: number, total: number | undefined): Error {
    if (err instanceof OutboundError) return err;
    const aborted = abortReason(this.o, this.url);
    if (aborted) return aborted;
    const of = total !== undefined ? `${received} of ${total}` : `${received}`;
    const sock = this.ex.socketError;
    if (sock) return describe(sock, this.o, this.url, `after ${of} bytes`);
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ECONNRESET" || e.code === "ERR_STREAM_PREMATURE_CLOSE" || e.message === "aborted") {
      return new OutboundError(`The connection closed after ${of} bytes`);
    }
    return describe(e, this.o, this.url, `after ${of} bytes`);
  }
}

/** How messages name the request: "Fetching https://host" for a GET, "Calling ..." otherwise. */
function what(o: RequestOptions, url: URL): string {
  return `${(o.method ?? "GET") === "GET" ? "Fetching" : "Calling"} ${url.origin}`;
}

/** The error to report when the signal has fired, or undefined. */
function abortReason(o: RequestOptions, url: URL): Error | undefined {
  const { signal } = o;
  if (!signal?.aborted) return undefined;
  const reason = signal.reason as Error | undefined;
  if (reason?.name === "TimeoutError") return new OutboundError(`${what(o, url)} timed out`);
  return reason instanceof Error ? reason : new Error("aborted");
}

const MESSAGES: Record<string, string> = {
  ECONNREFUSED: "the connection was refused",
  ECONNRESET: "connection reset by the server",
  EPIPE: "the server closed the connection while the request was sent",
  ETIMEDOUT: "the connection timed out",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  ENOTFOUND: "the host name could not be resolved",
  EAI_AGAIN: "the host name could not be resolved (temporary DNS failure)",
  HPE_INVALID_CONSTANT: "the server did not answer with valid HTTP",
  HPE_INVALID_HEADER_TOKEN: "the server sent an invalid HTTP header",
  HPE_HEADER_OVERFLOW: "the server sent HTTP headers that are too large",
  HPE_UNEXPECTED_CONTENT_LENGTH: "the server sent an invalid Content-Length",
  ERR_TLS_CERT_ALTNAME_INVALID: "the TLS certificate does not name this host",
  CERT_HAS_EXPIRED: "the TLS certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the TLS certificate is self-signed",
  SELF_SIGNED_CERT_IN_CHAIN: "the TLS certificate chain is self-signed",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the TLS certificate could not be verified",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the TLS certificate's issuer is not trusted",
};

/** A plain-words OutboundError for a socket, DNS, TLS or parser error. */
function describe(err: unknown, o: RequestOptions, url: URL, when = ""): OutboundError {
  if (err instanceof OutboundError) return err;
  const e = err as NodeJS.ErrnoException;
  const known = e.code ? MESSAGES[e.code] : undefined;
  let text = known ?? e.message;
  if (!known && e.code?.startsWith("HPE_")) text = "the server sent a malformed HTTP answer";
  else if (!known && e.code === "ERR_SSL_WRONG_VERSION_NUMBER")
    text = "the server does not speak TLS on this port";
  return new OutboundError(`${what(o, url)} failed: ${text}${when ? ` ${when}` : ""}`);
}

/**
 * Opens the socket of one exchange: TCP through the guarded lookup, the connected address
 * checked before the socket is handed to http (so not a byte is sent to a refused address),
 * then TLS for https.
 */
function openSocket(
  ex: Exchange,
  o: RequestOptions,
  fail: (err: Error) => void,
  connected: () => void,
  cb: (err: Error | null, socket?: Socket) => void,
): void {
  const { url } = ex;
  const host = bareHost(url);
  const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
  const connectMs = o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  // noDelay as http's own Agent sets it: headers and body may go out in separate writes.
  const tcp = netConnect({
    host,
    port,
    noDelay: true,
    ...(o.allowPrivate ? {} : { lookup: guardedLookup as never }),
  });
  ex.socket = tcp;
  const onError = (err: NodeJS.ErrnoException) => {
    ex.socketError ??= err;
    fail(err);
  };
  tcp.on("error", onError);
  const timer = setTimeout(
    () =>
      tcp.destroy(
        new OutboundError(`Connecting to ${url.host} timed out after ${Math.round(connectMs / 1000)} s`),
      ),
    connectMs,
  );
  tcp.once("close", () => clearTimeout(timer));
  tcp.once("connect", () => {
    clearTimeout(timer);
    const addr = tcp.remoteAddress ?? "";
    if (!o.allowPrivate && !isPublicAddress(addr)) {
      const err = new PrivateAddressError(
        `${url.host} connected to a private address (${addr}, ${rangeOf(addr)}); ${GUARD_HINT}`,
      );
      tcp.destroy();
      return fail(err);
    }
    connected();
    ex.socket = undefined;
    if (url.protocol !== "https:") return cb(null, tcp);
    const secure = tlsConnect({
      socket: tcp,
      host,
      ...(isIP(host) ? {} : { servername: host }),
      ALPNProtocols: ["http/1.1"],
    });
    secure.on("error", onError);
    cb(null, secure);
  });
}

/** One request and its answer's headers, no redirects. */
function exchange(url: URL, o: RequestOptions): Promise<OutboundResponse> {
  return new Promise((resolve, reject) => {
    const headersMs = o.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs;
    let settled = false;
    let headersTimer: NodeJS.Timeout | undefined;
    const headers: Record<string, string> = { host: url.host, ...o.headers };
    if (o.body !== undefined) headers["content-length"] = String(Buffer.byteLength(o.body));
    const ex = { url } as Exchange;
    const req = httpRequest({
      method: o.method ?? "GET",
      path: `${url.pathname}${url.search}`,
      headers,
      setHost: false,
      createConnection: ((_opts: unknown, cb: (err: Error | null, socket?: Socket) => void) => {
        openSocket(ex, o, fail, armHeadersTimer, cb);
        return undefined;
      }) as never,
    });
    ex.req = req;
    const finish = () => {
      settled = true;
      clearTimeout(headersTimer);
      o.signal?.removeEventListener("abort", onAbort);
    };
    function fail(err: Error): void {
      ex.socket?.destroy();
      if (!req.destroyed) req.destroy();
      if (settled) return;
      finish();
      reject(abortReason(o, url) ?? describe(err, o, url));
    }
    function armHeadersTimer(): void {
      headersTimer = setTimeout(
        () =>
          fail(new OutboundError(`${url.origin} sent no answer within ${Math.round(headersMs / 1000)} s`)),
        headersMs,
      );
    }
    // Kept for the whole exchange: a reset while the body streams is reported here first.
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (settled) ex.socketError ??= err;
      else fail(err);
    });
    const onAbort = () => fail(new Error("aborted"));
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener("abort", onAbort);
    req.on("response", (res) => {
      if (settled) return void res.destroy();
      finish();
      const response = new OutboundResponse(url, res, ex, o);
      // The overall deadline keeps running while the body is read.
      if (o.signal) {
        const signal = o.signal;
        const stop = () => response.close();
        signal.addEventListener("abort", stop, { once: true });
        res.once("close", () => signal.removeEventListener("abort", stop));
      }
      resolve(response);
    });
    req.end(o.body);
  });
}

/**
 * Sends a request and resolves with the answer's status and headers; the body is read with
 * the response's pipeTo()/drain(), or dropped with close(). Redirects (3xx with a Location)
 * are followed up to maxRedirects, each hop checked like the first. Every failure rejects
 * with an OutboundError in plain words, or with the signal's reason when it was cancelled.
 */
export async function request(raw: string | URL, o: RequestOptions): Promise<OutboundResponse> {
  let url = checkUrl(String(raw));
  const maxRedirects = o.maxRedirects ?? 0;
  for (let hop = 0; ; hop++) {
    if (!o.allowPrivate) checkLiteralHost(url);
    const res = await exchange(url, o);
    const location = res.headers.location;
    if (maxRedirects > 0 && res.status >= 300 && res.status < 400 && location) {
      res.close();
      if (hop >= maxRedirects) throw new OutboundError(`Too many redirects fetching ${url.origin}`);
      url = checkUrl(new URL(String(location), url).toString());
      continue;
    }
    return res;
  }
}

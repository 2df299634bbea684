// Downloads a URL into a local file for PullUpload: streamed (memory stays flat whatever the
// size), bounded in bytes and time, redirects followed by hand so every hop is checked, and
// private-network addresses refused unless configured otherwise. The address check runs on
// the address actually connected to (a lookup hook), so DNS rebinding cannot slip past it.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { createWriteStream } from "node:fs";
import { isIP } from "node:net";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import ipaddr from "ipaddr.js";
import { Agent, request } from "undici";

export class DownloadError extends Error {
  constructor(
    message: string,
    /** True when the fault is the request's (bad URL, refused address), not the remote file. */
    readonly badRequest = false,
  ) {
    super(message);
    this.name = "DownloadError";
  }
}

export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip.kind() === "ipv6" && (ip as ipaddr.IPv6).isIPv4MappedAddress())
    ip = (ip as ipaddr.IPv6).toIPv4Address();
  return ip.range() === "unicast";
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A dns.lookup that refuses non-public addresses. */
function guardedLookup(hostname: string, options: object, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => !isPublicAddress(a.address));
    if (bad) {
      const e: NodeJS.ErrnoException = new Error(
        `${hostname} resolves to a private address (${bad.address})`,
      );
      e.code = "EPRIVATEADDRESS";
      return callback(e, []);
    }
    if ((options as { all?: boolean }).all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
}

const guardedAgent = new Agent({ connect: { lookup: guardedLookup as never }, connectTimeout: 15_000 });
const openAgent = new Agent({ connectTimeout: 15_000 });

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs: number;
  allowPrivate: boolean;
  signal?: AbortSignal;
  onProgress?: (received: number, total: number | undefined) => void;
}

export interface Downloaded {
  bytes: number;
  contentType: string;
  finalUrl: string;
}

const MAX_REDIRECTS = 5;

export function checkUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DownloadError(`Invalid URL: ${raw.slice(0, 200)}`, true);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new DownloadError(`Only http and https URLs can be pulled, not ${url.protocol}`, true);
  }
  if (url.username || url.password) throw new DownloadError("URLs with credentials are not accepted", true);
  return url;
}

export async function download(rawUrl: string, dest: string, o: DownloadOptions): Promise<Downloaded> {
  const signals = [AbortSignal.timeout(o.timeoutMs), ...(o.signal ? [o.signal] : [])];
  const signal = AbortSignal.any(signals);
  let url = checkUrl(rawUrl);
  for (let hop = 0; ; hop++) {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (!o.allowPrivate && isIP(host) && !isPublicAddress(host)) {
      throw new DownloadError(
        `${url.host} is a private address; set OPENVOD_ALLOW_PRIVATE_URLS to pull from it`,
        true,
      );
    }
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, {
        method: "GET",
        dispatcher: o.allowPrivate ? openAgent : guardedAgent,
        signal,
        headers: { "user-agent": "openvod-pull/1", accept: "*/*" },
        headersTimeout: 30_000,
        bodyTimeout: 60_000,
      });
    } catch (err) {
      throw describe(err, url, signal);
    }
    const { statusCode, headers, body } = res;
    if (statusCode >= 300 && statusCode < 400 && headers.location) {
      body.resume();
      if (hop >= MAX_REDIRECTS) throw new DownloadError(`Too many redirects fetching ${url.origin}`);
      url = checkUrl(new URL(String(headers.location), url).toString());
      continue;
    }
    if (statusCode !== 200) {
      body.resume();
      throw new DownloadError(`Fetching ${url.origin}${url.pathname} answered HTTP ${statusCode}`);
    }
    const lengthHeader = Number(headers["content-length"]);
    const total = Number.isFinite(lengthHeader) && lengthHeader >= 0 ? lengthHeader : undefined;
    if (total !== undefined && total > o.maxBytes) {
      body.destroy();
      throw new DownloadError(`The file is ${total} bytes, over the limit of ${o.maxBytes}`);
    }
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        if (received > o.maxBytes)
          return cb(new DownloadError(`The file is over the limit of ${o.maxBytes} bytes`));
        o.onProgress?.(received, total);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(dest), { signal });
    } catch (err) {
      throw describe(err, url, signal);
    }
    if (total !== undefined && received !== total) {
      throw new DownloadError(`The connection closed after ${received} of ${total} bytes`);
    }
    return { bytes: received, contentType: String(headers["content-type"] ?? ""), finalUrl: url.toString() };
  }
}

function describe(err: unknown, url: URL, signal: AbortSignal): Error {
  if (err instanceof DownloadError) return err;
  if (signal.aborted) {
    const reason = signal.reason as Error | undefined;
    if (reason?.name === "TimeoutError") return new DownloadError(`Fetching ${url.origin} timed out`);
    return reason instanceof Error ? reason : new Error("aborted");
  }
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.code ?? e.cause?.code;
  if (code === "EPRIVATEADDRESS" || e.cause?.code === "EPRIVATEADDRESS") {
    return new DownloadError(
      `${url.hostname} resolves to a private address; set OPENVOD_ALLOW_PRIVATE_URLS to pull from it`,
      true,
    );
  }
  return new DownloadError(`Fetching ${url.origin} failed: ${code ?? e.message}`);
}

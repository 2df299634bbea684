// Downloads a URL into a local file for PullUpload (the media and its CoverUrl): streamed, so
// memory stays flat whatever the size, through the one outbound client (./http.ts), which
// bounds it in bytes and time, follows redirects by hand re-checking every hop, and refuses
// private-network addresses unless configured otherwise.
import { createWriteStream } from "node:fs";
import { OutboundError, request, type OutboundResponse } from "./http.js";

export class DownloadError extends OutboundError {
  constructor(message: string, badRequest = false) {
    super(message, badRequest);
    this.name = "DownloadError";
  }
}

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

export async function download(rawUrl: string, dest: string, o: DownloadOptions): Promise<Downloaded> {
  const signal = AbortSignal.any([AbortSignal.timeout(o.timeoutMs), ...(o.signal ? [o.signal] : [])]);
  try {
    const res = await request(rawUrl, {
      method: "GET",
      headers: { "user-agent": "openvod-pull/1", accept: "*/*" },
      allowPrivate: o.allowPrivate,
      signal,
      connectTimeoutMs: 15_000,
      headersTimeoutMs: 30_000,
      bodyIdleTimeoutMs: 60_000,
      maxRedirects: MAX_REDIRECTS,
    });
    return await save(res, dest, o);
  } catch (err) {
    if (err instanceof OutboundError && !(err instanceof DownloadError))
      throw new DownloadError(err.message, err.badRequest);
    throw err;
  }
}

async function save(res: OutboundResponse, dest: string, o: DownloadOptions): Promise<Downloaded> {
  const { url } = res;
  if (res.status !== 200) {
    res.close();
    throw new DownloadError(`Fetching ${url.origin}${url.pathname} answered HTTP ${res.status}`);
  }
  if (res.length !== undefined && res.length > o.maxBytes) {
    res.close();
    throw new DownloadError(`The file is ${res.length} bytes, over the limit of ${o.maxBytes}`);
  }
  const bytes = await res.pipeTo(createWriteStream(dest), { maxBytes: o.maxBytes, onProgress: o.onProgress });
  return { bytes, contentType: String(res.headers["content-type"] ?? ""), finalUrl: url.toString() };
}

// S3-compatible blob storage (AWS S3, Tencent COS's S3 endpoint, MinIO, Garage, SeaweedFS).
// Objects are stored under their blob keys in one bucket. Writers still produce into local
// scratch files: putFile/putDir stream them up (multipart for big files) and delete the local
// copies. Readers that need a file (ffmpeg, hashing) get one from a bounded local cache
// (cache.ts); the file server streams objects (openRead) or redirects to presigned URLs.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { Logger } from "pino";
import { BlobCache, type CachedBlob } from "./cache.js";
import { contentTypeOf } from "./mime.js";
import type { BlobStat, BlobStore } from "./types.js";

export interface S3Options {
  bucket: string;
  /** e.g. http://127.0.0.1:9000; unset: AWS's endpoint for the region. */
  endpoint?: string;
  region: string;
  /** Unset: the AWS SDK's default credential chain (AWS_* variables, profiles, instance roles). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** bucket in the path (MinIO, Garage, SeaweedFS, s3rver) instead of in the host name. */
  forcePathStyle: boolean;
  /** Local copies for ffmpeg and hashing, at most cacheMaxBytes (plus what readers hold). */
  cacheDir: string;
  cacheMaxBytes: number;
  /** Multipart part size (at least 5 MiB; raised for huge files to stay within 10,000 parts). */
  partSize?: number;
  /** Parts uploaded at once per file (memory: queueSize × partSize). */
  queueSize?: number;
  log?: Logger;
}

/** What the file server needs to answer a request from a stored object. */
export interface ObjectHead {
  size: number;
  etag: string;
  lastModified: Date | undefined;
  contentType: string | undefined;
}

export interface ReadOptions {
  /** Inclusive byte range; `end` undefined: to the end. */
  range?: { start: number; end?: number };
  ifNoneMatch?: string;
  ifModifiedSince?: Date;
  /** Serve the range only if the object still has this ETag (If-Range), else fail with 412. */
  ifMatch?: string;
  ifUnmodifiedSince?: Date;
}

export interface ObjectRead extends ObjectHead {
  body: Readable;
  /** Bytes in this answer. */
  length: number;
  /** The range served, when a range was asked for and satisfiable. */
  range?: { start: number; end: number };
}

/** An S3 answer other than success, by HTTP status (404 missing, 304, 412, 416...). */
export class ObjectError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MIN_PART = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
const DELETE_BATCH = 1000;
const PUT_DIR_CONCURRENCY = 4;

function statusOf(err: unknown): number | undefined {
  if (err instanceof S3ServiceException) return err.$metadata?.httpStatusCode;
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return meta?.httpStatusCode;
}

/** Refuses keys that are not plain relative paths (the same keys LocalBlobStore accepts). */
function checkKey(key: string): string {
  const parts = key.split("/");
  if (!key || key.startsWith("/") || parts.some((p) => p === "." || p === ".."))
    throw new Error(`unsafe blob key: ${JSON.stringify(key)}`);
  return key;
}

export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly cache: BlobCache;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly log: Logger | undefined;

  constructor(o: S3Options) {
    this.bucket = o.bucket;
    this.partSize = Math.max(MIN_PART, o.partSize ?? 8 * 1024 * 1024);
    this.queueSize = o.queueSize ?? 4;
    this.log = o.log;
    this.client = new S3Client({
      region: o.region,
      endpoint: o.endpoint || undefined,
      forcePathStyle: o.forcePathStyle,
      credentials:
        o.accessKeyId && o.secretAccessKey
          ? { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey }
          : undefined,
      // Checksums only where the API requires them: S3-compatible servers other than AWS often
      // reject (or store verbatim) the trailing checksums newer SDKs add to every upload.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      // Streams to slow HTTP clients hold their sockets: allow many at once. A connection that
      // cannot be made, or a socket idle for 5 minutes (a stalled server, a paused client), fails.
      requestHandler: {
        connectionTimeout: 10_000,
        socketTimeout: 300_000,
        httpAgent: { keepAlive: true, maxSockets: 256 },
        httpsAgent: { keepAlive: true, maxSockets: 256 },
      },
    });
    // DeleteObjects: the API's required checksum is Content-MD5. The SDK sends a CRC32 header
    // instead, which AWS accepts but MinIO (older), COS and others refuse; send the MD5.
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as { headers?: Record<string, string>; body?: unknown };
        if (context.commandName === "DeleteObjectsCommand" && request.headers && request.body !== undefined) {
          for (const h of Object.keys(request.headers)) {
            const l = h.toLowerCase();
            if (l.startsWith("x-amz-checksum-") || l === "x-amz-sdk-checksum-algorithm")
              delete request.headers[h];
          }
          request.headers["content-md5"] = createHash("md5")
            .update(request.body as string | Uint8Array)
            .digest("base64");
        }
        return next(args);
      },
      { step: "finalizeRequest", priority: "high", name: "openvodDeleteObjectsMd5" },
    );
    this.cache = new BlobCache(o.cacheDir, o.cacheMaxBytes, o.log);
  }

  /** Indexes the local cache left by an earlier run. */
  async init(): Promise<void> {
    await this.cache.init();
  }

  async putFile(key: string, localPath: string): Promise<void> {
    await this.upload(checkKey(key), localPath);
    await rm(localPath, { force: true });
    await this.cache.forget(key); // a copy of what was there before is of no use now
  }

  async putDir(prefix: string, localDir: string): Promise<void> {
    const base = checkKey(prefix.replace(/\/+$/, "")) + "/";
    const files = await listTree(localDir);
    // Upload the new tree, then delete what the old one had that the new one does not. Readers
    // see old and new files side by side for a moment: keys are stable per output, so a reader
    // of a playlist finds its segments either way.
    const fresh = new Set(files.map((f) => base + f));
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const rel = files[next++]!;
        await this.upload(base + rel, join(localDir, ...rel.split("/")));
      }
    };
    await Promise.all(Array.from({ length: Math.min(PUT_DIR_CONCURRENCY, files.length) }, worker));
    const stale = (await this.listKeys(base)).filter((k) => !fresh.has(k));
    await this.deleteKeys(stale);
    await this.cache.forget(base);
    await rm(localDir, { recursive: true, force: true });
  }

  async localPath(key: string): Promise<string> {
    // The shared cache entry, unpinned: fine for a short read, may be evicted later.
    const local = await this.openLocal(key);
    local.release();
    return local.entryPath;
  }

  async openLocal(key: string): Promise<CachedBlob> {
    checkKey(key);
    // The ETag names the version: a key replaced since an earlier download is fetched anew. A
    // replacement between HEAD and GET fails the GET (If-Match), and is looked up once more.
    for (let attempt = 0; ; attempt++) {
      const head = await this.head(key);
      if (!head) {
        throw Object.assign(new Error(`blob ${key} does not exist`), { code: "ENOENT" });
      }
      try {
        // Servers that send no ETag: size and time name the version.
        const version = head.etag || `${head.size}-${head.lastModified?.getTime() ?? 0}`;
        return await this.cache.acquire(key, version, (dest) => this.download(key, head, dest));
      } catch (err) {
        if (attempt === 0 && err instanceof ObjectError && (err.status === 412 || err.status === 404))
          continue;
        throw err;
      }
    }
  }

  async stat(key: string): Promise<BlobStat | undefined> {
    const head = await this.head(checkKey(key));
    return head && { size: head.size };
  }

  async remove(keyOrPrefix: string): Promise<void> {
    if (keyOrPrefix.endsWith("/")) {
      const prefix = checkKey(keyOrPrefix.replace(/\/+$/, "")) + "/";
      await this.deleteKeys(await this.listKeys(prefix));
    } else {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: checkKey(keyOrPrefix) }));
    }
    await this.cache.forget(keyOrPrefix);
  }

  /** The object's size, version and type; undefined when it does not exist. */
  async head(
    key: string,
    cond: Pick<ReadOptions, "ifNoneMatch" | "ifModifiedSince"> = {},
  ): Promise<ObjectHead | undefined> {
    try {
      const r = await this.client.send(
        new HeadObjectCommand({
          Bucket: this.bucket,
          Key: key,
          IfNoneMatch: cond.ifNoneMatch,
          IfModifiedSince: cond.ifModifiedSince,
        }),
      );
      return {
        size: r.ContentLength ?? 0,
        etag: r.ETag ?? "",
        lastModified: r.LastModified,
        contentType: r.ContentType,
      };
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return undefined;
      if (status === 304) throw new ObjectError(304, "not modified");
      throw err;
    }
  }

  /** Streams the object (or a range of it); fails with ObjectError for 404, 304, 412, 416. */
  async openRead(key: string, o: ReadOptions = {}): Promise<ObjectRead> {
    let r;
    try {
      r = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: o.range ? `bytes=${o.range.start}-${o.range.end ?? ""}` : undefined,
          IfNoneMatch: o.ifNoneMatch,
          IfModifiedSince: o.ifModifiedSince,
          IfMatch: o.ifMatch,
          IfUnmodifiedSince: o.ifUnmodifiedSince,
        }),
      );
    } catch (err) {
      const status = statusOf(err);
      if (status && status < 500) throw new ObjectError(status, (err as Error).name);
      throw err;
    }
    const length = r.ContentLength ?? 0;
    const m = r.ContentRange ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(r.ContentRange) : null;
    const range = m ? { start: Number(m[1]), end: Number(m[2]) } : undefined;
    const size = m && m[3] !== "*" ? Number(m[3]) : length;
    return {
      body: r.Body as Readable,
      length,
      range,
      size,
      etag: r.ETag ?? "",
      lastModified: r.LastModified,
      contentType: r.ContentType,
    };
  }

  /** A URL that GETs the object without credentials until it expires. */
  presignedUrl(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: checkKey(key) }), {
      expiresIn: expiresInSeconds,
    });
  }

  /** Every key under a prefix (ending in `/`). */
  async listKeys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const r = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = (r.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length) {
        throw new Error(
          `deleting ${failed.length} objects failed: ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message ?? ""}`,
        );
      }
    }
  }

  /** Streams a local file up: one PUT when small, a multipart upload when larger than a part. */
  private async upload(key: string, file: string): Promise<void> {
    const { size } = await stat(file);
    const partSize = Math.max(this.partSize, Math.ceil(size / MAX_PARTS));
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(file, { highWaterMark: 1024 * 1024 }),
        ContentType: contentTypeOf(key) ?? "application/octet-stream",
      },
      partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    await upload.done();
    this.log?.debug({ key, size }, "uploaded");
  }

  /** GETs the version `head` names into `dest`; checks that every byte arrived. */
  private async download(key: string, head: ObjectHead, dest: string): Promise<void> {
    const r = await this.openRead(key, head.etag ? { ifMatch: head.etag } : {});
    await pipeline(r.body, createWriteStream(dest));
    const { size } = await stat(dest);
    if (size !== r.length) throw new Error(`download of ${key} ended after ${size} of ${r.length} bytes`);
  }
}

/** Relative POSIX paths of every file under dir. */
async function listTree(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listTree(dir, r)));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

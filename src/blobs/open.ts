// Which blob storage a process uses: an S3-compatible bucket when OPENVOD_S3_BUCKET names one,
// otherwise the local directory <data dir>/files.
import { join } from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { LocalBlobStore } from "./local.js";
import { S3BlobStore } from "./s3.js";
import type { BlobStore } from "./types.js";

export async function openBlobStore(config: Config, log?: Logger): Promise<BlobStore> {
  const s3 = config.s3;
  if (!s3) return new LocalBlobStore(LocalBlobStore.filesDir(config.dataDir));
  const store = new S3BlobStore({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: s3.forcePathStyle,
    cacheDir: join(config.dataDir, "cache"),
    cacheMaxBytes: s3.cacheMaxBytes,
    log,
  });
  await store.init();
  log?.info(
    { bucket: s3.bucket, endpoint: s3.endpoint ?? "aws", presignedUrls: s3.presignedUrls },
    "media files in object storage",
  );
  return store;
}

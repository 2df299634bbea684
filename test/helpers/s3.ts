// A local S3-compatible server for tests (s3rver, on 127.0.0.1 with a fresh directory), and
// the openvod settings that point at it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";

/** s3rver's fixed credentials. */
export const S3_KEY_ID = "S3RVER";
export const S3_SECRET = "S3RVER";

export class LocalS3 {
  readonly dir = mkdtempSync(join(tmpdir(), "openvod-s3-"));
  endpoint = "";
  client!: S3Client;
  private server!: S3rver;

  constructor(readonly bucket = "media") {}

  async start(): Promise<this> {
    this.server = new S3rver({
      address: "127.0.0.1",
      port: 0,
      silent: true,
      directory: this.dir,
      configureBuckets: [{ name: this.bucket, configs: [] }],
    });
    const addr = await this.server.run();
    this.endpoint = `http://127.0.0.1:${addr.port}`;
    this.client = new S3Client({
      endpoint: this.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: S3_KEY_ID, secretAccessKey: S3_SECRET },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    return this;
  }

  /** The openvod settings for this bucket. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      OPENVOD_S3_ENDPOINT: this.endpoint,
      OPENVOD_S3_BUCKET: this.bucket,
      OPENVOD_S3_ACCESS_KEY_ID: S3_KEY_ID,
      OPENVOD_S3_SECRET_ACCESS_KEY: S3_SECRET,
      OPENVOD_S3_REGION: "us-east-1",
      OPENVOD_S3_FORCE_PATH_STYLE: "true",
      ...extra,
    };
  }

  /** Every key in the bucket under a prefix, sorted. */
  async keys(prefix = ""): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix || undefined,
          ContinuationToken: token,
        }),
      );
      for (const o of r.Contents ?? []) out.push(o.Key!);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  async stop(): Promise<void> {
    this.client?.destroy();
    await this.server?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// Configuration: OPENVOD_* environment variables, each overridable by the matching
// `openvod serve` flag (the CLI passes flags in as overrides). One place reads them so every
// other module receives plain typed values.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  appId: number;
  secretId: string;
  secretKey: string;
  /** True when the key pair was just generated into the data directory (then it is printed once). */
  generatedKeys: boolean;
  publicUrl: string | undefined;
  /** S3-compatible object storage for media files; undefined: the local <dataDir>/files. */
  s3: S3Config | undefined;
  workers: number;
  taskRetentionHours: number;
  rateLimit: number;
  maxBodyBytes: number;
  pullMaxBytes: number;
  pullTimeoutMs: number;
  allowPrivateUrls: boolean;
  /** Lifetime of an ApplyUpload session and its temporary COS credentials, seconds. */
  uploadSessionTtlSec: number;
  /** Largest object the COS endpoint accepts (PutObject, or a whole multipart upload). */
  uploadMaxBytes: number;
  taskTimeoutMs: number;
  subtaskTimeoutMs: number;
  maxTaskAttempts: number;
  leaseMs: number;
  eventRetryBaseMs: number;
  eventRetryMaxMs: number;
  eventPushMaxAgeMs: number;
  testHooks: boolean;
  logLevel: string;
  /** postgres://... selects the PostgreSQL store (cluster mode); unset: SQLite in the data dir. */
  databaseUrl: string | undefined;
  /** What this process runs: the HTTP API, the task workers (with callbacks and purging), or both. */
  role: Role;
}

export type Role = "api" | "worker" | "all";

export interface S3Config {
  bucket: string;
  endpoint: string | undefined;
  region: string;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  forcePathStyle: boolean;
  presignedUrls: boolean;
  presignExpiresSeconds: number;
  cacheMaxBytes: number;
}

/** The settings a user can give, with their environment variable and default. */
export const SETTINGS = {
  host: { env: "OPENVOD_HOST", default: "127.0.0.1", help: "address to listen on" },
  port: { env: "OPENVOD_PORT", default: "9080", help: "port to listen on (0 picks a free port)" },
  dataDir: { env: "OPENVOD_DATA_DIR", default: "./data", help: "database, media files and generated keys" },
  appId: {
    env: "OPENVOD_APP_ID",
    default: "1250000000",
    help: "the account's AppId (the default application)",
  },
  secretId: {
    env: "OPENVOD_SECRET_ID",
    default: "",
    help: "API SecretId (generated into the data dir when unset)",
  },
  secretKey: {
    env: "OPENVOD_SECRET_KEY",
    default: "",
    help: "API SecretKey (generated into the data dir when unset)",
  },
  publicUrl: {
    env: "OPENVOD_PUBLIC_URL",
    default: "",
    help: "base of every FileUrl (default http://HOST:PORT)",
  },
  s3Bucket: {
    env: "OPENVOD_S3_BUCKET",
    default: "",
    help: "keep media files in this S3-compatible bucket (default: <data dir>/files)",
  },
  s3Endpoint: {
    env: "OPENVOD_S3_ENDPOINT",
    default: "",
    help: "S3 endpoint URL, e.g. http://127.0.0.1:9000 (default: AWS for the region)",
  },
  s3Region: { env: "OPENVOD_S3_REGION", default: "us-east-1", help: "S3 region" },
  s3AccessKeyId: {
    env: "OPENVOD_S3_ACCESS_KEY_ID",
    default: "",
    help: "S3 access key (default: the AWS SDK's credential chain)",
  },
  s3SecretAccessKey: { env: "OPENVOD_S3_SECRET_ACCESS_KEY", default: "", help: "S3 secret key" },
  s3ForcePathStyle: {
    env: "OPENVOD_S3_FORCE_PATH_STYLE",
    default: "false",
    help: "address the bucket in the path, not the host name (MinIO, Garage, SeaweedFS)",
  },
  s3PresignedUrls: {
    env: "OPENVOD_S3_PRESIGNED_URLS",
    default: "false",
    help: "answer /files/ with a 302 to a presigned S3 URL instead of streaming through openvod",
  },
  s3PresignExpiresSeconds: {
    env: "OPENVOD_S3_PRESIGN_EXPIRES_SECONDS",
    default: "3600",
    help: "lifetime of those presigned URLs (each request to a FileUrl makes a fresh one)",
  },
  s3CacheMaxBytes: {
    env: "OPENVOD_S3_CACHE_MAX_BYTES",
    default: String(10 * 1024 ** 3),
    help: "local cache of objects downloaded for ffmpeg and hashing (<data dir>/cache)",
  },
  workers: { env: "OPENVOD_WORKERS", default: "", help: "concurrent tasks (default: number of cores)" },
  taskRetentionHours: {
    env: "OPENVOD_TASK_RETENTION_HOURS",
    default: "72",
    help: "how long finished tasks stay queryable",
  },
  rateLimit: {
    env: "OPENVOD_RATE_LIMIT",
    default: "100",
    help: "requests per second per account and action (0 = off)",
  },
  maxBodyBytes: {
    env: "OPENVOD_MAX_BODY_BYTES",
    default: String(10 * 1024 * 1024),
    help: "largest API request body",
  },
  pullMaxBytes: {
    env: "OPENVOD_PULL_MAX_BYTES",
    default: String(20 * 1024 ** 3),
    help: "largest file PullUpload downloads",
  },
  pullTimeoutMs: {
    env: "OPENVOD_PULL_TIMEOUT_MS",
    default: String(2 * 3600 * 1000),
    help: "PullUpload download timeout",
  },
  allowPrivateUrls: {
    env: "OPENVOD_ALLOW_PRIVATE_URLS",
    default: "false",
    help: "let PullUpload, CoverUrl and PUSH callbacks reach loopback and private-network addresses",
  },
  uploadSessionTtlSec: {
    env: "OPENVOD_UPLOAD_SESSION_TTL_SEC",
    default: "86400",
    help: "how long an ApplyUpload session and its temporary COS credentials last; uncommitted uploads are removed after it",
  },
  uploadMaxBytes: {
    env: "OPENVOD_UPLOAD_MAX_BYTES",
    default: String(20 * 1024 ** 3),
    help: "largest file the COS upload endpoint accepts (one PutObject or UploadPart is also capped at 5 GiB)",
  },
  taskTimeoutMs: {
    env: "OPENVOD_TASK_TIMEOUT_MS",
    default: String(6 * 3600 * 1000),
    help: "stop a whole task after this long",
  },
  subtaskTimeoutMs: {
    env: "OPENVOD_SUBTASK_TIMEOUT_MS",
    default: String(2 * 3600 * 1000),
    help: "kill the ffmpeg runs of one media-processing sub-task after this long (the sub-task fails with 70000)",
  },
  maxTaskAttempts: {
    env: "OPENVOD_MAX_TASK_ATTEMPTS",
    default: "3",
    help: "attempts before a crashed task fails with 70000",
  },
  leaseMs: {
    env: "OPENVOD_LEASE_MS",
    default: "30000",
    help: "how long a claimed task is held without renewal",
  },
  eventRetryBaseMs: {
    env: "OPENVOD_EVENT_RETRY_BASE_MS",
    default: "1000",
    help: "first retry delay of a failed callback (doubles each time)",
  },
  eventRetryMaxMs: {
    env: "OPENVOD_EVENT_RETRY_MAX_MS",
    default: "600000",
    help: "longest delay between callback retries",
  },
  eventPushMaxAgeMs: {
    env: "OPENVOD_EVENT_PUSH_MAX_AGE_MS",
    default: String(24 * 3600 * 1000),
    help: "stop retrying a callback this long after its event",
  },
  testHooks: {
    env: "OPENVOD_TEST_HOOKS",
    default: "false",
    help: "enable /_openvod/test endpoints (clock control for tests; never in production)",
  },
  logLevel: {
    env: "OPENVOD_LOG_LEVEL",
    default: "info",
    help: "log level (fatal, error, warn, info, debug)",
  },
  databaseUrl: {
    env: "OPENVOD_DATABASE_URL",
    default: "",
    help: "postgres://user:pass@host:5432/db: PostgreSQL shared by many processes (default: SQLite in the data dir)",
  },
  role: {
    env: "OPENVOD_ROLE",
    default: "all",
    help: "api (HTTP only), worker (tasks, callbacks, purging; needs OPENVOD_PUBLIC_URL) or all; api/worker need PostgreSQL",
  },
} as const;

export type SettingName = keyof typeof SETTINGS;

/** The `openvod serve` flag of a setting: dataDir → data-dir. */
export function flagOf(name: string): string {
  return name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

function int(name: SettingName, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${SETTINGS[name].env} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

function bool(raw: string): boolean {
  return /^(1|true|yes|on)$/i.test(raw.trim());
}

/** Reads or creates the key pair kept in the data directory (mode 0600). */
function storedKeys(dataDir: string): { secretId: string; secretKey: string; created: boolean } {
  const file = join(dataDir, "credentials.json");
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as { SecretId: string; SecretKey: string };
    return { secretId: parsed.SecretId, secretKey: parsed.SecretKey, created: false };
  }
  const secretId = "AKID" + randomBytes(16).toString("hex");
  const secretKey = randomBytes(24).toString("base64url");
  writeFileSync(file, JSON.stringify({ SecretId: secretId, SecretKey: secretKey }, null, 2) + "\n", {
    mode: 0o600,
  });
  chmodSync(file, 0o600);
  return { secretId, secretKey, created: true };
}

function s3Config(raw: (name: SettingName) => string): S3Config | undefined {
  const bucket = raw("s3Bucket");
  if (!bucket) {
    // Half a configuration would silently keep files on local disk: refuse it.
    const given = (["s3Endpoint", "s3AccessKeyId", "s3SecretAccessKey"] as const).find((n) => raw(n));
    if (given) throw new Error(`${SETTINGS[given].env} is set but OPENVOD_S3_BUCKET is not`);
    return undefined;
  }
  const endpoint = raw("s3Endpoint").replace(/\/+$/, "") || undefined;
  if (endpoint && !/^https?:\/\/[^/]+$/i.test(endpoint))
    throw new Error(`OPENVOD_S3_ENDPOINT must be an http:// or https:// origin, got "${endpoint}"`);
  const accessKeyId = raw("s3AccessKeyId") || undefined;
  const secretAccessKey = raw("s3SecretAccessKey") || undefined;
  if (!accessKeyId !== !secretAccessKey)
    throw new Error("set both OPENVOD_S3_ACCESS_KEY_ID and OPENVOD_S3_SECRET_ACCESS_KEY, or neither");
  const expires = int("s3PresignExpiresSeconds", raw("s3PresignExpiresSeconds"), 1);
  // SigV4 presigned URLs are valid for at most 7 days.
  if (expires > 7 * 24 * 3600)
    throw new Error("OPENVOD_S3_PRESIGN_EXPIRES_SECONDS must be at most 604800 (7 days)");
  return {
    bucket,
    endpoint,
    region: raw("s3Region") || "us-east-1",
    accessKeyId,
    secretAccessKey,
    forcePathStyle: bool(raw("s3ForcePathStyle")),
    presignedUrls: bool(raw("s3PresignedUrls")),
    presignExpiresSeconds: expires,
    cacheMaxBytes: int("s3CacheMaxBytes", raw("s3CacheMaxBytes"), 0),
  };
}

export function loadConfig(
  overrides: Partial<Record<SettingName, string>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const raw = (name: SettingName): string =>
    overrides[name] ?? env[SETTINGS[name].env] ?? SETTINGS[name].default;
  const dataDir = resolve(raw("dataDir"));
  mkdirSync(dataDir, { recursive: true });
  let secretId = raw("secretId");
  let secretKey = raw("secretKey");
  let generatedKeys = false;
  if (!secretId || !secretKey) {
    if (secretId || secretKey)
      throw new Error("set both OPENVOD_SECRET_ID and OPENVOD_SECRET_KEY, or neither");
    const keys = storedKeys(dataDir);
    ({ secretId, secretKey } = keys);
    generatedKeys = keys.created;
  }
  const databaseUrl = raw("databaseUrl") || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//i.test(databaseUrl))
    throw new Error("OPENVOD_DATABASE_URL must start with postgres:// or postgresql://");
  const role = raw("role");
  if (role !== "api" && role !== "worker" && role !== "all")
    throw new Error(`OPENVOD_ROLE must be api, worker or all, got "${role}"`);
  if (role !== "all" && !databaseUrl)
    throw new Error(
      `OPENVOD_ROLE=${role} needs OPENVOD_DATABASE_URL (PostgreSQL): the embedded SQLite database ` +
        "belongs to one process, which runs as role all",
    );
  if (role === "worker" && !raw("publicUrl"))
    throw new Error(
      "OPENVOD_ROLE=worker needs OPENVOD_PUBLIC_URL: the address clients reach the API processes at, " +
        "for the FileUrls that workers put in events",
    );
  const workersRaw = raw("workers");
  return {
    host: raw("host"),
    port: int("port", raw("port"), 0),
    dataDir,
    appId: int("appId", raw("appId"), 1),
    secretId,
    secretKey,
    generatedKeys,
    publicUrl: raw("publicUrl").replace(/\/+$/, "") || undefined,
    s3: s3Config(raw),
    workers: workersRaw ? int("workers", workersRaw, 1) : availableParallelism(),
    taskRetentionHours: int("taskRetentionHours", raw("taskRetentionHours"), 1),
    rateLimit: int("rateLimit", raw("rateLimit"), 0),
    maxBodyBytes: int("maxBodyBytes", raw("maxBodyBytes"), 1024),
    pullMaxBytes: int("pullMaxBytes", raw("pullMaxBytes"), 1),
    pullTimeoutMs: int("pullTimeoutMs", raw("pullTimeoutMs"), 1000),
    allowPrivateUrls: bool(raw("allowPrivateUrls")),
    uploadSessionTtlSec: int("uploadSessionTtlSec", raw("uploadSessionTtlSec"), 60),
    uploadMaxBytes: int("uploadMaxBytes", raw("uploadMaxBytes"), 1),
    taskTimeoutMs: int("taskTimeoutMs", raw("taskTimeoutMs"), 1000),
    subtaskTimeoutMs: int("subtaskTimeoutMs", raw("subtaskTimeoutMs"), 1000),
    maxTaskAttempts: int("maxTaskAttempts", raw("maxTaskAttempts"), 1),
    leaseMs: int("leaseMs", raw("leaseMs"), 1000),
    eventRetryBaseMs: int("eventRetryBaseMs", raw("eventRetryBaseMs"), 1),
    eventRetryMaxMs: int("eventRetryMaxMs", raw("eventRetryMaxMs"), 1),
    eventPushMaxAgeMs: int("eventPushMaxAgeMs", raw("eventPushMaxAgeMs"), 1000),
    testHooks: bool(raw("testHooks")),
    logLevel: raw("logLevel"),
    databaseUrl,
    role,
  };
}

/** The README's configuration table, generated so it cannot drift (test/readme.test.ts). */
export function settingsTable(): string {
  const rows = Object.entries(SETTINGS).map(
    ([name, s]) =>
      `| \`${s.env}\` | \`--${flagOf(name)}\` | ${s.default === "" ? "—" : `\`${s.default}\``} | ${s.help} |`,
  );
  return ["| Variable | Flag | Default | Meaning |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

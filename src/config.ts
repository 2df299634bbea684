// Configuration: OPENVOD_* environment variables, each overridable by the matching
// `openvod serve` flag (the CLI passes flags in as overrides). One place reads them so every
// other module receives plain typed values. Each setting is written once, in SETTINGS, with its
// parser; the Config type is derived from that table, so a new setting cannot be half-added.
// Reading the configuration writes nothing: the generated key pair is made by prepareKeys.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";

export type Role = "api" | "worker" | "all";

/** One setting: its environment variable, default, README help and how its text is read. */
interface Setting<T> {
  env: string;
  default: string;
  help: string;
  /** Turns the raw text into the typed value; throws an Error naming the variable when it cannot. */
  parse(raw: string, env: string): T;
}

const text = (raw: string) => raw;
const optionalText = (raw: string) => raw || undefined;
const path = (raw: string) => resolve(raw);
const baseUrl = (raw: string) => raw.replace(/\/+$/, "") || undefined;
const bool = (raw: string) => /^(1|true|yes|on)$/i.test(raw.trim());
const int =
  (min: number) =>
  (raw: string, env: string): number => {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isInteger(n) || n < min)
      throw new Error(`${env} must be an integer >= ${min}, got "${raw}"`);
    return n;
  };
/** A count of at least 1; unset, the number of cores. */
const countOrCores = (raw: string, env: string) => (raw ? int(1)(raw, env) : availableParallelism());
const role = (raw: string, env: string): Role => {
  if (raw !== "api" && raw !== "worker" && raw !== "all")
    throw new Error(`${env} must be api, worker or all, got "${raw}"`);
  return raw;
};

/** The settings a user can give, with their environment variable and default. */
export const SETTINGS = {
  host: { env: "OPENVOD_HOST", default: "127.0.0.1", help: "address to listen on", parse: text },
  port: {
    env: "OPENVOD_PORT",
    default: "9080",
    help: "port to listen on (0 picks a free port)",
    parse: int(0),
  },
  dataDir: {
    env: "OPENVOD_DATA_DIR",
    default: "./data",
    help: "database, media files and generated keys",
    parse: path,
  },
  appId: {
    env: "OPENVOD_APP_ID",
    default: "1250000000",
    help: "the account's AppId (the default application)",
    parse: int(1),
  },
  secretId: {
    env: "OPENVOD_SECRET_ID",
    default: "",
    help: "API SecretId (generated into the data dir when unset)",
    parse: text,
  },
  secretKey: {
    env: "OPENVOD_SECRET_KEY",
    default: "",
    help: "API SecretKey (generated into the data dir when unset)",
    parse: text,
  },
  publicUrl: {
    env: "OPENVOD_PUBLIC_URL",
    default: "",
    help: "base of every FileUrl (default http://HOST:PORT)",
    parse: baseUrl,
  },
  s3Bucket: {
    env: "OPENVOD_S3_BUCKET",
    default: "",
    help: "keep media files in this S3-compatible bucket (default: <data dir>/files)",
    parse: text,
  },
  s3Endpoint: {
    env: "OPENVOD_S3_ENDPOINT",
    default: "",
    help: "S3 endpoint URL, e.g. http://127.0.0.1:9000 (default: AWS for the region)",
    parse: text,
  },
  s3Region: { env: "OPENVOD_S3_REGION", default: "us-east-1", help: "S3 region", parse: text },
  s3AccessKeyId: {
    env: "OPENVOD_S3_ACCESS_KEY_ID",
    default: "",
    help: "S3 access key (default: the AWS SDK's credential chain)",
    parse: text,
  },
  s3SecretAccessKey: { env: "OPENVOD_S3_SECRET_ACCESS_KEY", default: "", help: "S3 secret key", parse: text },
  s3ForcePathStyle: {
    env: "OPENVOD_S3_FORCE_PATH_STYLE",
    default: "false",
    help: "address the bucket in the path, not the host name (MinIO, Garage, SeaweedFS)",
    parse: bool,
  },
  s3PresignedUrls: {
    env: "OPENVOD_S3_PRESIGNED_URLS",
    default: "false",
    help: "answer /files/ with a 302 to a presigned S3 URL instead of streaming through openvod",
    parse: bool,
  },
  s3PresignExpiresSeconds: {
    env: "OPENVOD_S3_PRESIGN_EXPIRES_SECONDS",
    default: "3600",
    help: "lifetime of those presigned URLs (each request to a FileUrl makes a fresh one)",
    parse: int(1),
  },
  s3CacheMaxBytes: {
    env: "OPENVOD_S3_CACHE_MAX_BYTES",
    default: String(10 * 1024 ** 3),
    help: "local cache of objects downloaded for ffmpeg and hashing (<data dir>/cache)",
    parse: int(0),
  },
  workers: {
    env: "OPENVOD_WORKERS",
    default: "",
    help: "concurrent tasks (default: number of cores)",
    parse: countOrCores,
  },
  cpus: {
    env: "OPENVOD_CPUS",
    default: "",
    help: "cores this process's ffmpeg jobs share: a job alone gets them all, concurrent jobs split them (default: number of cores; with several worker processes on one machine, give each its share)",
    parse: countOrCores,
  },
  taskRetentionHours: {
    env: "OPENVOD_TASK_RETENTION_HOURS",
    default: "72",
    help: "how long finished tasks stay queryable",
    parse: int(1),
  },
  rateLimit: {
    env: "OPENVOD_RATE_LIMIT",
    default: "100",
    help: "requests per second per account and action (0 = off)",
    parse: int(0),
  },
  maxBodyBytes: {
    env: "OPENVOD_MAX_BODY_BYTES",
    default: String(10 * 1024 * 1024),
    help: "largest API request body",
    parse: int(1024),
  },
  pullMaxBytes: {
    env: "OPENVOD_PULL_MAX_BYTES",
    default: String(20 * 1024 ** 3),
    help: "largest file PullUpload downloads",
    parse: int(1),
  },
  pullTimeoutMs: {
    env: "OPENVOD_PULL_TIMEOUT_MS",
    default: String(2 * 3600 * 1000),
    help: "PullUpload download timeout",
    parse: int(1000),
  },
  allowPrivateUrls: {
    env: "OPENVOD_ALLOW_PRIVATE_URLS",
    default: "false",
    help: "let PullUpload, CoverUrl and PUSH callbacks reach loopback and private-network addresses",
    parse: bool,
  },
  uploadSessionTtlSec: {
    env: "OPENVOD_UPLOAD_SESSION_TTL_SEC",
    default: "86400",
    help: "how long an ApplyUpload session and its temporary COS credentials last; uncommitted uploads are removed after it",
    parse: int(60),
  },
  uploadMaxBytes: {
    env: "OPENVOD_UPLOAD_MAX_BYTES",
    default: String(20 * 1024 ** 3),
    help: "largest file the COS upload endpoint accepts (one PutObject or UploadPart is also capped at 5 GiB)",
    parse: int(1),
  },
  taskTimeoutMs: {
    env: "OPENVOD_TASK_TIMEOUT_MS",
    default: String(6 * 3600 * 1000),
    help: "stop a whole task after this long",
    parse: int(1000),
  },
  subtaskTimeoutMs: {
    env: "OPENVOD_SUBTASK_TIMEOUT_MS",
    default: String(2 * 3600 * 1000),
    help: "kill the ffmpeg runs of one media-processing sub-task after this long (the sub-task fails with 70000)",
    parse: int(1000),
  },
  maxTaskAttempts: {
    env: "OPENVOD_MAX_TASK_ATTEMPTS",
    default: "3",
    help: "attempts before a crashed task fails with 70000",
    parse: int(1),
  },
  segmentSeconds: {
    env: "OPENVOD_SEGMENT_SECONDS",
    default: "0",
    help: "split the Transcode and AdaptiveDynamicStreaming sub-tasks of long sources into segments of about this many seconds, encoded in parallel by any worker (0: off)",
    parse: int(0),
  },
  segmentMinSeconds: {
    env: "OPENVOD_SEGMENT_MIN_SECONDS",
    default: "300",
    help: "split only sources at least this long (with OPENVOD_SEGMENT_SECONDS)",
    parse: int(1),
  },
  leaseMs: {
    env: "OPENVOD_LEASE_MS",
    default: "30000",
    help: "how long a claimed task is held without renewal",
    parse: int(1000),
  },
  eventRetryBaseMs: {
    env: "OPENVOD_EVENT_RETRY_BASE_MS",
    default: "1000",
    help: "first retry delay of a failed callback (doubles each time)",
    parse: int(1),
  },
  eventRetryMaxMs: {
    env: "OPENVOD_EVENT_RETRY_MAX_MS",
    default: "600000",
    help: "longest delay between callback retries",
    parse: int(1),
  },
  eventPushMaxAgeMs: {
    env: "OPENVOD_EVENT_PUSH_MAX_AGE_MS",
    default: String(24 * 3600 * 1000),
    help: "stop retrying a callback this long after its event",
    parse: int(1000),
  },
  testHooks: {
    env: "OPENVOD_TEST_HOOKS",
    default: "false",
    help: "enable /_openvod/test endpoints (clock, worker pause and task holds for tests; never in production)",
    parse: bool,
  },
  logLevel: {
    env: "OPENVOD_LOG_LEVEL",
    default: "info",
    help: "log level (fatal, error, warn, info, debug)",
    parse: text,
  },
  databaseUrl: {
    env: "OPENVOD_DATABASE_URL",
    default: "",
    help: "postgres://user:pass@host:5432/db: PostgreSQL shared by many processes (default: SQLite in the data dir)",
    parse: optionalText,
  },
  role: {
    env: "OPENVOD_ROLE",
    default: "all",
    help: "api (HTTP only), worker (tasks, callbacks, purging; needs OPENVOD_PUBLIC_URL) or all; api/worker need PostgreSQL",
    parse: role,
  },
} as const satisfies Record<string, Setting<unknown>>;

export type SettingName = keyof typeof SETTINGS;

type Parsed = { [K in SettingName]: ReturnType<(typeof SETTINGS)[K]["parse"]> };
type S3SettingName = Extract<SettingName, `s3${string}`>;

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

export type Config = Omit<Parsed, S3SettingName | "databaseUrl"> & {
  /** postgres://... selects the PostgreSQL store (cluster mode); undefined: SQLite in the data dir. */
  databaseUrl: string | undefined;
  /** S3-compatible object storage for media files; undefined: the local <dataDir>/files. */
  s3: S3Config | undefined;
  /** True when the key pair was just generated into the data directory (then it is printed once). */
  generatedKeys: boolean;
};

/** The `openvod serve` flag of a setting: dataDir → data-dir. */
export function flagOf(name: string): string {
  return name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

function s3Config(v: Parsed): S3Config | undefined {
  if (!v.s3Bucket) {
    // Half a configuration would silently keep files on local disk: refuse it.
    const given = (["s3Endpoint", "s3AccessKeyId", "s3SecretAccessKey"] as const).find((n) => v[n]);
    if (given) throw new Error(`${SETTINGS[given].env} is set but ${SETTINGS.s3Bucket.env} is not`);
    return undefined;
  }
  const endpoint = v.s3Endpoint.replace(/\/+$/, "") || undefined;
  if (endpoint && !/^https?:\/\/[^/]+$/i.test(endpoint))
    throw new Error(`${SETTINGS.s3Endpoint.env} must be an http:// or https:// origin, got "${endpoint}"`);
  if (!v.s3AccessKeyId !== !v.s3SecretAccessKey)
    throw new Error(
      `set both ${SETTINGS.s3AccessKeyId.env} and ${SETTINGS.s3SecretAccessKey.env}, or neither`,
    );
  // SigV4 presigned URLs are valid for at most 7 days.
  if (v.s3PresignExpiresSeconds > 7 * 24 * 3600)
    throw new Error(`${SETTINGS.s3PresignExpiresSeconds.env} must be at most 604800 (7 days)`);
  return {
    bucket: v.s3Bucket,
    endpoint,
    region: v.s3Region || "us-east-1",
    accessKeyId: v.s3AccessKeyId || undefined,
    secretAccessKey: v.s3SecretAccessKey || undefined,
    forcePathStyle: v.s3ForcePathStyle,
    presignedUrls: v.s3PresignedUrls,
    presignExpiresSeconds: v.s3PresignExpiresSeconds,
    cacheMaxBytes: v.s3CacheMaxBytes,
  };
}

/**
 * Reads every setting (override, else environment, else default) and checks how they combine.
 * An empty secretId/secretKey pair means "the key pair kept in the data directory": see prepareKeys.
 */
export function loadConfig(
  overrides: Partial<Record<SettingName, string>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const v = {} as Record<SettingName, unknown>;
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const s: Setting<unknown> = SETTINGS[name];
    v[name] = s.parse(overrides[name] ?? env[s.env] ?? s.default, s.env);
  }
  const parsed = v as Parsed;
  if (!parsed.secretId !== !parsed.secretKey)
    throw new Error(`set both ${SETTINGS.secretId.env} and ${SETTINGS.secretKey.env}, or neither`);
  const { databaseUrl } = parsed;
  if (databaseUrl && !/^postgres(ql)?:\/\//i.test(databaseUrl))
    throw new Error(`${SETTINGS.databaseUrl.env} must start with postgres:// or postgresql://`);
  if (parsed.role !== "all" && !databaseUrl)
    throw new Error(
      `${SETTINGS.role.env}=${parsed.role} needs ${SETTINGS.databaseUrl.env} (PostgreSQL): the embedded SQLite ` +
        "database belongs to one process, which runs as role all",
    );
  if (parsed.role === "worker" && !parsed.publicUrl)
    throw new Error(
      `${SETTINGS.role.env}=worker needs ${SETTINGS.publicUrl.env}: the address clients reach the API processes ` +
        "at, for the FileUrls that workers put in events",
    );
  const s3 = s3Config(parsed);
  const rest = Object.fromEntries(Object.entries(parsed).filter(([k]) => !k.startsWith("s3")));
  return { ...(rest as Omit<Parsed, S3SettingName>), databaseUrl, s3, generatedKeys: false };
}

/**
 * Creates the data directory and, when no key pair was configured, reads the one kept there
 * (credentials.json, mode 0600) or generates it. Run once by `openvod serve` before starting.
 */
export function prepareKeys(config: Config): Config {
  mkdirSync(config.dataDir, { recursive: true });
  if (config.secretId && config.secretKey) return config;
  const file = join(config.dataDir, "credentials.json");
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as { SecretId: string; SecretKey: string };
    return { ...config, secretId: parsed.SecretId, secretKey: parsed.SecretKey };
  }
  const secretId = "AKID" + randomBytes(16).toString("hex");
  const secretKey = randomBytes(24).toString("base64url");
  writeFileSync(file, JSON.stringify({ SecretId: secretId, SecretKey: secretKey }, null, 2) + "\n", {
    mode: 0o600,
  });
  chmodSync(file, 0o600);
  return { ...config, secretId, secretKey, generatedKeys: true };
}

/** The README's configuration table, generated so it cannot drift (test/readme.test.ts). */
export function settingsTable(): string {
  const rows = Object.entries(SETTINGS).map(
    ([name, s]) =>
      `| \`${s.env}\` | \`--${flagOf(name)}\` | ${s.default === "" ? "—" : `\`${s.default}\``} | ${s.help} |`,
  );
  return ["| Variable | Flag | Default | Meaning |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

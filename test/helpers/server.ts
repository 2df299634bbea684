// Starts a real openvod process for a test, as a user would (`openvod serve`), and hands out
// official SDK clients pointed at it. Also serves local files over HTTP for PullUpload.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createReadStream, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as tencentcloud from "tencentcloud-sdk-nodejs-vod";
import { createTestDatabase, type TestDatabase } from "./pg.js";

// The SDK wraps requests in a proxy agent when these are set; tests talk to 127.0.0.1 only.
for (const k of ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"]) delete process.env[k];

const here = fileURLToPath(new URL(".", import.meta.url));
/** dist/test/helpers → repo root. */
export const REPO_ROOT = resolve(here, "../../..");
const CLI = join(REPO_ROOT, "dist/src/cli/main.js");

export const SECRET_ID = "AKIDopenvodTestSecretId000000000000";
export const SECRET_KEY = "openvodTestSecretKey0000000000000";
export const APP_ID = 1250000000;

const VodClient = tencentcloud.vod.v20180717.Client;
export type Vod = InstanceType<typeof VodClient>;

export interface ServerOptions {
  env?: Record<string, string>;
  /** Reuse a data directory (restart tests). */
  dataDir?: string;
}

export class OpenvodProcess {
  child!: ChildProcess;
  url = "";
  port = 0;
  stderr = "";
  readonly dataDir: string;
  private readonly ownsDataDir: boolean;

  constructor(private readonly opts: ServerOptions = {}) {
    this.ownsDataDir = !opts.dataDir;
    this.dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "openvod-test-"));
  }

  async start(): Promise<this> {
    this.stderr = "";
    const databaseUrl = await testDatabaseFor(this.dataDir, this.opts.env);
    this.child = spawn(process.execPath, [CLI, "serve"], {
      env: {
        ...process.env,
        OPENVOD_PORT: "0",
        OPENVOD_HOST: "127.0.0.1",
        OPENVOD_DATA_DIR: this.dataDir,
        OPENVOD_SECRET_ID: SECRET_ID,
        OPENVOD_SECRET_KEY: SECRET_KEY,
        OPENVOD_APP_ID: String(APP_ID),
        OPENVOD_ALLOW_PRIVATE_URLS: "true",
        OPENVOD_STRICT_SHAPE: "1",
        OPENVOD_WORKERS: "2",
        OPENVOD_LOG_LEVEL: "warn",
        ...(databaseUrl ? { OPENVOD_DATABASE_URL: databaseUrl } : {}),
        ...this.opts.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stderr!.on("data", (d) => (this.stderr += d));
    this.url = await new Promise<string>((resolveUrl, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`openvod did not start:\n${this.stderr}`)), 20_000);
      this.child.stdout!.on("data", (d) => {
        out += d;
        const m = /openvod listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolveUrl(m[1]!);
        }
      });
      this.child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`openvod exited with ${code}:\n${this.stderr}`));
      });
    });
    this.port = Number(new URL(this.url).port);
    return this;
  }

  client(o: { secretId?: string; secretKey?: string; signMethod?: string; reqMethod?: string } = {}): Vod {
    const profile: Record<string, unknown> = {
      httpProfile: {
        endpoint: `127.0.0.1:${this.port}`,
        protocol: "http://",
        ...(o.reqMethod ? { reqMethod: o.reqMethod } : {}),
      },
    };
    if (o.signMethod) profile.signMethod = o.signMethod;
    return new VodClient({
      credential: { secretId: o.secretId ?? SECRET_ID, secretKey: o.secretKey ?? SECRET_KEY },
      region: "ap-guangzhou",
      profile,
    });
  }

  /** kill -9: no chance to clean up, as in a crash. */
  async kill9(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once("exit", r));
      this.child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      if (this.child.exitCode === null && this.child.signalCode === null) await this.kill9();
    }
    if (this.ownsDataDir) {
      rmSync(this.dataDir, { recursive: true, force: true });
      await dropTestDatabases(this.dataDir);
    }
  }
}

// OPENVOD_TEST_ON_POSTGRES=1 runs every test server on PostgreSQL instead of SQLite: each data
// directory gets a database of its own (a restart on the same directory finds the same one),
// dropped when the server that owns the directory stops (restart tests that bring their own
// directory leave theirs: openvod_test_server_*). The whole suite then checks that the
// two stores behave the same behind the API.
const testDatabases = new Map<string, TestDatabase>();

async function testDatabaseFor(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<string | undefined> {
  if (process.env.OPENVOD_TEST_ON_POSTGRES !== "1" || env.OPENVOD_DATABASE_URL !== undefined)
    return undefined;
  let db = testDatabases.get(dataDir);
  if (!db) {
    db = await createTestDatabase("openvod_test_server");
    testDatabases.set(dataDir, db);
  }
  return db.url;
}

async function dropTestDatabases(dataDir: string): Promise<void> {
  const db = testDatabases.get(dataDir);
  if (!db) return;
  testDatabases.delete(dataDir);
  await db.drop().catch(() => {});
}

export async function startOpenvod(opts: ServerOptions = {}): Promise<OpenvodProcess> {
  return new OpenvodProcess(opts).start();
}

/** A plain HTTP server serving files from a directory (the "remote" PullUpload fetches from). */
export class FileServer {
  private server!: Server;
  url = "";
  requests = 0;
  /** Per-path hooks to misbehave (status codes, slow bodies, redirects). */
  readonly routes = new Map<
    string,
    (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void
  >();

  constructor(readonly root: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.requests++;
      const path = decodeURIComponent(new URL(req.url!, "http://x").pathname);
      const route = this.routes.get(path);
      if (route) return route(req, res);
      const file = join(this.root, path);
      if (!file.startsWith(this.root)) return res.writeHead(403).end();
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        return res.writeHead(404).end();
      }
      res.writeHead(200, { "content-length": size, "content-type": "application/octet-stream" });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    const addr = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

/** Polls DescribeTaskDetail until the task leaves WAITING/PROCESSING; returns every status seen. */
export async function waitForTask(
  vod: Vod,
  taskId: string,
  o: { timeoutMs?: number; subAppId?: number } = {},
): Promise<{ detail: any; seen: string[] }> {
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  const seen: string[] = [];
  for (;;) {
    let detail: any;
    try {
      detail = await vod.DescribeTaskDetail({
        TaskId: taskId,
        ...(o.subAppId ? { SubAppId: o.subAppId } : {}),
      });
    } catch (err) {
      // Many waiters polling at once can pass the per-action rate limit: back off as a client would.
      if ((err as { code?: string }).code !== "RequestLimitExceeded" || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    if (seen[seen.length - 1] !== detail.Status) seen.push(detail.Status);
    if (detail.Status === "FINISH" || detail.Status === "ABORTED") return { detail, seen };
    if (Date.now() > deadline) throw new Error(`task ${taskId} still ${detail.Status} after timeout`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** PullUpload of `url` (with `more` of its parameters), waited for: the new item's FileId (fails the test if the pull failed). */
export async function pullItem(vod: Vod, url: string, more: { Procedure?: string } = {}): Promise<string> {
  const { TaskId } = await vod.PullUpload({ MediaUrl: url, ...more });
  const { detail } = await waitForTask(vod, TaskId!);
  if (detail.PullUploadTask.ErrCode !== 0)
    throw new Error(
      `PullUpload of ${url}: ${detail.PullUploadTask.ErrCode} ${detail.PullUploadTask.Message}`,
    );
  return detail.PullUploadTask.FileId;
}

/** Polls cond until it holds; fails the test naming `what` after timeoutMs. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs fn and returns the SDK error it throws (fails the test when nothing is thrown). */
export async function sdkError(
  fn: () => Promise<unknown>,
): Promise<{ code: string; message: string; requestId: string }> {
  try {
    await fn();
  } catch (err: any) {
    return { code: err.code, message: err.message, requestId: err.requestId };
  }
  throw new Error("expected the call to fail");
}

/** The SDK error code a call fails with, or "ok" when it succeeds. */
export const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => "ok",
    (e: any) => String(e.code),
  );

export function tempDir(prefix = "openvod-media-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

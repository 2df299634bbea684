// Assembles a running openvod: store, blobs, media tools, worker pool and HTTP server.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import { LocalBlobStore } from "./blobs/local.js";
import { openBlobStore } from "./blobs/open.js";
import type { Config } from "./config.js";
import { Urls, type Deps } from "./domain/deps.js";
import { EventHub } from "./domain/events.js";
import { sweepUploads } from "./domain/uploads.js";
import "./domain/procedure.js";
import { PushDispatcher } from "./events/push.js";
import { registerTestHooks, TestClock } from "./http/testHooks.js";
import { buildServer } from "./http/server.js";
import { buildHealthServer } from "./http/health.js";
import { locateMediaTools } from "./media/tools.js";
import { capabilities, missingFeatures } from "./media/jobs/caps.js";
import { WorkerPool } from "./queue/pool.js";
import { TaskHolds } from "./queue/testHolds.js";
import { segmentWork } from "./workers/segments.js";
import { openStore } from "./store/open.js";
import { taskHandlers } from "./workers/index.js";

export interface Running {
  url: string;
  deps: Deps;
  close(): Promise<void>;
}

const PURGE_EVERY_MS = 60_000;
const PURGE_BATCH = 500;
/** Events nobody pulled are kept this long (4 days, as the cloud keeps them). */
const EVENT_RETENTION_MS = 4 * 24 * 3600 * 1000;

export function createLogger(level: string): Logger {
  // Logs go to stderr: stdout carries only the "listening" line that scripts wait for.
  return pino(
    {
      level,
      redact: {
        paths: ["req.headers.authorization", "*.secretKey", "*.SecretKey", "*.Signature"],
        censor: "[redacted]",
      },
    },
    pino.destination(2),
  );
}

export async function startOpenvod(
  config: Config,
  log: Logger = createLogger(config.logLevel),
): Promise<Running> {
  const tools = await locateMediaTools();
  log.info(
    { ffmpeg: tools.ffmpeg, version: tools.ffmpegVersion, ffprobe: tools.ffprobe, source: tools.source },
    "media tools",
  );
  // Once, in the background (the jobs reuse the listing): what this ffmpeg cannot do.
  capabilities(tools).then(
    (caps) => {
      const missing = missingFeatures(caps);
      if (missing.length) log.warn({ ffmpeg: tools.ffmpeg, missing }, "features this ffmpeg cannot do");
    },
    (err: unknown) => log.warn({ err }, "could not list the capabilities of ffmpeg"),
  );

  const filesDir = LocalBlobStore.filesDir(config.dataDir);
  const tmpDir = join(config.dataDir, "tmp");
  // Scratch files of tasks cut short by a crash are useless: their tasks run again from scratch.
  // Not in cluster mode: other processes may share this data directory and be using theirs.
  if (!config.databaseUrl) await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  await mkdir(filesDir, { recursive: true });

  // Roles (OPENVOD_ROLE): api serves HTTP only; worker runs the task pool, the callback
  // dispatcher and purging, with /healthz alone on its port; all does both (the only role the
  // embedded SQLite store allows, config.ts refuses the others without PostgreSQL).
  const runsApi = config.role !== "worker";
  const runsWorkers = config.role !== "api";
  const store = await openStore(config, log);
  await store.ensureDefaultApp(config.appId, Date.now());
  const released = await store.releaseAllLeases();
  if (released) log.info({ tasks: released }, "re-queued tasks interrupted by the last stop");

  let pool: WorkerPool | undefined;
  const clock = new TestClock();
  const deps: Deps = {
    config,
    store,
    blobs: await openBlobStore(config, log),
    tools,
    urls: new Urls(),
    log,
    events: new EventHub(),
    wakeWorkers: () => pool?.wake(),
    now: () => clock.now(),
  };
  // Test hooks only: production pools have no holds.
  const holds = config.testHooks && runsWorkers ? new TaskHolds() : undefined;
  if (runsWorkers) pool = new WorkerPool(deps, taskHandlers, segmentWork(deps), holds);
  const pusher = runsWorkers ? new PushDispatcher(deps) : undefined;
  // Cluster mode: other processes' submissions wake this pool, their events wake this
  // process's long-polling PullEvents and callback dispatcher.
  await store.subscribe?.(
    () => pool?.wake(),
    (appId) => deps.events.notify(appId),
  );

  const server = runsApi
    ? await buildServer(deps)
    : buildHealthServer(() => ({
        role: config.role,
        leaseOwner: pool?.leaseOwner,
        tasksRunning: pool?.activeTasks ?? 0,
      }));
  if (config.testHooks) registerTestHooks(server, deps, clock, holds);
  await server.listen({ host: config.host, port: config.port });
  const addr = server.server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.port;
  const hostPart = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${hostPart}:${port}`;
  deps.urls.base = config.publicUrl ?? url;
  pool?.start();
  pusher?.start();

  let purging = false;
  const purge = setInterval(async () => {
    if (purging || !runsWorkers) return;
    purging = true;
    try {
      const before = Date.now() - config.taskRetentionHours * 3600 * 1000;
      // Small batches with a yield between them, so the API never waits on a long delete.
      while ((await store.purgeTasks(before, PURGE_BATCH)) === PURGE_BATCH)
        await new Promise((r) => setImmediate(r));
      await store.purgeEvents(deps.now() - EVENT_RETENTION_MS);
      // Uses of signatures that have expired: such a signature is refused before its uses count.
      await store.purgeSignatureUses(deps.now());
    } catch (err) {
      log.error({ err }, "purging old tasks failed");
    } finally {
      purging = false;
    }
  }, PURGE_EVERY_MS);
  purge.unref();

  // Upload sessions past their expiry (with their uncommitted files and incomplete multipart
  // uploads) go, on the processes that receive uploads (their files are local to them).
  let sweeping = false;
  const sweep = setInterval(async () => {
    if (sweeping || !runsApi) return;
    sweeping = true;
    await sweepUploads(deps)
      .catch((err) => log.error({ err }, "sweeping expired uploads failed"))
      .finally(() => (sweeping = false));
  }, PURGE_EVERY_MS);
  sweep.unref();

  return {
    url,
    deps,
    async close() {
      clearInterval(purge);
      clearInterval(sweep);
      await server.close();
      await pool?.stop();
      await pusher?.stop();
      await store.close();
    },
  };
}

// Assembles a running openvod: store, blobs, media tools, worker pool and HTTP server.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import { LocalBlobStore } from "./blobs/local.js";
import type { Config } from "./config.js";
import { Urls, type Deps } from "./domain/deps.js";
import { EventHub } from "./domain/events.js";
import "./domain/procedure.js";
import "./domain/taskkinds.js";
import { PushDispatcher } from "./events/push.js";
import { registerTestHooks, TestClock } from "./http/testHooks.js";
import { buildServer } from "./http/server.js";
import { locateMediaTools } from "./media/tools.js";
import { WorkerPool } from "./queue/pool.js";
import { SqliteStore } from "./store/sqlite.js";
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

  const filesDir = LocalBlobStore.filesDir(config.dataDir);
  const tmpDir = join(config.dataDir, "tmp");
  // Scratch files of tasks cut short by a crash are useless: their tasks run again from scratch.
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  await mkdir(filesDir, { recursive: true });

  const store = new SqliteStore(join(config.dataDir, "openvod.db"));
  await store.ensureDefaultApp(config.appId, Date.now());
  const released = await store.releaseAllLeases();
  if (released) log.info({ tasks: released }, "re-queued tasks interrupted by the last stop");

  let pool: WorkerPool | undefined;
  const clock = new TestClock();
  const deps: Deps = {
    config,
    store,
    blobs: new LocalBlobStore(filesDir),
    tools,
    urls: new Urls(),
    log,
    events: new EventHub(),
    wakeWorkers: () => pool?.wake(),
    now: () => clock.now(),
  };
  pool = new WorkerPool(deps, taskHandlers);
  const pusher = new PushDispatcher(deps);

  const server = await buildServer(deps);
  if (config.testHooks) registerTestHooks(server, deps, clock);
  await server.listen({ host: config.host, port: config.port });
  const addr = server.server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.port;
  const hostPart = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${hostPart}:${port}`;
  deps.urls.base = config.publicUrl ?? url;
  pool.start();
  pusher.start();

  let purging = false;
  const purge = setInterval(async () => {
    if (purging) return;
    purging = true;
    try {
      const before = Date.now() - config.taskRetentionHours * 3600 * 1000;
      // Small batches with a yield between them, so the API never waits on a long delete.
      while ((await store.purgeTasks(before, PURGE_BATCH)) === PURGE_BATCH)
        await new Promise((r) => setImmediate(r));
    } catch (err) {
      log.error({ err }, "purging old tasks failed");
    } finally {
      purging = false;
    }
  }, PURGE_EVERY_MS);
  purge.unref();

  return {
    url,
    deps,
    async close() {
      clearInterval(purge);
      await server.close();
      await pool!.stop();
      await pusher.stop();
      await store.close();
    },
  };
}

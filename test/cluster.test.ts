// Cluster mode end to end: 2 API processes and 3 worker processes (`openvod serve --role ...`)
// on one PostgreSQL database and one shared data directory. 500 tasks go in through both APIs;
// one worker is killed (-9) in the middle of a download, another while it holds claimed tasks it
// has not started on. Every task ends FINISH exactly once with the right outputs, the killed
// workers' tasks are taken over within the lease time, and events pulled and confirmed
// alternately through both APIs arrive exactly once.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { locateMediaTools } from "../src/media/tools.js";
import { makeAudio, makeVideo } from "./helpers/media.js";
import { createTestDatabase, sql, type TestDatabase } from "./helpers/pg.js";
import {
  FileServer,
  REPO_ROOT,
  startOpenvod,
  tempDir,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

const TOTAL_TASKS = 500;
const LEASE_MS = 3000;
/**
 * How soon after a kill the victim's tasks must run again: the rest of the lease (renewed every
 * second, so at most LEASE_MS), an idle worker's poll (1 s), and slack for a loaded 2-core CI.
 */
const TAKEOVER_MS = LEASE_MS + 1000 + 3000;
const hash = (alg: string, b: Buffer) => createHash(alg).update(b).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Runs fn over items with at most `limit` in flight. */
async function forEachLimited<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

interface Source {
  name: string;
  bytes: Buffer;
  fileId: string;
}

describe("cluster: 2 API + 3 worker processes on PostgreSQL", () => {
  let db: TestDatabase;
  let dir: string;
  let dataDir: string;
  let files: FileServer;
  const procs: OpenvodProcess[] = [];
  let api1: OpenvodProcess;
  let api2: OpenvodProcess;
  let workers: OpenvodProcess[] = [];
  let env: Record<string, string>;

  const start = async (role: string, extra: Record<string, string> = {}) => {
    const p = await startOpenvod({ dataDir, env: { ...env, OPENVOD_ROLE: role, ...extra } });
    procs.push(p);
    return p;
  };
  /** The processes whose tasks are visible: alternate between the two APIs. */
  const vodOf = (i: number): Vod => (i % 2 === 0 ? api1 : api2).client();
  const ownerOf = async (taskId: string): Promise<string | undefined> => {
    const rows = await sql<{ lease_owner: string | null }>(
      db.url,
      "SELECT lease_owner FROM tasks WHERE task_id = $1",
      [taskId],
    );
    return rows[0]?.lease_owner ?? undefined;
  };
  const workerByOwner = (owner: string) => workers.find((w) => owner.startsWith(`worker-${w.child.pid}-`));

  before(async () => {
    db = await createTestDatabase("openvod_test_cluster");
    dir = tempDir("openvod-cluster-media-");
    dataDir = tempDir("openvod-cluster-data-");
    const tools = await locateMediaTools();
    await Promise.all([
      makeVideo(tools, join(dir, "a.mp4"), { width: 160, height: 120, seconds: 1 }),
      makeVideo(tools, join(dir, "b.mp4"), { width: 128, height: 96, seconds: 1, audio: false }),
      makeAudio(tools, join(dir, "c.m4a"), 1),
    ]);
    files = await new FileServer(dir).start();
    env = {
      OPENVOD_DATABASE_URL: db.url,
      OPENVOD_LEASE_MS: String(LEASE_MS),
      OPENVOD_WORKERS: "2",
      OPENVOD_RATE_LIMIT: "0",
    };
    // API 1 first: its address is the public URL every other process puts in FileUrls (one
    // machine, one shared data directory, so any API process serves any file).
    api1 = await start("api");
    env.OPENVOD_PUBLIC_URL = api1.url;
    [api2, ...workers] = await Promise.all([start("api"), start("worker"), start("worker"), start("worker")]);
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.kill9()));
    await Promise.all(procs.map((p) => p.stop()));
    await files?.stop();
    await db?.drop();
    const { rmSync } = await import("node:fs");
    for (const d of [dir, dataDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("runs every task exactly once through worker crashes, and delivers every event once", async (t) => {
    const submitted: { taskId: string; kind: "pull" | "attributes"; source: Source }[] = [];
    const health = (await (await fetch(`${workers[0]!.url}/healthz`)).json()) as any;
    assert.equal(health.role, "worker");
    assert.equal(
      (await fetch(`${workers[0]!.url}/`, { method: "POST", body: "{}" })).status,
      404,
      "no API on a worker",
    );

    // 1. Three media items pulled in through the APIs: the sources of everything below.
    const sources: Source[] = ["a.mp4", "b.mp4", "c.m4a"].map((name) => ({
      name,
      bytes: readFileSync(join(dir, name)),
      fileId: "",
    }));
    await Promise.all(
      sources.map(async (s, i) => {
        const vod = vodOf(i);
        const { TaskId } = await vod.PullUpload({
          MediaUrl: `${files.url}/${s.name}`,
          MediaName: `seed-${s.name}`,
        });
        submitted.push({ taskId: TaskId!, kind: "pull", source: s });
        const d: any = await until(`seed ${s.name}`, async () => {
          const d: any = await vod.DescribeTaskDetail({ TaskId: TaskId! });
          return d.Status === "FINISH" && d;
        });
        assert.equal(d.PullUploadTask.ErrCode, 0, d.PullUploadTask.Message);
        s.fileId = d.PullUploadTask.FileId;
      }),
    );

    // 2. kill -9 a worker in the middle of a download: the source sends half the file, then
    // stalls until the worker holding the task is dead.
    const clip = sources[0]!.bytes;
    const stall = { serve: false, hits: [] as number[] };
    files.routes.set("/stall.mp4", (_req: IncomingMessage, res: ServerResponse) => {
      stall.hits.push(Date.now());
      res.writeHead(200, { "content-length": clip.length, "content-type": "video/mp4" });
      if (stall.serve) return void res.end(clip);
      res.write(clip.subarray(0, clip.length >> 1));
    });
    const slow = await api2
      .client()
      .PullUpload({ MediaUrl: `${files.url}/stall.mp4`, MediaName: "slow-pull" });
    submitted.push({ taskId: slow.TaskId!, kind: "pull", source: sources[0]! });
    await until("the slow pull to be downloading", async () => stall.hits.length === 1);
    const slowOwner = await until("the slow pull's lease owner", () => ownerOf(slow.TaskId!));
    const victim1 = workerByOwner(slowOwner);
    assert.ok(victim1, `a worker process holds ${slowOwner}`);
    stall.serve = true;
    const killed1At = Date.now();
    await victim1.kill9();
    workers = workers.filter((w) => w !== victim1);
    // An orchestrator would start a replacement; it joins while the work goes on.
    const replacement = start("worker");

    // 3. The bulk, alternating between the two APIs: hashes of the three files, and a few pulls.
    const bulk = (n: number, pulls: number) =>
      forEachLimited(
        Array.from({ length: n }, (_, i) => i),
        8,
        async (i) => {
          const source = sources[i % sources.length]!;
          const vod = vodOf(i);
          if (i < pulls) {
            const { TaskId } = await vod.PullUpload({
              MediaUrl: `${files.url}/${source.name}`,
              MediaName: `bulk-${i}`,
            });
            submitted.push({ taskId: TaskId!, kind: "pull", source });
          } else {
            const { TaskId } = await vod.DescribeFileAttributes({ FileId: source.fileId });
            submitted.push({ taskId: TaskId!, kind: "attributes", source });
          }
        },
      );
    const FROZEN = 30;
    const firstHalf = 230;
    await bulk(firstHalf, 4);
    workers.push(await replacement);

    // The slow pull was taken over within the lease time and downloaded again from the start.
    await until("the slow pull to be taken over", async () => stall.hits.length === 2, TAKEOVER_MS + 5000);
    assert.ok(stall.hits[1]! - killed1At <= TAKEOVER_MS, `taken over after ${stall.hits[1]! - killed1At} ms`);
    t.diagnostic(`download killed mid-way: taken over ${stall.hits[1]! - killed1At} ms after the kill`);

    // 4. kill -9 a worker between claim and start. Freeze every worker, queue tasks, lock the
    // media table (the first thing a DescribeFileAttributes task reads), let the workers go:
    // each claims tasks and blocks right there. Kill one of them while it holds claimed tasks
    // it has done nothing with, then let the others proceed.
    await until(
      "the queue to drain",
      async () => {
        const r = await sql(
          db.url,
          "SELECT COUNT(*)::int AS n FROM tasks WHERE status IN ('WAITING', 'PROCESSING')",
        );
        return r[0].n === 0;
      },
      60_000,
    );
    for (const w of workers) w.child.kill("SIGSTOP");
    const frozenStart = submitted.length;
    await bulk(FROZEN, 0);
    const frozenIds = submitted.slice(frozenStart).map((s) => s.taskId);
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    let victim2Tasks: string[] = [];
    let killed2At = 0;
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE media IN ACCESS EXCLUSIVE MODE");
      for (const w of workers) w.child.kill("SIGCONT");
      const victim2 = workers[0]!;
      const prefix = `worker-${victim2.child.pid}-%`;
      victim2Tasks = await until("a worker to hold claimed tasks", async () => {
        const rows = await sql<{ task_id: string }>(
          db.url,
          "SELECT task_id FROM tasks WHERE status = 'PROCESSING' AND lease_owner LIKE $1",
          [prefix],
        );
        return rows.length === 2 && rows.map((r) => r.task_id);
      });
      for (const t of victim2Tasks) assert.ok(frozenIds.includes(t));
      killed2At = Date.now();
      await victim2.kill9();
      workers = workers.filter((w) => w !== victim2);
    } finally {
      await locker.query("ROLLBACK").catch(() => {});
      await locker.end();
    }
    await until(
      "the claimed tasks of the dead worker to be taken over",
      async () => {
        const rows = await sql<{ n: number }>(
          db.url,
          "SELECT COUNT(*)::int AS n FROM tasks WHERE task_id = ANY($1) AND attempts = 2",
          [victim2Tasks],
        );
        return rows[0]!.n === victim2Tasks.length;
      },
      TAKEOVER_MS + 5000,
    );
    const takeover2 = Date.now() - killed2At;
    assert.ok(takeover2 <= TAKEOVER_MS + 500, `taken over after ${takeover2} ms`);
    t.diagnostic(
      `${victim2Tasks.length} claimed, unstarted tasks: taken over ${takeover2} ms after the kill`,
    );

    // 5. The rest, up to 499; the 500th checks that a long poll wakes across processes.
    await bulk(TOTAL_TASKS - 1 - submitted.length, 0);
    assert.equal(submitted.length, TOTAL_TASKS - 1);

    // Every task through DescribeTasks, paging alternately through both APIs.
    const seen = new Map<string, string>();
    await until(
      "every task to finish",
      async () => {
        seen.clear();
        let token = "";
        for (let page = 0; ; page++) {
          const r: any = await vodOf(page).DescribeTasks({
            Limit: 100,
            ...(token ? { ScrollToken: token } : {}),
          });
          for (const t of r.TaskSet) {
            assert.ok(!seen.has(t.TaskId), `listed twice: ${t.TaskId}`);
            seen.set(t.TaskId, t.Status);
          }
          token = r.ScrollToken;
          if (!token) break;
        }
        return [...seen.values()].every((s) => s === "FINISH") && seen.size === submitted.length;
      },
      60_000,
    );
    assert.deepEqual(new Set(seen.keys()), new Set(submitted.map((s) => s.taskId)));

    // Outputs present and right: the hashes of the source, the pulled bytes behind FileUrl.
    const pulledFileIds = new Set<string>();
    await forEachLimited(submitted, 8, async (s, i) => {
      const d: any = await vodOf(i).DescribeTaskDetail({ TaskId: s.taskId });
      assert.equal(d.Status, "FINISH");
      if (s.kind === "attributes") {
        const t = d.DescribeFileAttributesTask;
        assert.equal(t.ErrCode, 0, t.Message);
        assert.equal(t.FileId, s.source.fileId);
        assert.equal(t.Output.Md5, hash("md5", s.source.bytes));
        assert.equal(t.Output.Sha1, hash("sha1", s.source.bytes));
      } else {
        const t = d.PullUploadTask;
        assert.equal(t.ErrCode, 0, t.Message);
        assert.ok(t.FileUrl.startsWith(`${api1.url}/files/`), t.FileUrl);
        const body = Buffer.from(await (await fetch(t.FileUrl)).arrayBuffer());
        assert.equal(hash("sha256", body), hash("sha256", s.source.bytes));
        pulledFileIds.add(t.FileId);
      }
    });
    const pulls = submitted.filter((s) => s.kind === "pull").length;
    assert.equal(pulledFileIds.size, pulls, "one media item per pull");
    const media: any = await api2.client().SearchMedia({ Limit: 100 });
    assert.equal(media.TotalCount, pulls, "no media item from a lost attempt");
    // Exactly once in the database too: the killed attempts never finished anything.
    const attempts = await sql<{ attempts: number; n: number }>(
      db.url,
      "SELECT attempts, COUNT(*)::int AS n FROM tasks GROUP BY attempts ORDER BY attempts",
    );
    const retried = attempts.filter((a) => a.attempts > 1).reduce((n, a) => n + a.n, 0);
    assert.equal(retried, 1 + victim2Tasks.length, `attempts: ${JSON.stringify(attempts)}`);

    // 6. Events: pull through API 1 and API 2 alternately, confirm each batch through the other.
    const eventTaskIds = new Map<string, number>();
    const record = (events: any[]) => {
      for (const e of events) {
        const payload = e.PullCompleteEvent ?? e.DescribeFileAttributesCompleteEvent;
        assert.ok(payload, `an event of a task: ${e.EventType}`);
        eventTaskIds.set(payload.TaskId, (eventTaskIds.get(payload.TaskId) ?? 0) + 1);
      }
    };
    for (let round = 0; eventTaskIds.size < submitted.length; round++) {
      assert.ok(round < 200, "events keep coming");
      const r: any = await vodOf(round).PullEvents({});
      record(r.EventSet);
      if (r.EventSet.length) {
        await vodOf(round + 1).ConfirmEvents({ EventHandles: r.EventSet.map((e: any) => e.EventHandle) });
      }
    }
    for (const [taskId, n] of eventTaskIds) assert.equal(n, 1, `events of ${taskId}`);
    for (const api of [api1, api2]) {
      assert.equal(((await api.client().DescribeEventsState({})) as any).CountOfEventsToPull, 0);
    }

    // The 500th task: a PullEvents waiting on API 2 wakes when a worker finishes a task that
    // API 1 queued (NOTIFY openvod_events), well before its 5 s long poll runs out.
    const waiting = (async () => {
      const t0 = Date.now();
      const r: any = await api2.client().PullEvents({});
      return { events: r.EventSet as any[], ms: Date.now() - t0 };
    })();
    await sleep(300);
    const last = await api1.client().DescribeFileAttributes({ FileId: sources[1]!.fileId });
    submitted.push({ taskId: last.TaskId!, kind: "attributes", source: sources[1]! });
    const woke = await waiting;
    assert.equal(woke.events.length, 1);
    assert.equal(woke.events[0].DescribeFileAttributesCompleteEvent.TaskId, last.TaskId);
    assert.equal(
      woke.events[0].DescribeFileAttributesCompleteEvent.Output.Md5,
      hash("md5", sources[1]!.bytes),
    );
    assert.ok(woke.ms < 4000, `woke after ${woke.ms} ms`);
    t.diagnostic(`PullEvents on API 2 woke ${woke.ms} ms after it began (task queued 300 ms in, via API 1)`);
    await api1.client().ConfirmEvents({ EventHandles: [woke.events[0].EventHandle] });
    assert.equal(submitted.length, TOTAL_TASKS);
    const total = await sql<{ n: number }>(
      db.url,
      "SELECT COUNT(*)::int AS n FROM tasks WHERE status = 'FINISH'",
    );
    assert.equal(total[0]!.n, TOTAL_TASKS);
  });
});

describe("openvod serve --role", () => {
  const serve = (env: Record<string, string>, ...args: string[]) => {
    const dataDir = tempDir("openvod-role-");
    const r = spawnSync(process.execPath, [join(REPO_ROOT, "dist/src/cli/main.js"), "serve", ...args], {
      env: { ...process.env, OPENVOD_DATA_DIR: dataDir, OPENVOD_PORT: "0", OPENVOD_DATABASE_URL: "", ...env },
      encoding: "utf8",
      timeout: 20_000,
    });
    return { status: r.status, stderr: r.stderr };
  };

  it("refuses api and worker roles on the embedded database, and unknown roles", () => {
    for (const role of ["api", "worker"]) {
      const r = serve({}, "--role", role, "--public-url", "http://x");
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`OPENVOD_ROLE=${role} needs OPENVOD_DATABASE_URL`));
    }
    const bad = serve({ OPENVOD_ROLE: "both" });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /OPENVOD_ROLE must be api, worker or all/);
  });

  it("refuses a worker without OPENVOD_PUBLIC_URL, and a database URL that is not PostgreSQL", () => {
    const w = serve({ OPENVOD_ROLE: "worker", OPENVOD_DATABASE_URL: "postgres://127.0.0.1:1/x" });
    assert.equal(w.status, 2);
    assert.match(w.stderr, /OPENVOD_ROLE=worker needs OPENVOD_PUBLIC_URL/);
    const url = serve({ OPENVOD_DATABASE_URL: "mysql://secret@db/x" });
    assert.equal(url.status, 2);
    assert.match(url.stderr, /must start with postgres:\/\//);
    assert.doesNotMatch(url.stderr, /secret/, "the URL (and its password) is not echoed");
  });
});

// The store contract, run on both implementations: SQLite in a temp file and PostgreSQL in a
// database of the test's own. Every case works on explicit times, so nothing sleeps.
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { loadMigrations, migrationsDir } from "../src/store/migrate.js";
import { LISTEN_APPLICATION_NAME, PostgresStore } from "../src/store/postgres.js";
import { DuplicateSession } from "../src/store/sessions.js";
import { SqliteStore } from "../src/store/sqlite.js";
import type {
  MediaRow,
  NewEvent,
  NewTask,
  Store,
  TaskRow,
  UploadObject,
  UploadSessionRow,
} from "../src/store/types.js";
import { createTestDatabase, sql, type TestDatabase } from "./helpers/pg.js";
import { tempDir } from "./helpers/server.js";

const APP = 1250000000;
const OTHER_APP = 1500000001;
const ABORT = { errCode: 70000, errCodeExt: "InternalError", message: "aborted by the test" };

interface Backend {
  /** A store on the backend's database, fresh for each describe block. */
  open(): Promise<Store>;
  /** Another store (PostgreSQL: another pool; SQLite: another connection) on the same database. */
  second(): Promise<Store>;
  cleanup(): Promise<void>;
  /** PostgreSQL: the URL of the current database. */
  url?(): string;
}

function sqliteBackend(): Backend {
  const dir = tempDir("openvod-store-");
  let n = 0;
  let file = "";
  const opened: Store[] = [];
  return {
    async open() {
      file = join(dir, `store-${n++}.db`);
      const s = new SqliteStore(file);
      opened.push(s);
      return s;
    },
    async second() {
      const s = new SqliteStore(file);
      opened.push(s);
      return s;
    },
    async cleanup() {
      for (const s of opened) await s.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresBackend(): Backend {
  const dbs: TestDatabase[] = [];
  const opened: Store[] = [];
  let current: TestDatabase | undefined;
  return {
    async open() {
      current = await createTestDatabase("openvod_test_store");
      dbs.push(current);
      const s = await PostgresStore.open(current.url);
      opened.push(s);
      return s;
    },
    async second() {
      const s = await PostgresStore.open(current!.url);
      opened.push(s);
      return s;
    },
    async cleanup() {
      for (const s of opened) await s.close().catch(() => {});
      for (const d of dbs) await d.drop();
    },
    url: () => current!.url,
  };
}

let taskSeq = 0;
function task(o: Partial<NewTask> = {}): NewTask {
  const n = ++taskSeq;
  return {
    taskId: `${APP}-test-${n.toString().padStart(6, "0")}t0`,
    appId: APP,
    taskType: "DescribeFileAttributesTask",
    priority: 0,
    fileId: "",
    sessionId: "",
    sessionContext: "",
    input: { n, nested: { list: [1, "two", null], ok: true } },
    state: {},
    createTime: 1_000_000 + n,
    ...o,
  };
}

function media(fileId: string, o: Partial<MediaRow> = {}): MediaRow {
  return {
    fileId,
    appId: APP,
    name: `name-${fileId}`,
    description: "",
    classId: 0,
    type: "mp4",
    category: "Video",
    blobKey: `${APP}/${fileId}/f0.mp4`,
    coverKey: "",
    metaData: { Size: 100, Width: 320 },
    sourceType: "Record",
    sourceContext: "",
    storageRegion: "ap-guangzhou",
    expireTime: "9999-12-31T23:59:59Z",
    tags: [],
    createTime: 5_000,
    updateTime: 5_000,
    ...o,
  };
}

function event(appId: number, n: number, delivery: "PULL" | "PUSH" = "PULL", createTime = 1_000): NewEvent {
  return {
    appId,
    eventType: "PullComplete",
    content: { EventType: "PullComplete", PullCompleteEvent: { TaskId: `t${n}`, Order: n } },
    delivery,
    createTime,
  };
}

/** Inserts a task and runs it to FINISH with the given effects (how media rows come to be). */
async function finished(store: Store, t: NewTask, effects: Parameters<Store["finishTask"]>[3] = {}) {
  // First in line, ahead of whatever else is queued.
  await store.insertTask({ ...t, priority: 1_000_000 });
  // Claim until it is ours (other WAITING tasks may be older): claim them all, finish ours.
  const owner = `owner-${t.taskId}`;
  const claimed: TaskRow[] = [];
  for (;;) {
    const c = await store.claimTask(owner, 10, 60_000);
    assert.ok(c, "the task can be claimed");
    claimed.push(c);
    if (c.taskId === t.taskId) break;
  }
  const ok = await store.finishTask(
    t.taskId,
    owner,
    { errCode: 0, errCodeExt: "", message: "", state: { progress: 100 }, finishTime: t.createTime + 1 },
    effects,
  );
  assert.equal(ok, "finished");
  for (const c of claimed) if (c.taskId !== t.taskId) await store.releaseTask(c.taskId, owner, c.state);
}

async function addMedia(store: Store, m: MediaRow): Promise<void> {
  await finished(store, task({ appId: m.appId, taskType: "PullUpload" }), { insertMedia: [m] });
}

/** Finishes everything unfinished, leased or not (so later cases start from an empty queue). */
async function drain(store: Store, now = 1e13): Promise<void> {
  for (;;) {
    const t = await store.claimTask("drain", now, 1);
    if (!t) return;
    const done = { errCode: 0, errCodeExt: "", message: "", state: {}, finishTime: now };
    // A task whose abort was requested can only end ABORTED.
    if ((await store.finishTask(t.taskId, "drain", done)) === "abort")
      await store.finishTask(t.taskId, "drain", { ...done, status: "ABORTED" });
  }
}

function storeSuite(name: string, makeBackend: () => Backend, kind: "sqlite" | "postgres") {
  describe(`store: ${name}`, () => {
    let backend: Backend;
    let store: Store;
    before(async () => {
      backend = makeBackend();
      store = await backend.open();
      await store.ensureDefaultApp(APP, 1);
    });
    after(async () => backend?.cleanup());

    it("keeps applications: the default one once, then created ones in order", async () => {
      await store.ensureDefaultApp(APP, 2);
      let { total, apps } = await store.listApps(0, 10);
      assert.equal(total, 1);
      assert.deepEqual(apps[0], {
        subAppId: APP,
        name: "default",
        description: "The account's default application",
        status: "On",
        createTime: 1,
        isDefault: true,
      });
      assert.equal(await store.nextAppId(OTHER_APP), OTHER_APP);
      const created = await store.createApp({
        subAppId: OTHER_APP,
        name: "second",
        description: "d",
        status: "On",
        createTime: 3,
        isDefault: false,
      });
      assert.equal(created, true);
      assert.equal(await store.nextAppId(OTHER_APP), OTHER_APP + 1);
      assert.equal(
        await store.createApp({
          subAppId: OTHER_APP,
          name: "x",
          description: "",
          status: "On",
          createTime: 4,
          isDefault: false,
        }),
        false,
        "an id already taken",
      );
      assert.equal(await store.updateApp(OTHER_APP, { status: "Off", name: "renamed" }), true);
      assert.equal(await store.updateApp(OTHER_APP, {}), true);
      assert.equal(await store.updateApp(42, { name: "x" }), false);
      ({ total, apps } = await store.listApps(1, 10));
      assert.equal(total, 2);
      assert.equal(apps.length, 1);
      assert.equal(apps[0]!.name, "renamed");
      assert.equal(apps[0]!.status, "Off");
      assert.equal(apps[0]!.isDefault, false);
      assert.equal(await store.getApp(42), undefined);
    });

    it("claims the highest priority first, then the oldest, and keeps the row intact", async () => {
      const a = task({ priority: 0 });
      const b = task({ priority: 5 });
      const c = task({ priority: 0 });
      const d = task({ priority: 5, sessionContext: "ctx", fileId: "f1" });
      const e = task({ priority: -3 });
      for (const t of [a, b, c, d, e]) await store.insertTask(t);
      assert.equal(await store.countRunnable(), 5);
      const order: string[] = [];
      for (;;) {
        const t = await store.claimTask("w1", 100, 1000);
        if (!t) break;
        order.push(t.taskId);
        if (t.taskId === d.taskId) {
          assert.equal(t.status, "PROCESSING");
          assert.equal(t.leaseOwner, "w1");
          assert.equal(t.leaseUntil, 1100);
          assert.equal(t.beginTime, 100);
          assert.equal(t.attempts, 1);
          assert.equal(t.finishTime, null);
          assert.equal(t.sessionContext, "ctx");
          assert.equal(t.fileId, "f1");
          assert.deepEqual(t.input, d.input);
          assert.deepEqual(t.state, {});
          assert.equal(typeof t.createTime, "number");
        }
      }
      assert.deepEqual(
        order,
        [b, d, a, c, e].map((t) => t.taskId),
      );
      const got = await store.getTask(APP, d.taskId);
      assert.equal(got?.status, "PROCESSING");
      assert.equal(await store.getTask(OTHER_APP, d.taskId), undefined, "another application's task");
      for (const id of order) {
        assert.equal(
          await store.finishTask(id, "w1", {
            errCode: 0,
            errCodeExt: "",
            message: "",
            state: {},
            finishTime: 200,
          }),
          "finished",
        );
      }
      assert.equal(await store.countRunnable(), 0);
    });

    it("never hands one task to two claimers racing on two connections", async () => {
      const other = await backend.second();
      const ids = new Set<string>();
      for (let i = 0; i < 50; i++) {
        const t = task({ priority: i % 3 });
        ids.add(t.taskId);
        await store.insertTask(t);
      }
      const got: { by: string; id: string }[] = [];
      const claimer = async (s: Store, by: string) => {
        for (;;) {
          const t = await s.claimTask(by, 1000, 60_000);
          if (!t) return;
          got.push({ by, id: t.taskId });
          assert.equal(t.leaseOwner, by);
        }
      };
      // Four claim loops per connection (a pool of several on PostgreSQL) all at once.
      await Promise.all([store, other].flatMap((s, i) => [0, 1, 2, 3].map((j) => claimer(s, `c${i}-${j}`))));
      assert.equal(got.length, 50, "each task claimed exactly once");
      assert.deepEqual(new Set(got.map((g) => g.id)), ids);
      if (kind === "postgres") {
        const byStore = new Set(got.map((g) => g.by.slice(0, 2)));
        assert.equal(byStore.size, 2, "both pools won some");
      }
      for (const g of got) {
        const ok = await other.finishTask(g.id, g.by, {
          errCode: 0,
          errCodeExt: "",
          message: "",
          state: {},
          finishTime: 1001,
        });
        assert.equal(ok, "finished");
      }
    });

    it("reclaims a task whose lease ran out; the old owner can neither renew nor finish it", async () => {
      const t = task();
      await store.insertTask(t);
      const first = await store.claimTask("dead", 1000, 100);
      assert.equal(first?.taskId, t.taskId);
      assert.equal(await store.heartbeat(t.taskId, "dead", 1150), "held", "renewed while it holds the lease");
      assert.equal(await store.claimTask("w2", 1100, 100), undefined, "the lease runs until 1150");
      const second = await store.claimTask("w2", 1151, 100);
      assert.equal(second?.taskId, t.taskId);
      assert.equal(second?.attempts, 2);
      assert.equal(second?.beginTime, 1000, "BeginProcessTime is the first claim's");
      assert.equal(second?.leaseOwner, "w2");

      assert.equal(await store.heartbeat(t.taskId, "dead", 5000, { progress: 50 }), "lost");
      const stale = await store.finishTask(
        t.taskId,
        "dead",
        { errCode: 0, errCodeExt: "", message: "", state: { from: "dead" }, finishTime: 1200 },
        { insertMedia: [media("9000000000000000001")], events: [event(APP, 1)] },
      );
      assert.equal(stale, "lost");
      assert.equal(await store.getMedia(APP, "9000000000000000001"), undefined, "no effect of a lost lease");
      assert.equal(await store.countPullableEvents(APP, 1_000_000), 0);
      assert.equal(await store.releaseTask(t.taskId, "dead", {}), false);

      assert.equal(await store.heartbeat(t.taskId, "w2", 1300, { progress: 50 }, [event(APP, 2)]), "held");
      assert.deepEqual((await store.getTask(APP, t.taskId))?.state, { progress: 50 });
      assert.equal((await store.getTask(APP, t.taskId))?.leaseUntil, 1300);
      assert.equal(await store.countPullableEvents(APP, 1_000_000), 1, "heartbeat events are written");
      const ok = await store.finishTask(t.taskId, "w2", {
        errCode: 70000,
        errCodeExt: "InternalError",
        message: "m",
        state: { done: true },
        finishTime: 1250,
      });
      assert.equal(ok, "finished");
      const done = await store.getTask(APP, t.taskId);
      assert.equal(done?.status, "FINISH");
      assert.equal(done?.errCode, 70000);
      assert.equal(done?.errCodeExt, "InternalError");
      assert.equal(done?.message, "m");
      assert.equal(done?.finishTime, 1250);
      assert.equal(done?.leaseOwner, null);
      assert.equal(done?.leaseUntil, null);
      assert.deepEqual(done?.state, { done: true });
      assert.equal(
        await store.finishTask(t.taskId, "w2", {
          errCode: 0,
          errCodeExt: "",
          message: "",
          state: {},
          finishTime: 1,
        }),
        "lost",
        "finished once only",
      );
      // Clean the event queue for the cases below.
      const pulled = await store.pullEvents(APP, 1_000_000, 1, 16);
      await store.confirmEvents(
        APP,
        pulled.map((e) => e.handle),
        1_000_000,
      );
    });

    it("commits a finish with all its effects, or nothing when one of them fails", async () => {
      await drain(store);
      const fileId = "5285890784246869930";
      const pullTask = task({ taskType: "PullUpload" });
      const follow = task({ taskType: "Procedure", fileId, priority: 9 });
      await store.insertTask(pullTask);
      const claimed = await store.claimTask("w", 2000, 60_000);
      assert.equal(claimed?.taskId, pullTask.taskId);
      const ok = await store.finishTask(
        pullTask.taskId,
        "w",
        { errCode: 0, errCodeExt: "", message: "", state: { progress: 100, fileId }, finishTime: 2001 },
        {
          insertMedia: [media(fileId, { tags: ["a", "b"], metaData: { Size: 10, Md5: "old" } })],
          events: [event(APP, 10), event(APP, 11)],
          insertTasks: [follow],
          putParts: [
            {
              appId: APP,
              fileId,
              kind: "Transcode",
              definition: 100010,
              item: { Definition: 100010, Url: "k1" },
              blobs: [`${APP}/${fileId}/t.mp4`],
              createTime: 2001,
            },
          ],
          mergeMetaData: { appId: APP, fileId, patch: { Md5: "new", Sha: "x" } },
        },
      );
      assert.equal(ok, "finished");
      const m = await store.getMedia(APP, fileId);
      assert.equal(m?.coverKey, "");
      assert.deepEqual(m?.metaData, { Size: 10, Md5: "new", Sha: "x" });
      assert.deepEqual(m?.tags, ["a", "b"]);
      assert.equal((await store.getTask(APP, pullTask.taskId))?.fileId, fileId, "listed under its media");
      assert.deepEqual(
        (await store.getMediaParts(APP, fileId)).map((p) => [p.kind, p.definition, p.item.Url, p.blobs]),
        [["Transcode", 100010, "k1", [`${APP}/${fileId}/t.mp4`]]],
      );
      const next = await store.claimTask("w", 2002, 60_000);
      assert.equal(next?.taskId, follow.taskId, "the task it started is queued");
      const events = await store.pullEvents(APP, 2002, 30_000, 16);
      assert.deepEqual(
        events.map((e) => (e.content.PullCompleteEvent as { TaskId: string }).TaskId),
        ["t10", "t11"],
      );
      await store.confirmEvents(
        APP,
        events.map((e) => e.handle),
        2003,
      );

      // A failing effect (the media item exists already) leaves the task PROCESSING, unchanged.
      await assert.rejects(
        store.finishTask(
          follow.taskId,
          "w",
          { errCode: 0, errCodeExt: "", message: "", state: { x: 1 }, finishTime: 2005 },
          { events: [event(APP, 12)], insertMedia: [media(fileId)], insertTasks: [task()] },
        ),
      );
      const still = await store.getTask(APP, follow.taskId);
      assert.equal(still?.status, "PROCESSING");
      assert.deepEqual(still?.state, {});
      assert.equal(await store.countPullableEvents(APP, 1e12), 0, "no event of a rolled-back finish");
      assert.equal(await store.countRunnable(), 1, "no task of a rolled-back finish");

      // Parts replace their kind and definition; deleting by kind (0 = every definition).
      await store.finishTask(
        follow.taskId,
        "w",
        { errCode: 0, errCodeExt: "", message: "", state: {}, finishTime: 2006 },
        {
          setCover: { appId: APP, fileId, coverKey: `${APP}/${fileId}/cover.jpg` },
          putParts: [
            {
              appId: APP,
              fileId,
              kind: "Transcode",
              definition: 100010,
              item: { v: 2 },
              blobs: [],
              createTime: 3,
            },
            {
              appId: APP,
              fileId,
              kind: "Transcode",
              definition: 100020,
              item: { v: 1 },
              blobs: [],
              createTime: 3,
            },
            {
              appId: APP,
              fileId,
              kind: "ImageSprite",
              definition: 10,
              item: { v: 1 },
              blobs: ["p/"],
              createTime: 3,
            },
          ],
        },
      );
      const covered = await store.getMedia(APP, fileId);
      assert.equal(covered?.coverKey, `${APP}/${fileId}/cover.jpg`);
      assert.equal(covered?.updateTime, 2006, "the cover moves updateTime");
      const parts = await store.getMediaParts(APP, fileId);
      assert.deepEqual(
        parts.map((p) => [p.kind, p.definition, p.item.v]),
        [
          ["ImageSprite", 10, 1],
          ["Transcode", 100010, 2],
          ["Transcode", 100020, 1],
        ],
      );
      assert.deepEqual(
        (await store.deleteMediaParts(APP, fileId, "Transcode", 100020)).map((p) => p.definition),
        [100020],
      );
      assert.deepEqual(
        (await store.deleteMediaParts(APP, fileId, "Transcode", 0)).map((p) => p.definition),
        [100010],
      );
      assert.deepEqual(
        (await store.getMediaParts(APP, fileId)).map((p) => p.kind),
        ["ImageSprite"],
      );
    });

    it("updates and deletes media, writing the delete's events with it", async () => {
      const fileId = "5285890784246869931";
      await addMedia(store, media(fileId));
      assert.equal(
        await store.updateMedia(APP, fileId, { name: "n2", tags: ["t"], classId: 3, updateTime: 9 }),
        true,
      );
      assert.equal(await store.updateMedia(APP, fileId, {}), true);
      assert.equal(await store.updateMedia(OTHER_APP, fileId, { name: "x" }), false);
      const m = await store.getMedia(APP, fileId);
      assert.equal(m?.name, "n2");
      assert.deepEqual(m?.tags, ["t"]);
      assert.equal(m?.classId, 3);
      assert.equal(m?.updateTime, 9);
      assert.equal(await store.deleteMedia(OTHER_APP, fileId, [event(OTHER_APP, 1)]), undefined);
      assert.equal(await store.countPullableEvents(OTHER_APP, 1e12), 0);
      const gone = await store.deleteMedia(APP, fileId, [event(APP, 20)]);
      assert.equal(gone?.fileId, fileId);
      assert.equal(await store.getMedia(APP, fileId), undefined);
      const [e] = await store.pullEvents(APP, 10, 30_000, 16);
      assert.equal(e?.eventType, "PullComplete");
      await store.confirmEvents(APP, [e!.handle], 11);
    });

    it("aborts WAITING tasks at once and asks PROCESSING ones to stop", async () => {
      await drain(store);
      const waiting = task();
      const running = task();
      await store.insertTask(running);
      assert.equal((await store.claimTask("w", 3000, 60_000))?.taskId, running.taskId);
      await store.insertTask(waiting);
      assert.equal(await store.abortTask(OTHER_APP, waiting.taskId, 3001, ABORT), "notFound");
      assert.equal(await store.abortTask(APP, "nope", 3001, ABORT), "notFound");
      assert.equal(await store.abortTask(APP, waiting.taskId, 3002, ABORT), "aborted");
      const aborted = await store.getTask(APP, waiting.taskId);
      assert.equal(aborted?.status, "ABORTED");
      assert.equal(aborted?.finishTime, 3002);
      assert.equal(aborted?.errCode, ABORT.errCode);
      assert.equal(aborted?.message, ABORT.message);
      assert.equal(await store.abortTask(APP, waiting.taskId, 3003, ABORT), "ended");
      assert.equal(await store.claimTask("w", 3004, 60_000), undefined, "aborted tasks never run");
      // releaseTask: back to the queue at once, the attempt not counted, progress kept.
      assert.equal(await store.releaseTask(running.taskId, "someone else", {}), false);
      assert.equal(await store.releaseTask(running.taskId, "w", { progress: 30 }), true);
      const again = await store.claimTask("w2", 3005, 60_000);
      assert.equal(again?.taskId, running.taskId);
      assert.equal(again?.attempts, 1);
      assert.equal(again?.abortRequest, null);
      assert.deepEqual(again?.state, { progress: 30 });

      // PROCESSING: the request is recorded; the worker sees it at its next heartbeat, and
      // cannot FINISH the task any more (nothing of its effects is written), only end it ABORTED.
      assert.equal(await store.heartbeat(running.taskId, "w2", 70_000), "held");
      assert.equal(await store.abortTask(APP, running.taskId, 3006, ABORT), "requested");
      assert.equal(
        await store.abortTask(APP, running.taskId, 3007, { ...ABORT, message: "2nd" }),
        "requested",
      );
      assert.equal((await store.getTask(APP, running.taskId))?.status, "PROCESSING");
      assert.equal(
        (await store.getTask(APP, running.taskId))?.abortRequest,
        ABORT.message,
        "the first reason",
      );
      assert.equal(await store.heartbeat(running.taskId, "w2", 70_000, { progress: 40 }), "abort");
      assert.equal(await store.heartbeat(running.taskId, "other", 70_000), "lost");
      const fileId = "9000000000000000077";
      const done = { errCode: 0, errCodeExt: "", message: "", state: {}, finishTime: 3008 };
      const r = await store.finishTask(running.taskId, "w2", done, {
        insertMedia: [media(fileId)],
        events: [event(APP, 7)],
      });
      assert.equal(r, "abort");
      assert.equal(await store.getMedia(APP, fileId), undefined, "no effect of an aborted task");
      assert.equal(await store.countPullableEvents(APP, 1e12), 0);
      const ended = { ...done, ...ABORT, status: "ABORTED" as const, state: { progress: 40 } };
      assert.equal(
        await store.finishTask(running.taskId, "w2", ended, { events: [event(APP, 8)] }),
        "finished",
      );
      const row = await store.getTask(APP, running.taskId);
      assert.equal(row?.status, "ABORTED");
      assert.equal(row?.message, ABORT.message);
      assert.equal(row?.leaseOwner, null);
      assert.deepEqual(row?.state, { progress: 40 });
      assert.equal(await store.countPullableEvents(APP, 1e12), 1, "its completion event is written");
      await store.confirmEvents(
        APP,
        (await store.pullEvents(APP, 1e12, 1, 16)).map((e) => e.handle),
        1e12,
      );
      assert.equal(await store.abortTask(APP, running.taskId, 3009, ABORT), "ended");
    });

    it("a requested abort outlives the worker: the next claim sees it", async () => {
      await drain(store);
      const t = task();
      await store.insertTask(t);
      await store.claimTask("dies", 4000, 100);
      assert.equal(await store.abortTask(APP, t.taskId, 4001, ABORT), "requested");
      const next = await store.claimTask("w", 4200, 60_000);
      assert.equal(next?.taskId, t.taskId);
      assert.equal(next?.abortRequest, ABORT.message);
      await drain(store);
    });

    it("DeleteMedia aborts the item's tasks, drops its parts, and nothing publishes into it", async () => {
      await drain(store);
      const fileId = "9000000000000000078";
      await addMedia(store, media(fileId));
      const part = (definition: number) => ({
        appId: APP,
        fileId,
        kind: "Transcode",
        definition,
        item: { Definition: definition },
        blobs: [`${APP}/${fileId}/v.f${definition}.mp4`],
        createTime: 5000,
      });
      const first = task({ fileId, taskType: "Procedure" });
      await finished(store, first, { putParts: [part(10)] });
      assert.equal((await store.getMediaParts(APP, fileId)).length, 1);
      const running = task({ fileId, taskType: "Procedure" });
      const metaOnly = task({ fileId });
      await store.insertTask({ ...running, priority: 1_000_000 });
      await store.insertTask({ ...metaOnly, priority: 1_000_000 });
      const claimed = [await store.claimTask("w", 5001, 60_000), await store.claimTask("w", 5001, 60_000)];
      assert.deepEqual(new Set(claimed.map((c) => c?.taskId)), new Set([running.taskId, metaOnly.taskId]));
      const waiting = task({ fileId, taskType: "Procedure" });
      const unrelated = task({ fileId: "9000000000000000079" });
      await store.insertTask(waiting);
      await store.insertTask(unrelated);

      const reason = { ...ABORT, message: "deleted" };
      assert.equal((await store.deleteMedia(APP, fileId, [], { now: 5002, reason }))?.fileId, fileId);
      assert.deepEqual(await store.getMediaParts(APP, fileId), [], "its parts go with it");
      assert.equal((await store.getTask(APP, waiting.taskId))?.status, "ABORTED");
      assert.equal((await store.getTask(APP, waiting.taskId))?.message, "deleted");
      assert.equal((await store.getTask(APP, running.taskId))?.abortRequest, "deleted");
      assert.equal((await store.getTask(APP, unrelated.taskId))?.status, "WAITING");
      assert.equal((await store.getTask(APP, unrelated.taskId))?.abortRequest, null);
      const done = { errCode: 0, errCodeExt: "", message: "", state: {}, finishTime: 5003 };
      assert.equal(await store.finishTask(running.taskId, "w", done, { putParts: [part(20)] }), "abort");
      assert.deepEqual(await store.getMediaParts(APP, fileId), []);

      // Without a request (e.g. the item was deleted by an older version): its effects are refused.
      const late = task({ fileId });
      await finished(store, task({ fileId: "x" }));
      await store.insertTask({ ...late, priority: 1_000_000 });
      assert.equal((await store.claimTask("w3", 5004, 60_000))?.taskId, late.taskId);
      const merge = { mergeMetaData: { appId: APP, fileId, patch: { Md5: "x" } } };
      assert.equal(await store.finishTask(late.taskId, "w3", done, merge), "mediaGone");
      assert.equal(
        await store.finishTask(late.taskId, "w3", done, { setCover: { appId: APP, fileId, coverKey: "c" } }),
        "mediaGone",
      );
      assert.equal(
        await store.finishTask(late.taskId, "w3", done),
        "finished",
        "no effects: nothing to refuse",
      );
      await drain(store);
    });

    it("lists tasks with filters and keyset paging, and finds a task by SessionId", async () => {
      await drain(store);
      const listApp = 1600000000;
      const ts: NewTask[] = [];
      for (let i = 0; i < 7; i++) {
        // Two tasks share each create time, so the tie-break (insertion order) is exercised.
        const t = task({
          appId: listApp,
          createTime: 50_000 + Math.floor(i / 2) * 10,
          fileId: i % 3 === 0 ? "fa" : "fb",
          sessionId: i === 4 ? "sess-1" : "",
          // The odd ones are claimed (and finished) first.
          priority: i % 2,
        });
        ts.push(t);
        await store.insertTask(t);
      }
      // Finish three of them, at distinct times, in a different order than created.
      const finishAt = new Map([
        [ts[5]!.taskId, 60_003],
        [ts[1]!.taskId, 60_001],
        [ts[3]!.taskId, 60_002],
      ]);
      for (let i = 0; i < 3; i++) {
        const claimed = await store.claimTask("l", 60_000, 60_000);
        assert.ok(claimed && finishAt.has(claimed.taskId));
        await store.finishTask(claimed.taskId, "l", {
          errCode: 0,
          errCodeExt: "",
          message: "",
          state: {},
          finishTime: finishAt.get(claimed.taskId)!,
        });
      }
      const base = {
        appId: listApp,
        sortField: "CreateTime" as const,
        order: "Desc" as const,
        notBefore: 0,
        limit: 100,
      };
      const ids = (rows: TaskRow[]) => rows.map((r) => ts.findIndex((t) => t.taskId === r.taskId));
      assert.deepEqual(ids(await store.listTasks(base)), [6, 5, 4, 3, 2, 1, 0]);
      assert.deepEqual(ids(await store.listTasks({ ...base, order: "Asc" })), [0, 1, 2, 3, 4, 5, 6]);
      // Paging: each page starts at the task the previous one named (inclusive).
      const page1 = await store.listTasks({ ...base, limit: 4 });
      assert.deepEqual(ids(page1), [6, 5, 4, 3]);
      const page2 = await store.listTasks({ ...base, limit: 4, fromTaskId: page1[3]!.taskId });
      assert.deepEqual(ids(page2), [3, 2, 1, 0]);
      const asc = await store.listTasks({ ...base, order: "Asc", limit: 3, fromTaskId: ts[2]!.taskId });
      assert.deepEqual(ids(asc), [2, 3, 4]);
      assert.deepEqual(await store.listTasks({ ...base, fromTaskId: "unknown" }), []);
      // Filters.
      assert.deepEqual(ids(await store.listTasks({ ...base, status: "FINISH" })), [5, 3, 1]);
      assert.deepEqual(ids(await store.listTasks({ ...base, status: "WAITING" })), [6, 4, 2, 0]);
      assert.deepEqual(ids(await store.listTasks({ ...base, fileId: "fa" })), [6, 3, 0]);
      assert.deepEqual(
        ids(await store.listTasks({ ...base, createAfter: 50_010, createBefore: 50_030 })),
        [5, 4, 3, 2],
      );
      assert.deepEqual(ids(await store.listTasks({ ...base, notBefore: 50_020 })), [6, 5, 4]);
      assert.deepEqual(ids(await store.listTasks({ ...base, finishAfter: 60_002 })), [5, 3]);
      assert.deepEqual(ids(await store.listTasks({ ...base, finishBefore: 60_002 })), [1]);
      const byFinish = { ...base, sortField: "FinishTime" as const };
      assert.deepEqual(ids(await store.listTasks({ ...byFinish, status: "FINISH" })), [5, 3, 1]);
      assert.deepEqual(ids(await store.listTasks({ ...byFinish, order: "Asc", limit: 5 })), [0, 2, 4, 6, 1]);
      assert.deepEqual(
        ids(await store.listTasks({ ...byFinish, order: "Asc", limit: 2, fromTaskId: ts[6]!.taskId })),
        [6, 1],
      );
      assert.deepEqual(ids(await store.listTasks({ ...base, appId: OTHER_APP + 77 })), []);

      const found = await store.findTaskBySession(listApp, "sess-1", 50_000);
      assert.equal(found?.taskId, ts[4]!.taskId);
      assert.equal(await store.findTaskBySession(listApp, "sess-1", 50_021), undefined, "older than since");
      assert.equal(await store.findTaskBySession(APP, "sess-1", 0), undefined, "another application");
      assert.equal(await store.findTaskBySession(listApp, "sess-2", 0), undefined);
      await drain(store);
    });

    it("takes a SessionId with the task insert: refused within the window, free after it", async () => {
      const app = 1650000000;
      const day = 24 * 3600 * 1000;
      const first = task({ appId: app, sessionId: "dedup", createTime: 10 * day });
      await store.insertTask(first);
      const again = task({ appId: app, sessionId: "dedup", createTime: 10 * day + 1 });
      await assert.rejects(store.insertTask(again), DuplicateSession);
      assert.equal(await store.getTask(app, again.taskId), undefined, "nothing written");
      // Another application, or no SessionId, is no duplicate.
      await store.insertTask(task({ appId: app + 1, sessionId: "dedup", createTime: 10 * day + 2 }));
      await store.insertTask(task({ appId: app, createTime: 10 * day + 3 }));
      await store.insertTask(task({ appId: app, createTime: 10 * day + 4 }));
      // Inside a transaction of effects (a finish that submits a follow-up) the same holds: the
      // whole finish is refused, as any failing effect refuses it.
      await drain(store);
      const parent = task({ appId: app, createTime: 10 * day + 5 });
      await store.insertTask(parent);
      const claimed = await store.claimTask("s", 10 * day + 6, 60_000);
      assert.equal(claimed?.taskId, parent.taskId);
      const end = {
        errCode: 0,
        errCodeExt: "",
        message: "",
        status: "FINISH" as const,
        state: {},
        finishTime: 10 * day + 7,
      };
      await assert.rejects(
        store.finishTask(parent.taskId, "s", end, {
          insertTasks: [task({ appId: app, sessionId: "dedup", createTime: 10 * day + 7 })],
        }),
        DuplicateSession,
      );
      assert.equal((await store.getTask(app, parent.taskId))?.status, "PROCESSING");
      assert.equal(await store.finishTask(parent.taskId, "s", end), "finished");
      // Three days after the first, the SessionId is free again.
      const later = task({ appId: app, sessionId: "dedup", createTime: 13 * day + 1 });
      await store.insertTask(later);
      assert.equal((await store.findTaskBySession(app, "dedup", 0))?.taskId, later.taskId);
      await drain(store);
    });

    it("pulls events under fresh handles, hides them, confirms and redelivers", async () => {
      const app = 1700000000;
      await store.insertEvents([event(app, 1), event(app, 2), event(app, 3), event(app, 4, "PUSH")]);
      await store.insertEvents([event(app + 1, 9)]);
      // Content that tests the quoting of every layer: JSON, arrays of JSON, SQL.
      const tricky = {
        EventType: "X",
        Text: "q\"uo\\te {a,b} 's ☃ 会 \n\t \\u0041",
        List: [null, 1.5, -0, 1e21, { "": "" }],
        Ordered: { z: 1, a: 2, m: 3 },
      };
      await store.insertEvents([{ ...event(app + 2, 1), content: tricky }]);
      const [back] = await store.pullEvents(app + 2, 1, 1, 16);
      assert.deepEqual(back!.content, JSON.parse(JSON.stringify(tricky)));
      assert.deepEqual(Object.keys(back!.content.Ordered as object), ["z", "a", "m"], "member order kept");
      assert.equal(await store.countPullableEvents(app, 100), 3);
      const first = await store.pullEvents(app, 100, 30_000, 2);
      assert.deepEqual(
        first.map((e) => e.content),
        [event(app, 1).content, event(app, 2).content],
      );
      for (const e of first) {
        assert.match(e.handle, /^[0-9a-f]{32}$/);
        assert.equal(e.attempts, 1);
        assert.equal(e.availableAt, 30_100);
        assert.equal(e.delivery, "PULL");
        assert.equal(e.createTime, 1_000);
        assert.equal(e.appId, app);
      }
      assert.notEqual(first[0]!.handle, first[1]!.handle);
      assert.equal(await store.countPullableEvents(app, 100), 1, "pulled events are hidden");
      const second = await store.pullEvents(app, 101, 30_000, 16);
      assert.deepEqual(
        second.map((e) => (e.content.PullCompleteEvent as { Order: number }).Order),
        [3],
      );
      assert.deepEqual(await store.pullEvents(app, 102, 30_000, 16), []);

      // Confirm: current handles go; a repeat, another app's or an unknown handle is stale.
      const h1 = first[0]!.handle;
      assert.deepEqual(await store.confirmEvents(app + 1, [h1], 200), [h1], "another application's call");
      assert.deepEqual(await store.confirmEvents(app, [h1, h1, "bogus"], 200), [h1, "bogus"]);
      assert.deepEqual(await store.confirmEvents(app, [h1], 200), [h1]);
      // Past its window the handle is stale, and the event comes back under a new one.
      const h2 = first[1]!.handle;
      assert.deepEqual(await store.confirmEvents(app, [h2], 30_100), [h2]);
      const again = await store.pullEvents(app, 30_101, 30_000, 16);
      assert.deepEqual(
        again.map((e) => (e.content.PullCompleteEvent as { Order: number }).Order),
        [2, 3],
      );
      assert.equal(again[0]!.attempts, 2);
      assert.notEqual(again[0]!.handle, h2);
      assert.deepEqual(
        await store.confirmEvents(
          app,
          again.map((e) => e.handle),
          30_102,
        ),
        [],
      );
      assert.equal(await store.countPullableEvents(app, 1e12), 0);
      assert.equal(await store.countPullableEvents(app + 1, 1e12), 1);
      assert.equal((await store.pullEvents(app + 1, 1, 1, 16)).length, 1);
      // The PUSH event was never pulled; delivered, it goes.
      const [pushed] = await store.claimPushEvents(1, 1000, 10, 4, []);
      assert.equal((pushed?.content.PullCompleteEvent as { Order: number }).Order, 4);
      await store.settlePushEvent(pushed!.seq, true, null, "");

      // Two pullers at once (two connections) never get the same event.
      const other = await backend.second();
      const burst = Array.from({ length: 40 }, (_, i) => event(app, 100 + i));
      await store.insertEvents(burst);
      const got = (
        await Promise.all(
          [store, other, store, other].map(async (s) => {
            const mine: number[] = [];
            for (;;) {
              const rows = await s.pullEvents(app, 40_000, 30_000, 3);
              if (!rows.length) return mine;
              mine.push(...rows.map((e) => (e.content.PullCompleteEvent as { Order: number }).Order));
            }
          }),
        )
      ).flat();
      assert.equal(got.length, 40);
      assert.equal(new Set(got).size, 40);
    });

    it("claims PUSH events with a per-application share, settles and retries them", async () => {
      const a = 1800000000;
      const b = 1800000001;
      for (let i = 0; i < 5; i++) await store.insertEvents([event(a, i, "PUSH")]);
      await store.insertEvents([event(b, 0, "PUSH"), event(b, 1, "PULL")]);
      assert.equal(await store.nextPushDue(), 0);
      const claimed = await store.claimPushEvents(100, 1000, 10, 4, []);
      assert.deepEqual(
        claimed.map((e) => [e.appId, (e.content.PullCompleteEvent as { Order: number }).Order]),
        [
          [a, 0],
          [a, 1],
          [a, 2],
          [a, 3],
          [b, 0],
        ],
      );
      for (const e of claimed) assert.equal(e.attempts, 1);
      assert.deepEqual(
        (await store.claimPushEvents(100, 1000, 10, 4, [a])).map((e) => e.appId),
        [],
        "a busy application is skipped",
      );
      const last = await store.claimPushEvents(100, 1000, 10, 4, []);
      assert.deepEqual(
        last.map((e) => (e.content.PullCompleteEvent as { Order: number }).Order),
        [4],
      );
      assert.deepEqual(await store.claimPushEvents(101, 1000, 10, 4, []), [], "all leased");
      // Settle: delivered and given-up events go, a retry comes back when due.
      await store.settlePushEvent(claimed[0]!.seq, true, null, "");
      await store.settlePushEvent(claimed[1]!.seq, false, null, "HTTP 500");
      await store.settlePushEvent(claimed[2]!.seq, false, 500, "HTTP 502");
      assert.equal(await store.nextPushDue(), 500);
      assert.deepEqual(await store.claimPushEvents(499, 1000, 10, 4, []), []);
      const retried = await store.claimPushEvents(500, 1000, 10, 4, []);
      assert.deepEqual(
        retried.map((e) => [(e.content.PullCompleteEvent as { Order: number }).Order, e.attempts]),
        [[2, 2]],
      );
      // Leases of a dead dispatcher run out: the rest comes back after leaseMs.
      const expired = await store.claimPushEvents(1101, 1000, 10, 4, []);
      assert.deepEqual(
        expired.map((e) => [e.appId, (e.content.PullCompleteEvent as { Order: number }).Order]),
        [
          [a, 3],
          [a, 4],
          [b, 0],
        ],
      );
      for (const e of [...retried, ...expired]) await store.settlePushEvent(e.seq, true, null, "");
      assert.equal(await store.nextPushDue(), undefined);

      // Two dispatchers at once never claim the same event.
      const other = await backend.second();
      for (let i = 0; i < 30; i++) await store.insertEvents([event(a + (i % 3), i, "PUSH")]);
      const got = (
        await Promise.all(
          [store, other, store, other].map(async (s) => {
            const mine: number[] = [];
            for (;;) {
              const rows = await s.claimPushEvents(5000, 60_000, 4, 2, []);
              if (!rows.length) return mine;
              mine.push(...rows.map((e) => e.seq));
            }
          }),
        )
      ).flat();
      assert.equal(got.length, 30);
      assert.equal(new Set(got).size, 30);
      for (const seq of got) await store.settlePushEvent(seq, true, null, "");
    });

    it("keeps event configurations, patched field by field", async () => {
      const app = 1900000000;
      assert.deepEqual(await store.getEventConfig(app), {
        mode: "PULL",
        notificationUrl: "",
        signKey: "",
        uploadSwitch: "OFF",
        deleteSwitch: "OFF",
        persistenceSwitch: "OFF",
      });
      await store.setEventConfig(app, { mode: "PUSH", notificationUrl: "http://x/cb" });
      await store.setEventConfig(app, { signKey: "k", uploadSwitch: "ON", mode: undefined });
      assert.deepEqual(await store.getEventConfig(app), {
        mode: "PUSH",
        notificationUrl: "http://x/cb",
        signKey: "k",
        uploadSwitch: "ON",
        deleteSwitch: "OFF",
        persistenceSwitch: "OFF",
      });
      assert.equal((await store.getEventConfig(app + 1)).mode, "PULL");
    });

    it("keeps custom templates, and never hands a Definition out twice", async () => {
      const app = 2000000000;
      const row = (family: string, key: string, createTime: number, body: Record<string, unknown> = {}) => ({
        appId: app,
        family,
        key,
        body: { Name: key, ...body },
        createTime,
        updateTime: createTime,
      });
      assert.equal(await store.nextTemplateDefinition(app, 100000), 100000);
      assert.equal(await store.nextTemplateDefinition(app, 100000), 100001);
      await store.putTemplate(row("Transcode", "100001", 20, { Container: "mp4" }));
      await store.putTemplate(row("Transcode", "100000", 10));
      await store.putTemplate(row("Procedure", "my-procedure", 5));
      await store.putTemplate(row("Transcode", "100500", 30));
      assert.equal(await store.nextTemplateDefinition(app, 100000), 100501, "past the largest key in use");
      assert.deepEqual(
        (await store.listTemplates(app, "Transcode")).map((t) => t.key),
        ["100000", "100001", "100500"],
      );
      assert.deepEqual((await store.getTemplate(app, "Transcode", "100001"))?.body, {
        Name: "100001",
        Container: "mp4",
      });
      await store.putTemplate({ ...row("Transcode", "100001", 20, { Container: "hls" }), updateTime: 40 });
      const replaced = await store.getTemplate(app, "Transcode", "100001");
      assert.equal(replaced?.body.Container, "hls");
      assert.equal(replaced?.updateTime, 40);
      assert.equal(await store.getTemplate(app, "Snapshot", "100001"), undefined);
      assert.equal(await store.deleteTemplate(app, "Transcode", "100500"), true);
      assert.equal(await store.deleteTemplate(app, "Transcode", "100500"), false);
      assert.equal(
        await store.nextTemplateDefinition(app, 100000),
        100502,
        "a deleted Definition is not reused",
      );
      assert.equal(await store.nextTemplateDefinition(app, 200000), 200000, "the floor wins");
      assert.equal(await store.nextTemplateDefinition(app + 1, 100000), 100000, "per application");
      assert.deepEqual(
        (await store.listTemplates(app, "Procedure")).map((t) => t.key),
        ["my-procedure"],
      );
      // Concurrent callers each get their own value.
      const other = await backend.second();
      const got = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).nextTemplateDefinition(app + 2, 1)),
      );
      assert.deepEqual(
        [...got].sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    it("searches media by every filter, sorted by creation, with a total", async () => {
      const app = 2100000000;
      const rows = [
        media("7000000000000000001", {
          appId: app,
          name: "Holiday video",
          description: "beach",
          classId: 1,
          category: "Video",
          type: "mp4",
          sourceType: "Record",
          tags: ["sea", "sun"],
          expireTime: "2030-01-01T00:00:00Z",
          createTime: 100,
        }),
        media("7000000000000000002", {
          appId: app,
          name: "holiday audio",
          description: "",
          classId: 2,
          category: "Audio",
          type: "m4a",
          sourceType: "Upload",
          storageRegion: "ap-beijing",
          tags: ["sun"],
          createTime: 200,
        }),
        media("7000000000000000003", {
          appId: app,
          name: "Work — 会议",
          description: "Holiday plans",
          classId: 1,
          createTime: 200,
        }),
        media("7000000000000000004", { appId: app + 1, name: "Holiday video", createTime: 50 }),
      ];
      for (const m of rows) await addMedia(store, m);
      const q = { appId: app, sortOrder: "Desc" as "Asc" | "Desc", offset: 0, limit: 10 };
      const ids = async (extra: Partial<typeof q> & Record<string, unknown>) => {
        const r = await store.searchMedia({ ...q, ...extra });
        return { total: r.total, ids: r.media.map((m) => Number(m.fileId.slice(-1))) };
      };
      assert.deepEqual(await ids({}), { total: 3, ids: [3, 2, 1] });
      assert.deepEqual(await ids({ sortOrder: "Asc" }), { total: 3, ids: [1, 2, 3] });
      assert.deepEqual(await ids({ limit: 1, offset: 1 }), { total: 3, ids: [2] });
      assert.deepEqual((await ids({ fileIds: ["7000000000000000002", "7000000000000000004"] })).ids, [2]);
      assert.deepEqual((await ids({ names: ["video", "会议"] })).ids, [3, 1]);
      assert.deepEqual((await ids({ names: ["holiday"] })).ids, [2], "case-sensitive, as in SQLite");
      assert.deepEqual((await ids({ namePrefixes: ["Work —", "holiday"] })).ids, [3, 2]);
      assert.deepEqual((await ids({ descriptions: ["plans"] })).ids, [3]);
      assert.deepEqual((await ids({ classIds: [1] })).ids, [3, 1]);
      assert.deepEqual((await ids({ categories: ["Audio"] })).ids, [2]);
      assert.deepEqual((await ids({ sourceTypes: ["Upload"] })).ids, [2]);
      assert.deepEqual((await ids({ mediaTypes: ["mp4"] })).ids, [3, 1]);
      assert.deepEqual((await ids({ storageRegions: ["ap-beijing"] })).ids, [2]);
      assert.deepEqual((await ids({ tags: ["sea", "nope"] })).ids, [1]);
      assert.deepEqual((await ids({ tags: ["sun"] })).ids, [2, 1]);
      assert.deepEqual((await ids({ text: "Holiday" })).ids, [3, 1]);
      assert.deepEqual((await ids({ createAfter: 150 })).ids, [3, 2]);
      assert.deepEqual((await ids({ createBefore: 200 })).ids, [1]);
      assert.deepEqual((await ids({ expireBefore: "2031-01-01T00:00:00Z" })).ids, [1]);
      assert.deepEqual((await ids({ expireAfter: "2031-01-01T00:00:00Z" })).ids, [3, 2]);
      assert.deepEqual(
        (await ids({ classIds: [1], tags: ["sea"], text: "plans" })).ids,
        [],
        "AND of filters",
      );
      assert.deepEqual((await ids({ classIds: [1], tags: ["sea"] })).ids, [1]);
      assert.deepEqual(await ids({ appId: app + 9 }), { total: 0, ids: [] });
    });

    it("purges old finished tasks in batches, and old events", async () => {
      const purgeApp = 2200000000;
      await drain(store);
      const olds: NewTask[] = [];
      for (let i = 0; i < 5; i++) {
        const t = task({ appId: purgeApp, createTime: 10 + i });
        olds.push(t);
        await finished(store, t);
      }
      const waiting = task({ appId: purgeApp, createTime: 1 });
      await store.insertTask(waiting);
      const aborted = task({ appId: purgeApp, createTime: 2 });
      await store.insertTask(aborted);
      await store.abortTask(purgeApp, aborted.taskId, 3, ABORT);
      const young = task({ appId: purgeApp, createTime: 10_000_000 });
      await finished(store, young);

      const before = 1_000;
      const purgeable = async () =>
        (
          await store.listTasks({
            appId: purgeApp,
            sortField: "CreateTime",
            order: "Asc",
            notBefore: 0,
            limit: 100,
          })
        ).length;
      const total = await purgeable();
      assert.equal(total, 8);
      // Every application's old finished tasks go (the earlier cases left some too).
      let purged = 0;
      let n: number;
      while ((n = await store.purgeTasks(before, 2)) > 0) {
        assert.ok(n <= 2);
        purged += n;
      }
      assert.ok(purged >= 6);
      assert.equal(await purgeable(), 2, "the WAITING task and the young one stay");
      assert.equal((await store.getTask(purgeApp, waiting.taskId))?.status, "WAITING");
      assert.equal((await store.getTask(purgeApp, young.taskId))?.status, "FINISH");
      assert.equal(await store.getTask(purgeApp, aborted.taskId), undefined);

      await store.insertEvents([event(purgeApp, 1, "PULL", 5), event(purgeApp, 2, "PULL", 50)]);
      assert.equal(await store.purgeEvents(10), 1);
      assert.equal(await store.countPullableEvents(purgeApp, 1e12), 1);
      await drain(store);
    });

    it("keeps upload sessions: objects while OPEN, one commit at a time, multipart parts", async () => {
      const app = 2400000000;
      const session = (n: number, o: Partial<UploadSessionRow> = {}): UploadSessionRow => ({
        id: `sess${n}`,
        sessionKey: `key${n}`,
        appId: app,
        secretId: `AKIDtmp${n}`,
        secretKey: `sk${n}`,
        token: `tok${n}`,
        mediaKey: `${app}/up${n}/video.mp4`,
        coverKey: "",
        params: { MediaType: "mp4", MediaName: `n${n}`, ClassId: 3 },
        media: null,
        cover: null,
        status: "OPEN",
        fileId: "",
        commitTime: null,
        createTime: 100,
        expireTime: 1000 + n,
        ...o,
      });
      const obj = (file: string): UploadObject => ({
        file,
        size: 10,
        etag: "0123456789abcdef0123456789abcdef",
        contentType: "video/mp4",
        lastModified: 200,
      });
      await store.insertUploadSession(session(1));
      await store.insertUploadSession(session(2, { coverKey: `${app}/up2/cover.jpg` }));
      assert.deepEqual(await store.getUploadSession("key1"), session(1));
      assert.equal((await store.getUploadSessionBySecretId("AKIDtmp2"))?.coverKey, `${app}/up2/cover.jpg`);
      assert.equal(await store.getUploadSession("nope"), undefined);

      assert.deepEqual(await store.setUploadObject("sess1", "media", obj("a")), { replaced: null });
      assert.deepEqual(await store.setUploadObject("sess1", "media", obj("b")), { replaced: obj("a") });
      assert.deepEqual(await store.setUploadObject("sess1", "cover", obj("c")), { replaced: null });
      assert.equal(await store.setUploadObject("nope", "media", obj("x")), undefined);

      // One commit at a time; a stale one (its process died) may be taken over, keeping the FileId.
      const claimed = await store.claimUploadCommit("sess1", "8000000000000000001", 300, 250);
      assert.equal(claimed?.status, "COMMITTING");
      assert.equal(claimed?.fileId, "8000000000000000001");
      assert.equal(claimed?.commitTime, 300);
      assert.deepEqual(claimed?.media, obj("b"));
      assert.equal(await store.claimUploadCommit("sess1", "8000000000000000002", 301, 250), undefined);
      assert.equal(await store.setUploadObject("sess1", "media", obj("late")), undefined, "not OPEN");
      const retaken = await store.claimUploadCommit("sess1", "8000000000000000003", 400, 350);
      assert.equal(retaken?.fileId, "8000000000000000001", "the FileId of the first claim");
      // Released (e.g. the file was not media): OPEN again, without the objects named.
      await store.releaseUploadCommit("sess1", ["media"]);
      const released = await store.getUploadSession("key1");
      assert.equal(released?.status, "OPEN");
      assert.equal(released?.commitTime, null);
      assert.equal(released?.media, null);
      assert.deepEqual(released?.cover, obj("c"));

      await store.setUploadObject("sess1", "media", obj("d"));
      await store.claimUploadCommit("sess1", "x", 500, 0);
      const follow = task({ appId: app, taskType: "Procedure", fileId: "8000000000000000001" });
      assert.equal(
        await store.finishUploadCommit(
          "sess1",
          media("8000000000000000001", { appId: app }),
          [follow],
          [event(app, 1)],
        ),
        true,
      );
      const done = await store.getUploadSession("key1");
      assert.equal(done?.status, "COMMITTED");
      assert.equal(done?.media, null);
      assert.equal(done?.cover, null);
      assert.equal((await store.getMedia(app, "8000000000000000001"))?.name, "name-8000000000000000001");
      assert.equal(await store.countPullableEvents(app, 1e12), 1);
      assert.equal((await store.claimTask("u", 600, 1000))?.taskId, follow.taskId);
      assert.equal(
        await store.finishUploadCommit("sess1", media("8000000000000000009", { appId: app }), [], []),
        false,
        "committed once",
      );
      assert.equal(await store.getMedia(app, "8000000000000000009"), undefined);

      // Multipart uploads and their parts.
      await store.insertMultipart({
        uploadId: "u2",
        sessionId: "sess2",
        target: "media",
        contentType: "video/mp4",
        createTime: 5,
      });
      await store.insertMultipart({
        uploadId: "u1",
        sessionId: "sess2",
        target: "cover",
        contentType: "",
        createTime: 5,
      });
      assert.deepEqual(
        (await store.listMultiparts("sess2")).map((m) => [m.uploadId, m.target]),
        [
          ["u1", "cover"],
          ["u2", "media"],
        ],
      );
      assert.equal((await store.getMultipart("u2"))?.contentType, "video/mp4");
      const part = (n: number, file: string) => ({
        uploadId: "u2",
        partNumber: n,
        file,
        size: n * 10,
        etag: `e${n}`,
        lastModified: 7,
      });
      assert.deepEqual(await store.putUploadPart(part(2, "p2")), { replaced: undefined });
      assert.deepEqual(await store.putUploadPart(part(1, "p1")), { replaced: undefined });
      assert.deepEqual(await store.putUploadPart(part(2, "p2b")), { replaced: part(2, "p2") });
      assert.equal(await store.putUploadPart({ ...part(1, "x"), uploadId: "gone" }), undefined);
      assert.deepEqual(await store.listUploadParts("u2"), [part(1, "p1"), part(2, "p2b")]);
      assert.deepEqual(await store.deleteMultipart("u2"), [part(1, "p1"), part(2, "p2b")]);
      assert.equal(await store.deleteMultipart("u2"), undefined);
      assert.deepEqual(await store.listUploadParts("u2"), []);

      // Expired sessions go, oldest first, with their multipart uploads.
      await store.insertUploadSession(session(3, { expireTime: 900 }));
      assert.deepEqual(await store.deleteExpiredUploadSessions(1002, 10), ["sess3", "sess1"]);
      assert.ok(await store.getMultipart("u1"));
      assert.deepEqual(await store.deleteExpiredUploadSessions(2000, 10), ["sess2"]);
      assert.equal(await store.getMultipart("u1"), undefined, "gone with its session");
      await drain(store);
    });

    it("grants a signature to at most max users, once each, even to racing connections", async () => {
      const use = (s: Store, sign: string, user: string, max: number, expireTime = 5000) =>
        s.useSignature({ kind: "test.sig", sign, user, max, expireTime });
      assert.equal(await store.signatureUsed("test.sig", "once"), false);
      assert.equal(await use(store, "once", "session-a", 1), true);
      assert.equal(await use(store, "once", "session-a", 1), true, "its own user again");
      assert.equal(await use(store, "once", "session-b", 1), false);
      assert.equal(await store.signatureUsed("test.sig", "once"), true);
      assert.equal(await store.signatureUsed("other.kind", "once"), false, "kinds are apart");
      assert.equal(
        await store.useSignature({ kind: "other.kind", sign: "once", user: "x", max: 1, expireTime: 5000 }),
        true,
      );

      // Twelve users race for three places over two connections (two pools on PostgreSQL).
      const other = await backend.second();
      const users = Array.from({ length: 12 }, (_, i) => `10.0.0.${i}`);
      const got = await Promise.all(
        users.flatMap((u, i) => [
          use(i % 2 ? other : store, "rl", u, 3),
          use(i % 2 ? store : other, "rl", u, 3),
        ]),
      );
      const granted = new Set(users.filter((_u, i) => got[2 * i] || got[2 * i + 1]));
      assert.equal(granted.size, 3, `granted: ${[...granted].join(", ")}`);
      for (const [i, u] of users.entries())
        assert.equal(got[2 * i], got[2 * i + 1], `${u}: both of its racing requests get the same answer`);
      for (const u of users) assert.equal(await use(other, "rl", u, 3), granted.has(u), u);

      // Once expired, the uses go.
      await use(store, "later", "u", 1, 9000);
      assert.equal(await store.purgeSignatureUses(6000), 5);
      assert.equal(await store.signatureUsed("test.sig", "once"), false);
      assert.equal(await store.signatureUsed("test.sig", "rl"), false);
      assert.equal(await store.signatureUsed("test.sig", "later"), true);
    });

    it("keeps text with NUL characters and unicode without failing", async () => {
      const t = task({ sessionContext: "a\u0000b ☃ 会", input: { s: "x\u0000y", q: "\\u0000" } });
      await store.insertTask(t);
      const got = await store.getTask(APP, t.taskId);
      assert.match(got!.sessionContext, /^a(\u0000|\uFFFD)b ☃ 会$/);
      assert.match(String(got!.input.s), /^x(\u0000|\uFFFD)y$/);
      assert.equal(got!.input.q, "\\u0000", "an escaped backslash is left alone");
      await drain(store);
    });

    if (kind === "sqlite") {
      it("voids every lease at start (embedded mode owns its database)", async () => {
        const t = task();
        await store.insertTask(t);
        await store.claimTask("crashed", 10, 1e12);
        assert.equal(await store.releaseAllLeases(), 1);
        assert.equal((await store.claimTask("next", 11, 1000))?.taskId, t.taskId);
        await drain(store, 1e13);
      });
    }

    if (kind === "postgres") {
      it("leaves other processes' leases alone at start", async () => {
        const t = task();
        await store.insertTask(t);
        await store.claimTask("alive-elsewhere", 10, 1e12);
        assert.equal(await store.releaseAllLeases(), 0);
        assert.equal(await store.claimTask("next", 11, 1000), undefined);
        assert.equal(
          await store.finishTask(t.taskId, "alive-elsewhere", {
            errCode: 0,
            errCodeExt: "",
            message: "",
            state: {},
            finishTime: 12,
          }),
          "finished",
        );
      });

      it("wakes subscribers in other processes on runnable tasks and written events", async () => {
        const listener = await backend.second();
        let tasks = 0;
        const apps: number[] = [];
        await listener.subscribe!(
          () => tasks++,
          (appId) => apps.push(appId),
        );
        const until = async (what: string, cond: () => boolean) => {
          const end = Date.now() + 5000;
          while (!cond()) {
            if (Date.now() > end) assert.fail(`no notification: ${what}`);
            await new Promise((r) => setTimeout(r, 10));
          }
        };
        const t = task();
        await store.insertTask(t);
        await until("insertTask", () => tasks >= 1);
        const c = await store.claimTask("w", 20, 60_000);
        assert.equal(c?.taskId, t.taskId);
        await store.releaseTask(t.taskId, "w", {});
        await until("releaseTask", () => tasks >= 2);
        await store.claimTask("w", 21, 60_000);
        const followUp = task();
        await store.finishTask(
          t.taskId,
          "w",
          { errCode: 0, errCodeExt: "", message: "", state: {}, finishTime: 22 },
          {
            insertTasks: [followUp],
            events: [event(2300000000, 1), event(2300000000, 2), event(2300000001, 1)],
          },
        );
        await until("finishTask's tasks and events", () => tasks >= 3 && apps.length >= 2);
        assert.deepEqual([...apps].sort(), [2300000000, 2300000001], "one wake-up per application");

        // The LISTEN connection is cut (a server restart, a proxy timeout): it comes back.
        const cut = await sql(
          backend.url!(),
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
           WHERE application_name = $1 AND datname = current_database()`,
          [LISTEN_APPLICATION_NAME],
        );
        assert.ok(cut.length >= 1);
        const before = tasks;
        await until("a wake-up after reconnecting", () => tasks > before);
        apps.length = 0;
        await store.insertEvents([event(2300000002, 1)]);
        await until("events after reconnecting", () => apps.includes(2300000002));
        await drain(store, 1e13);
      });

      it("runs migrations once when many processes start together", async () => {
        const db = await createTestDatabase("openvod_test_migrate");
        try {
          const stores = await Promise.all(Array.from({ length: 5 }, () => PostgresStore.open(db.url)));
          const rows = await sql(db.url, "SELECT version FROM schema_migrations ORDER BY version");
          // Each file once (a second run would have failed on CREATE TABLE, or recorded it twice).
          assert.deepEqual(
            rows.map((r) => r.version),
            loadMigrations("postgres").map((m) => m.version),
          );
          const locks = await sql(
            db.url,
            `SELECT COUNT(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
             WHERE l.locktype = 'advisory' AND d.datname = current_database()`,
          );
          assert.equal(locks[0].n, 0, "the migration lock is released");
          await Promise.all(stores.map((s) => s.ensureDefaultApp(APP, 1)));
          assert.equal((await stores[0]!.listApps(0, 10)).total, 1);
          await Promise.all(stores.map((s) => s.close()));
          // A later start finds nothing to do.
          await (await PostgresStore.open(db.url)).close();
        } finally {
          await db.drop();
        }
      });

      it("claims through the partial index of runnable tasks, in its order", async () => {
        // With few rows the planner prefers a scan; with scans off it must still find the index
        // usable for the claim's predicate and order (no sort step).
        const rows = await sql(
          backend.url!(),
          `SET enable_seqscan = off; SET enable_bitmapscan = off;
           EXPLAIN SELECT seq FROM tasks WHERE status = 'WAITING' OR (status = 'PROCESSING' AND lease_until < 1)
           ORDER BY priority DESC, seq LIMIT 1 FOR UPDATE SKIP LOCKED`,
        );
        const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
        assert.match(plan, /Index Scan using tasks_runnable/, plan);
        assert.doesNotMatch(plan, /Sort/, plan);
      });
    }
  });
}

storeSuite("SQLite", sqliteBackend, "sqlite");
storeSuite("PostgreSQL", postgresBackend, "postgres");

// Migrations are numbered files (src/store/migrations/<dialect>/); a database made before they
// were (SQLite: counted in PRAGMA user_version; PostgreSQL: the same schema_migrations table)
// must open in place with its rows.
describe("store migrations", () => {
  const dir = tempDir("openvod-migrate-");
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("are read from the source tree by the compiled code, numbered without a gap", () => {
    const root = resolve(fileURLToPath(import.meta.url), "../../..");
    for (const dialect of ["sqlite", "postgres"] as const) {
      assert.equal(migrationsDir(dialect), join(root, "src/store/migrations", dialect));
      const list = loadMigrations(dialect);
      assert.ok(list.length >= 3);
      assert.deepEqual(
        list.map((m) => m.version),
        list.map((_, i) => i + 1),
      );
      assert.ok(list.every((m) => /^\d{4}_[a-z0-9_]+\.sql$/.test(m.name) && m.sql.includes(";")));
    }
  });

  /** A database as the store made it from its inline list: the first `upTo` statements, user_version = upTo. */
  function legacySqlite(file: string, upTo: number): void {
    const db = new Database(file);
    for (const m of loadMigrations("sqlite").slice(0, upTo)) {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }
    db.prepare(
      `INSERT INTO tasks (task_id, app_id, task_type, status, input, state, create_time)
       VALUES ('old-task', ?, 'PullUpload', 'WAITING', '{"MediaUrl":"http://x/a.mp4"}', '{}', 1000)`,
    ).run(APP);
    db.prepare(
      `INSERT INTO media (file_id, app_id, name, type, category, blob_key, meta_data, source_type, storage_region,
       expire_time, tags, create_time, update_time) VALUES ('old-media', ?, 'kept', 'mp4', 'Video', 'k', '{"Size":7}',
       'Upload', 'ap-guangzhou', '9999-12-31T23:59:59Z', '["a"]', 1000, 1000)`,
    ).run(APP);
    db.close();
  }

  const sqliteState = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return {
        migrations: db.prepare("SELECT version, applied_at FROM schema_migrations ORDER BY version").all(),
        schema: db.prepare("SELECT name, sql FROM sqlite_master ORDER BY name").all(),
        userVersion: db.pragma("user_version", { simple: true }),
      };
    } finally {
      db.close();
    }
  };

  for (const upTo of [6, 3]) {
    it(`SQLite: a database of the inline list (user_version ${upTo}) upgrades in place, once`, async () => {
      const file = join(dir, `legacy-${upTo}.db`);
      legacySqlite(file, upTo);
      const store = new SqliteStore(file);
      try {
        const t = await store.getTask(APP, "old-task");
        assert.equal(t?.status, "WAITING");
        assert.deepEqual(t?.input, { MediaUrl: "http://x/a.mp4" });
        assert.equal(t?.abortRequest, null);
        const m = await store.getMedia(APP, "old-media");
        assert.equal(m?.name, "kept");
        assert.deepEqual(m?.metaData, { Size: 7 });
        // What came after the baseline works: an abort request (0006) on the old task.
        const claimed = await store.claimTask("w", 2000, 60_000);
        assert.equal(claimed?.taskId, "old-task");
        assert.equal(await store.abortTask(APP, "old-task", 2001, ABORT), "requested");
      } finally {
        await store.close();
      }
      const first = sqliteState(file);
      assert.deepEqual(
        first.migrations.map((r: any) => r.version),
        loadMigrations("sqlite").map((m) => m.version),
      );
      assert.ok(first.schema.some((r: any) => r.name === "tasks_purge"));
      // Binaries from before still see a database they need not touch.
      assert.equal(first.userVersion, 6);
      // Opening again changes nothing.
      await new SqliteStore(file).close();
      assert.deepEqual(sqliteState(file), first);
    });
  }

  // Tasks stored before SessionIds were a constraint can repeat one (the race it closes).
  const DUPLICATE_SESSIONS = [
    ["dup-1", 1000],
    ["dup-2", 3000],
    ["dup-3", 2000],
  ] as const;

  it("SQLite: tasks that repeat a SessionId migrate; the latest of each holds it", async () => {
    const file = join(dir, "sessions.db");
    const db = new Database(file);
    const before = loadMigrations("sqlite").filter((m) => m.name !== "0010_task_sessions.sql");
    db.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    for (const m of before) {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_migrations VALUES (?, 1)").run(m.version);
    }
    for (const [id, t] of DUPLICATE_SESSIONS)
      db.prepare(
        `INSERT INTO tasks (task_id, app_id, task_type, status, session_id, input, state, create_time)
         VALUES (?, ?, 'PullUpload', 'WAITING', 'same', '{}', '{}', ?)`,
      ).run(id, APP, t);
    db.close();
    const store = new SqliteStore(file);
    try {
      await sessionsAfterMigration(store);
    } finally {
      await store.close();
    }
  });

  it("PostgreSQL: tasks that repeat a SessionId migrate; the latest of each holds it", async () => {
    const db = await createTestDatabase("openvod_test_migrate");
    try {
      await sql(
        db.url,
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
      );
      for (const m of loadMigrations("postgres").filter((m) => m.name !== "0006_task_sessions.sql")) {
        await sql(db.url, m.sql);
        await sql(db.url, "INSERT INTO schema_migrations VALUES ($1, 1)", [m.version]);
      }
      for (const [id, t] of DUPLICATE_SESSIONS)
        await sql(
          db.url,
          `INSERT INTO tasks (task_id, app_id, task_type, status, session_id, input, state, create_time)
           VALUES ($1, $2, 'PullUpload', 'WAITING', 'same', '{}', '{}', $3)`,
          [id, APP, t],
        );
      const store = await PostgresStore.open(db.url);
      try {
        await sessionsAfterMigration(store);
      } finally {
        await store.close();
      }
    } finally {
      await db.drop();
    }
  });

  /** Every old task is still there, and the SessionId counts from its latest task (created at 3000). */
  async function sessionsAfterMigration(store: Store) {
    for (const [id] of DUPLICATE_SESSIONS) assert.equal((await store.getTask(APP, id))?.status, "WAITING");
    const window = 3 * 24 * 3600 * 1000;
    await assert.rejects(
      store.insertTask(task({ sessionId: "same", createTime: 3000 + window })),
      DuplicateSession,
    );
    await store.insertTask(task({ sessionId: "same", createTime: 3000 + window + 1 }));
  }

  it("SQLite: a new database runs every file and records each", async () => {
    const file = join(dir, "fresh.db");
    await new SqliteStore(file).close();
    const first = sqliteState(file);
    assert.equal(first.migrations.length, loadMigrations("sqlite").length);
    await new SqliteStore(file).close();
    assert.deepEqual(sqliteState(file), first);
  });

  for (const upTo of [3, 1]) {
    it(`PostgreSQL: a database of the inline list (versions 1-${upTo}) upgrades in place, once`, async () => {
      const db = await createTestDatabase("openvod_test_migrate");
      try {
        await sql(
          db.url,
          "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
        );
        for (const m of loadMigrations("postgres").slice(0, upTo)) {
          await sql(db.url, m.sql);
          await sql(db.url, "INSERT INTO schema_migrations VALUES ($1, 1)", [m.version]);
        }
        await sql(
          db.url,
          `INSERT INTO tasks (task_id, app_id, task_type, status, input, state, create_time)
           VALUES ('old-task', $1, 'PullUpload', 'WAITING', '{"MediaUrl":"http://x/a.mp4"}', '{}', 1000)`,
          [APP],
        );
        await sql(
          db.url,
          `INSERT INTO media (file_id, app_id, name, type, category, blob_key, meta_data, source_type,
             storage_region, expire_time, tags, create_time, update_time) VALUES ('old-media', $1, 'kept', 'mp4',
             'Video', 'k', '{"Size":7}', 'Upload', 'ap-guangzhou', '9999-12-31T23:59:59Z', '["a"]', 1000, 1000)`,
          [APP],
        );
        const store = await PostgresStore.open(db.url);
        try {
          assert.deepEqual((await store.getTask(APP, "old-task"))?.input, { MediaUrl: "http://x/a.mp4" });
          assert.deepEqual((await store.getMedia(APP, "old-media"))?.metaData, { Size: 7 });
          assert.equal((await store.claimTask("w", 2000, 60_000))?.taskId, "old-task");
          assert.equal(await store.abortTask(APP, "old-task", 2001, ABORT), "requested");
        } finally {
          await store.close();
        }
        const state = () => sql(db.url, "SELECT version, applied_at FROM schema_migrations ORDER BY version");
        const first = await state();
        assert.deepEqual(
          first.map((r) => r.version),
          loadMigrations("postgres").map((m) => m.version),
        );
        // The baseline's rows are the old ones (applied_at 1), not applied again.
        assert.ok(first.slice(0, upTo).every((r) => Number(r.applied_at) === 1));
        await (await PostgresStore.open(db.url)).close();
        assert.deepEqual(await state(), first);
      } finally {
        await db.drop();
      }
    });
  }
});

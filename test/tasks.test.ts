// Task queries and management against a real openvod with ONE worker, so queue order is
// observable: DescribeTaskDetail, DescribeTasks (filters, sorting, ScrollToken paging),
// ManageTask Abort, TasksPriority, SessionId de-duplication and the retention window.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { video, withOpenvod } from "./helpers/openvod.js";
import { sdkError, waitForTask, until, type OpenvodProcess, type Vod } from "./helpers/server.js";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const ZERO_TIME = "0001-01-01T00:00:00Z";
const HOUR = 3600 * 1000;

/** Stops the process without leaving the helper's 10 s fallback timer behind. */
async function stopProcess(s: OpenvodProcess): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    const exited = new Promise((r) => s.child.once("exit", r));
    s.child.kill("SIGTERM");
    // A server that hangs on shutdown is killed; unref'd so it never holds the test process.
    const kill = setTimeout(() => s.child.kill("SIGKILL"), 10_000).unref();
    await exited;
    clearTimeout(kill);
  }
}

/** Polls DescribeTaskDetail until the task shows `status`. */
async function waitForStatus(vod: Vod, taskId: string, status: string, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d: any = await vod.DescribeTaskDetail({ TaskId: taskId });
    if (d.Status === status) return d;
    if (Date.now() > deadline) throw new Error(`task ${taskId} is ${d.Status}, never ${status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls a condition of the test's own state. */
/** Every page of a DescribeTasks query, following ScrollToken. */
async function allPages(vod: Vod, req: Record<string, unknown>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let token = "";
  let pages = 0;
  do {
    const r: any = await vod.DescribeTasks({ ...req, ...(token ? { ScrollToken: token } : {}) });
    pages++;
    assert.ok(pages < 50, "paging does not end");
    ids.push(...r.TaskSet.map((t: any) => t.TaskId));
    token = r.ScrollToken;
  } while (token);
  return { ids, pages };
}

describe("tasks", () => {
  let clip: Buffer;
  /** Paths the file server was asked for, in order. */
  const fetched: string[] = [];
  /** Responses held open by /hang.mp4 until a test releases them. */
  const held: ServerResponse[] = [];
  // Registered before the fixture's: the held downloads go before the server is stopped.
  after(() => held.forEach((res) => res.destroy()));
  const { server, files, vod, path } = withOpenvod({
    media: { "clip.mp4": video({ width: 160, height: 120, seconds: 1, audio: false }) },
    env: { OPENVOD_WORKERS: "1" },
  });

  let pullId: string;
  let fileId: string;
  /** DescribeFileAttributes tasks on fileId, in submission order. */
  const attrIds: string[] = [];

  before(async () => {
    clip = readFileSync(path("clip.mp4"));
    const serve = (path: string) =>
      files.routes.set(path, (_req, res) => {
        fetched.push(path);
        res.writeHead(200, { "content-length": clip.length, "content-type": "video/mp4" });
        res.end(clip);
      });
    for (const p of ["/low.mp4", "/mid.mp4", "/high.mp4"]) serve(p);
    // Sends the headers and a first chunk, then nothing until released.
    files.routes.set("/hang.mp4", (_req, res) => {
      fetched.push("/hang.mp4");
      res.writeHead(200, { "content-length": clip.length, "content-type": "video/mp4" });
      res.write(clip.subarray(0, 1000));
      held.push(res);
    });
  });

  it("a PullUpload moves to FINISH with ordered ISO times", async () => {
    const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4` });
    pullId = TaskId!;
    const { detail, seen } = await waitForTask(vod, pullId);
    assert.equal(seen.at(-1), "FINISH");
    for (const s of seen) assert.ok(["WAITING", "PROCESSING", "FINISH"].includes(s), s);
    assert.equal(detail.PullUploadTask.ErrCode, 0, detail.PullUploadTask.Message);
    fileId = detail.PullUploadTask.FileId;
    const times = [detail.CreateTime, detail.BeginProcessTime, detail.FinishTime];
    for (const t of times) assert.match(t, ISO);
    const ms = times.map((t) => Date.parse(t));
    assert.ok(ms[0]! <= ms[1]! && ms[1]! <= ms[2]!, times.join(" "));
    assert.ok(Math.abs(ms[0]! - Date.now()) < 5 * 60_000, "CreateTime is now");
  });

  it("an unknown TaskId → InvalidParameterValue.TaskId", async () => {
    for (const id of ["1250000000-pull-00000000000000000000000000000000t0", "nonsense"]) {
      const e = await sdkError(() => vod.DescribeTaskDetail({ TaskId: id }));
      assert.equal(e.code, "InvalidParameterValue.TaskId");
    }
  });

  describe("DescribeTasks", () => {
    before(async () => {
      for (let i = 0; i < 5; i++) {
        const { TaskId } = await vod.DescribeFileAttributes({ FileId: fileId, SessionContext: `attr-${i}` });
        attrIds.push(TaskId!);
      }
      for (const id of attrIds) {
        const { detail } = await waitForTask(vod, id);
        assert.equal(detail.DescribeFileAttributesTask.Status, "SUCCESS");
      }
    });

    it("Limit 2 pages with ScrollToken visit each task exactly once", async () => {
      // The pull that created the file is listed under its FileId too, oldest.
      const listed = [pullId, ...attrIds];
      const { ids, pages } = await allPages(vod, { FileId: fileId, Limit: 2 });
      assert.equal(pages, 3);
      assert.deepEqual(ids, [...listed].reverse(), "newest first, each once");
      const first: any = await vod.DescribeTasks({ FileId: fileId, Limit: 2 });
      // The token names the first task of the next page, as in the cloud's examples.
      assert.equal(first.ScrollToken, attrIds[2]);
      const asc = await allPages(vod, {
        FileId: fileId,
        Limit: 2,
        Sort: { Field: "CreateTime", Order: "Asc" },
      });
      assert.deepEqual(asc.ids, listed);
      const exact: any = await vod.DescribeTasks({ FileId: fileId, Limit: 6 });
      assert.equal(exact.TaskSet.length, 6);
      assert.equal(exact.ScrollToken, "");
    });

    it("sorts by FinishTime both ways (one worker finishes them in order)", async () => {
      const asc = await allPages(vod, {
        FileId: fileId,
        Limit: 3,
        Sort: { Field: "FinishTime", Order: "Asc" },
      });
      assert.deepEqual(asc.ids, [pullId, ...attrIds]);
      const desc = await allPages(vod, {
        FileId: fileId,
        Limit: 3,
        Sort: { Field: "FinishTime", Order: "Desc" },
      });
      assert.deepEqual(desc.ids, [pullId, ...attrIds].reverse());
    });

    it("filters by Status and FileId; entries carry the task's fields", async () => {
      const r: any = await vod.DescribeTasks({ FileId: fileId, Status: "FINISH", Limit: 100 });
      assert.deepEqual(
        r.TaskSet.map((t: any) => t.TaskId),
        [...attrIds].reverse().concat(pullId),
      );
      const t = r.TaskSet.at(-2);
      assert.deepEqual(Object.keys(t).sort(), [
        "BeginProcessTime",
        "CreateTime",
        "FileId",
        "FinishTime",
        "SessionContext",
        "SessionId",
        "Status",
        "TaskId",
        "TaskType",
      ]);
      assert.equal(t.TaskId, attrIds[0]);
      assert.equal(t.Status, "FINISH");
      assert.equal(t.FileId, fileId);
      assert.equal(t.TaskType, "DescribeFileAttributesTask");
      assert.equal(t.SessionContext, "attr-0");
      for (const k of ["CreateTime", "BeginProcessTime", "FinishTime"]) assert.match(t[k], ISO, k);

      for (const Status of ["WAITING", "PROCESSING", "ABORTED"]) {
        const none: any = await vod.DescribeTasks({ FileId: fileId, Status });
        assert.deepEqual(none.TaskSet, [], Status);
      }
      const other: any = await vod.DescribeTasks({ FileId: "1234567890123456789" });
      assert.deepEqual(other.TaskSet, []);
      // Without filters the pull is listed too.
      const all = await allPages(vod, { Limit: 100 });
      assert.ok(all.ids.includes(pullId));
      assert.equal(all.ids.length, 6);
    });

    it("refuses bad Limit, Status, Sort and ScrollToken", async () => {
      const code = async (req: Record<string, unknown>) =>
        (await sdkError(() => vod.DescribeTasks(req))).code;
      assert.equal(await code({ Limit: 101 }), "InvalidParameterValue.Limit");
      assert.equal(await code({ Limit: 0 }), "InvalidParameterValue.Limit");
      assert.equal(await code({ Status: "DONE" }), "InvalidParameterValue.Status");
      assert.equal(await code({ Sort: { Field: "Name", Order: "Asc" } }), "InvalidParameterValue.Sort");
      assert.equal(await code({ Sort: { Field: "CreateTime", Order: "Up" } }), "InvalidParameterValue.Sort");
      assert.equal(await code({ ScrollToken: "no-such-task" }), "InvalidParameterValue.ScrollToken");
      assert.equal(await code({ CreateTime: { After: "yesterday" } }), "InvalidParameterValue.CreateTime");
      const ok: any = await vod.DescribeTasks({ Limit: 100 });
      assert.equal(ok.TaskSet.length, 6);
    });
  });

  describe("queue: ManageTask and TasksPriority", () => {
    let blocker: string;
    let waiting: string;

    it("a second task stays WAITING while the only worker is busy", async () => {
      blocker = (await vod.PullUpload({ MediaUrl: `${files.url}/hang.mp4` })).TaskId!;
      await waitForStatus(vod, blocker, "PROCESSING");
      // The worker is inside the download (the file server got the request).
      await until("the hanging file to be requested", () => fetched.includes("/hang.mp4"));
      waiting = (await vod.DescribeFileAttributes({ FileId: fileId, SessionContext: "to-abort" })).TaskId!;
      const d: any = await vod.DescribeTaskDetail({ TaskId: waiting });
      assert.equal(d.Status, "WAITING");
      assert.equal(d.DescribeFileAttributesTask.Status, "PROCESSING");

      const w: any = await vod.DescribeTasks({ Status: "WAITING" });
      assert.deepEqual(
        w.TaskSet.map((t: any) => [t.TaskId, t.BeginProcessTime, t.FinishTime]),
        [[waiting, ZERO_TIME, ZERO_TIME]],
      );
      const p: any = await vod.DescribeTasks({ Status: "PROCESSING" });
      assert.deepEqual(
        p.TaskSet.map((t: any) => t.TaskId),
        [blocker],
      );
      assert.match(p.TaskSet[0].BeginProcessTime, ISO);
      assert.equal(p.TaskSet[0].FinishTime, ZERO_TIME);
    });

    it("ManageTask Abort ends a WAITING task ABORTED; other cases fail with the cloud's codes", async () => {
      const r: any = await vod.ManageTask({ TaskId: waiting, OperationType: "Abort" });
      assert.deepEqual(Object.keys(r), ["RequestId"]);
      const d: any = await vod.DescribeTaskDetail({ TaskId: waiting });
      assert.equal(d.Status, "ABORTED");
      assert.match(d.FinishTime, ISO);
      assert.equal(d.DescribeFileAttributesTask.Status, "FAIL");

      const code = async (TaskId: string, OperationType = "Abort") =>
        (await sdkError(() => vod.ManageTask({ TaskId, OperationType }))).code;
      assert.equal(await code(waiting), "FailedOperation", "abort twice");
      assert.equal(await code(attrIds[0]!), "FailedOperation", "abort a FINISH task");
      // Aborting a PROCESSING task works (test/abort.test.ts); the blocker must keep running here.
      assert.equal(
        await code("1250000000-pull-ffffffffffffffffffffffffffffffffft0"),
        "InvalidParameterValue.TaskId",
      );
      assert.equal(await code(blocker, "Pause"), "InvalidParameterValue.OperationType");
      assert.equal((await vod.DescribeTaskDetail({ TaskId: blocker })).Status, "PROCESSING");
    });

    it("higher TasksPriority runs first once the worker is free", async () => {
      const submit = async (path: string, TasksPriority: number) =>
        (await vod.PullUpload({ MediaUrl: `${files.url}${path}`, TasksPriority })).TaskId!;
      const low = await submit("/low.mp4", -5);
      const mid = await submit("/mid.mp4", 0);
      const high = await submit("/high.mp4", 10);
      for (const id of [low, mid, high])
        assert.equal((await vod.DescribeTaskDetail({ TaskId: id })).Status, "WAITING");
      assert.deepEqual(fetched.slice(-1), ["/hang.mp4"]);

      const res = held.pop()!;
      res.end(clip.subarray(1000));
      const { detail: b } = await waitForTask(vod, blocker);
      assert.equal(b.PullUploadTask.ErrCode, 0, b.PullUploadTask.Message);
      const done = [];
      for (const id of [high, mid, low]) done.push((await waitForTask(vod, id)).detail);
      for (const d of done) assert.equal(d.PullUploadTask.ErrCode, 0, d.PullUploadTask.Message);
      assert.deepEqual(fetched.slice(-3), ["/high.mp4", "/mid.mp4", "/low.mp4"]);
      const begins = done.map((d) => Date.parse(d.BeginProcessTime));
      assert.ok(begins[0]! <= begins[1]! && begins[1]! <= begins[2]!);

      // The aborted task never ran.
      const a: any = await vod.DescribeTaskDetail({ TaskId: waiting });
      assert.equal(a.Status, "ABORTED");
      assert.equal(a.DescribeFileAttributesTask.Output, null);
      const aborted: any = await vod.DescribeTasks({ Status: "ABORTED" });
      assert.deepEqual(
        aborted.TaskSet.map((t: any) => t.TaskId),
        [waiting],
      );
    });
  });

  describe("SessionId", () => {
    it("de-duplicates submissions and limits lengths", async () => {
      const first = await vod.DescribeFileAttributes({ FileId: fileId, SessionId: "session-1" });
      const code = async (req: Record<string, unknown>) =>
        (await sdkError(() => vod.DescribeFileAttributes({ FileId: fileId, ...req }))).code;
      assert.equal(await code({ SessionId: "session-1" }), "InvalidParameterValue.SessionId");
      // The same SessionId on another action of the same app is a duplicate too.
      assert.equal(
        (await sdkError(() => vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4`, SessionId: "session-1" })))
          .code,
        "InvalidParameterValue.SessionId",
      );
      assert.equal(await code({ SessionId: "s".repeat(51) }), "InvalidParameterValue.SessionIdTooLong");
      assert.equal(
        await code({ SessionContext: "c".repeat(1001) }),
        "InvalidParameterValue.SessionContextTooLong",
      );
      const longest = await vod.DescribeFileAttributes({ FileId: fileId, SessionId: "s".repeat(50) });
      const { detail } = await waitForTask(vod, longest.TaskId!);
      assert.equal(detail.DescribeFileAttributesTask.SessionId, "s".repeat(50));
      const listed: any = await vod.DescribeTasks({ FileId: fileId, Limit: 1 });
      assert.equal(listed.TaskSet[0].TaskId, longest.TaskId);
      assert.equal(listed.TaskSet[0].SessionId, "s".repeat(50));
      await waitForTask(vod, first.TaskId!);
    });

    it("parallel submissions with one SessionId create exactly one task", async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          vod.DescribeFileAttributes({ FileId: fileId, SessionId: "parallel" }).then(
            (r) => r.TaskId!,
            (e: any) => String(e.code),
          ),
        ),
      );
      const created = results.filter((r) => r.includes("-DescribeFileAttributes-"));
      assert.equal(created.length, 1, results.join(" "));
      assert.deepEqual(
        results.filter((r) => r !== created[0]),
        Array(7).fill("InvalidParameterValue.SessionId"),
      );
      await waitForTask(vod, created[0]!);
    });
  });

  describe("retention", () => {
    it("a task created more than OPENVOD_TASK_RETENTION_HOURS (72) ago is gone after a restart", async (t) => {
      if (process.env.OPENVOD_TEST_ON_POSTGRES === "1") return t.skip("edits the SQLite file");
      const [old, recent] = [attrIds[1]!, attrIds[2]!];
      await stopProcess(server);
      const db = new Database(join(server.dataDir, "openvod.db"));
      try {
        const set = db.prepare("UPDATE tasks SET create_time = ? WHERE task_id = ?");
        assert.equal(set.run(Date.now() - 100 * HOUR, old).changes, 1);
        assert.equal(set.run(Date.now() - 71 * HOUR, recent).changes, 1);
      } finally {
        db.close();
      }
      await server.start();

      assert.equal(
        (await sdkError(() => vod.DescribeTaskDetail({ TaskId: old }))).code,
        "InvalidParameterValue.TaskId",
      );
      assert.equal(
        (await sdkError(() => vod.ManageTask({ TaskId: old, OperationType: "Abort" }))).code,
        "InvalidParameterValue.TaskId",
      );
      assert.equal(
        (await sdkError(() => vod.DescribeTasks({ ScrollToken: old }))).code,
        "InvalidParameterValue.ScrollToken",
      );
      const d: any = await vod.DescribeTaskDetail({ TaskId: recent });
      assert.equal(d.Status, "FINISH");
      assert.equal(Date.parse(d.CreateTime) <= Date.now() - 70 * HOUR, true);

      const { ids } = await allPages(vod, { FileId: fileId, Limit: 2 });
      assert.ok(!ids.includes(old), "the expired task is not listed");
      assert.ok(ids.includes(recent));
      assert.deepEqual(
        attrIds.filter((id) => ids.includes(id)),
        attrIds.filter((id) => id !== old),
      );
      // Sorted by CreateTime the 71-hour-old task now comes last.
      assert.equal(ids.at(-1), recent);
    });
  });
});

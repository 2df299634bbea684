// Stopping work that runs: ManageTask Abort of a PROCESSING task, DeleteMedia of an item whose
// task runs, ffmpeg crashes, and ffmpeg children of a server killed with kill -9.
import assert from "node:assert/strict";
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { locateMediaTools, type MediaTools } from "../src/media/tools.js";
import { results, tree } from "./helpers/inspect.js";
import { ffmpegTo, makeVideo } from "./helpers/media.js";
import {
  APP_ID,
  FileServer,
  sdkError,
  startOpenvod,
  tempDir,
  waitForTask,
  until,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

/** Live ffmpeg processes (anyone's) whose command line mentions `needle` (a data directory). */
function ffmpegsMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Zombies (state Z) are dead already, waiting for their reaper.
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (comm !== "ffmpeg" || state === "Z") continue;
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(needle)) found.push(Number(pid));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** A source that takes minutes to transcode: two hours of tiny frames at 1 fps. */
async function makeLongVideo(tools: MediaTools, file: string): Promise<void> {
  const src = "testsrc2=size=64x48:rate=1:duration=7200";
  const args = ["-f", "lavfi", "-i", src, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];
  await ffmpegTo(tools, file, args, 120_000);
}

async function pull(vod: Vod, url: string): Promise<string> {
  const { TaskId } = await vod.PullUpload({ MediaUrl: url });
  const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
  assert.equal(detail.PullUploadTask.ErrCode, 0, detail.PullUploadTask.Message);
  return detail.PullUploadTask.FileId;
}

describe("aborting running work", () => {
  let tools: MediaTools;
  let dir: string;
  let files: FileServer;
  const servers: OpenvodProcess[] = [];
  const dataDirs: string[] = [];

  before(async () => {
    tools = await locateMediaTools();
    dir = tempDir();
    await makeVideo(tools, join(dir, "clip.mp4"), { width: 320, height: 240, seconds: 2 });
    await makeLongVideo(tools, join(dir, "long.mp4"));
    files = await new FileServer(dir).start();
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await files?.stop();
    for (const d of [dir, ...dataDirs]) if (d) rmSync(d, { recursive: true, force: true });
  });

  describe("ManageTask and DeleteMedia on PROCESSING tasks (one worker)", () => {
    let server: OpenvodProcess;
    let vod: Vod;

    before(async () => {
      server = await startOpenvod({ env: { OPENVOD_WORKERS: "1" } });
      servers.push(server);
      vod = server.client();
    });

    it("ManageTask Abort stops a PROCESSING task: ffmpeg killed, ABORTED, outputs discarded", async () => {
      const fileId = await pull(vod, `${files.url}/long.mp4`);
      // A quick snapshot first (it succeeds), then adaptive streaming of two hours.
      const { TaskId } = await vod.ProcessMedia({
        FileId: fileId,
        MediaProcessTask: {
          SnapshotByTimeOffsetTaskSet: [{ Definition: 10, TimeOffsetSet: [0] }],
          AdaptiveDynamicStreamingTaskSet: [{ Definition: 10 }],
        },
      });
      await until(
        "the adaptive streaming's ffmpeg",
        async () => {
          const d: any = await vod.DescribeTaskDetail({ TaskId: TaskId! });
          const r = results(d);
          return (
            r.SnapshotByTimeOffset![0].Status === "SUCCESS" &&
            r.AdaptiveDynamicStreaming![0].Status === "PROCESSING" &&
            ffmpegsMentioning(server.dataDir).length > 0
          );
        },
        60_000,
      );
      const mine = join(server.dataDir, "files", String(APP_ID), fileId);
      assert.ok(tree(mine).includes("snapshot-10/"), "the snapshot was stored before the abort");

      const r: any = await vod.ManageTask({ TaskId: TaskId!, OperationType: "Abort" });
      assert.deepEqual(Object.keys(r), ["RequestId"]);
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 60_000 });
      assert.equal(detail.Status, "ABORTED");
      assert.match(detail.FinishTime, /^\d{4}-\d{2}-\d{2}T/);
      assert.notEqual(detail.FinishTime, "0001-01-01T00:00:00Z");
      assert.equal(detail.ProcedureTask.ErrCode, 70000);
      assert.match(detail.ProcedureTask.Message, /aborted/i);
      const res = results(detail);
      for (const sub of [res.SnapshotByTimeOffset![0], res.AdaptiveDynamicStreaming![0]]) {
        assert.equal(sub.Status, "FAIL", "no sub-task left PROCESSING, none SUCCESS with a discarded output");
        assert.equal(sub.ErrCode, 70000);
        assert.match(sub.Message, /aborted/i);
      }
      assert.equal(res.SnapshotByTimeOffset![0].Output, null);
      // The spec does not allow a null Output here: an empty item instead.
      const adaptiveOutput = res.AdaptiveDynamicStreaming![0].Output;
      assert.equal(typeof adaptiveOutput, "object");
      assert.notEqual(adaptiveOutput, null);
      assert.equal(adaptiveOutput.Url, "");

      await until("ffmpeg to be gone", () => ffmpegsMentioning(server.dataDir).length === 0, 30_000);
      await until(
        "the stored outputs to be discarded",
        () => tree(mine).every((f) => !f.startsWith("snapshot-10") && !f.startsWith("adp-")),
        60_000,
      );
      const info: any = await vod.DescribeMediaInfos({ FileIds: [fileId] });
      assert.equal(info.MediaInfoSet[0].SnapshotByTimeOffsetInfo, null);
      assert.equal(info.MediaInfoSet[0].AdaptiveDynamicStreamingInfo, null);

      // It ended as other tasks do: listed as ABORTED, with its completion event.
      const listed: any = await vod.DescribeTasks({ Status: "ABORTED" });
      assert.ok(listed.TaskSet.some((t: any) => t.TaskId === TaskId));
      const events: any = await vod.PullEvents({});
      const mineEvents = events.EventSet.filter((e: any) => e.ProcedureStateChangeEvent?.TaskId === TaskId);
      assert.equal(mineEvents.length, 1);
      assert.equal(mineEvents[0].ProcedureStateChangeEvent.Status, "ABORTED");
      await vod.ConfirmEvents({ EventHandles: events.EventSet.map((e: any) => e.EventHandle) });

      const again = await sdkError(() => vod.ManageTask({ TaskId: TaskId!, OperationType: "Abort" }));
      assert.equal(again.code, "FailedOperation");
      // The worker is free again.
      const clipId = await pull(vod, `${files.url}/clip.mp4`);
      assert.ok(clipId);
    });

    it("DeleteMedia aborts the item's tasks: nothing comes back into the deleted item", async () => {
      const fileId = await pull(vod, `${files.url}/long.mp4`);
      const { TaskId: running } = await vod.ProcessMedia({
        FileId: fileId,
        MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100030 }] },
      });
      const { TaskId: waiting } = await vod.ProcessMedia({
        FileId: fileId,
        MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, TimeOffsetSet: [0] }] },
      });
      await until("the transcode's ffmpeg", () => ffmpegsMentioning(server.dataDir).length > 0, 60_000);
      assert.equal(((await vod.DescribeTaskDetail({ TaskId: waiting! })) as any).Status, "WAITING");

      await vod.DeleteMedia({ FileId: fileId });
      const w: any = await vod.DescribeTaskDetail({ TaskId: waiting! });
      assert.equal(w.Status, "ABORTED", "a WAITING task of the item ends at once");
      assert.match(w.ProcedureTask.Message, /deleted/);
      const { detail } = await waitForTask(vod, running!, { timeoutMs: 60_000 });
      assert.equal(detail.Status, "ABORTED");
      assert.match(detail.ProcedureTask.Message, /deleted/);
      const t = results(detail).Transcode![0];
      assert.equal(t.Status, "FAIL");
      assert.equal(t.Output, null);

      await until("ffmpeg to be gone", () => ffmpegsMentioning(server.dataDir).length === 0, 30_000);
      const mine = join(server.dataDir, "files", String(APP_ID), fileId);
      await until("the item's directory to stay empty", () => tree(mine).length === 0, 60_000);
      const served = await fetch(`${server.url}/files/${APP_ID}/${fileId}/v.f100030.mp4`);
      assert.equal(served.status, 404);
      const info: any = await vod.DescribeMediaInfos({ FileIds: [fileId] });
      assert.deepEqual(info.NotExistFileIdSet, [fileId]);
    });
  });

  it("reports an ffmpeg crash as an internal error (70000), not the source's fault", async () => {
    // An "ffmpeg" that, for real work, complains about its input and then segfaults.
    const fake = join(dir, "crashing-ffmpeg");
    writeFileSync(
      fake,
      `#!/bin/sh
case " $* " in
  *" -i "*) echo "Invalid data found when processing input" >&2; kill -SEGV $$ ;;
esac
exec '${tools.ffmpeg}' "$@"
`,
    );
    chmodSync(fake, 0o755);
    const server = await startOpenvod({ env: { OPENVOD_FFMPEG: fake, OPENVOD_FFPROBE: tools.ffprobe } });
    servers.push(server);
    const vod = server.client();
    const fileId = await pull(vod, `${files.url}/clip.mp4`);
    const { TaskId } = await vod.ProcessMedia({
      FileId: fileId,
      MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }] },
    });
    const { detail } = await waitForTask(vod, TaskId!);
    const t = results(detail).Transcode![0];
    assert.equal(t.Status, "FAIL");
    assert.equal(t.ErrCode, 70000, t.Message);
    assert.equal(t.ErrCodeExt, "InternalError");
    assert.match(t.Message, /crashed.*SIGSEGV/);
    await server.stop();
  });

  it("reports an ffprobe crash on a pulled file as an internal error (70000), not the file's fault", async () => {
    const fake = join(dir, "crashing-ffprobe");
    writeFileSync(
      fake,
      `#!/bin/sh
case " $* " in
  *" file:"*) echo "Invalid data found when processing input" >&2; kill -SEGV $$ ;;
esac
exec '${tools.ffprobe}' "$@"
`,
    );
    chmodSync(fake, 0o755);
    const server = await startOpenvod({ env: { OPENVOD_FFMPEG: tools.ffmpeg, OPENVOD_FFPROBE: fake } });
    servers.push(server);
    const vod = server.client();
    const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4` });
    const { detail } = await waitForTask(vod, TaskId!);
    assert.equal(detail.PullUploadTask.ErrCode, 70000, detail.PullUploadTask.Message);
    assert.doesNotMatch(detail.PullUploadTask.Message, /could not be read as media/);
    await server.stop();
  });

  it("ffmpeg dies with a server killed by kill -9; a task that kills its server every time is given up", async () => {
    const dataDir = tempDir("openvod-abort-kill-");
    dataDirs.push(dataDir);
    const env = { OPENVOD_WORKERS: "1", OPENVOD_LEASE_MS: "2000", OPENVOD_MAX_TASK_ATTEMPTS: "2" };
    let server = await startOpenvod({ dataDir, env });
    servers.push(server);
    let vod = server.client();
    const fileId = await pull(vod, `${files.url}/long.mp4`);
    const { TaskId } = await vod.ProcessMedia({
      FileId: fileId,
      MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100030 }] },
    });
    // The same process restarts on the same data directory (embedded mode) after each crash.
    for (let attempt = 1; attempt <= 2; attempt++) {
      await until(`attempt ${attempt}'s ffmpeg`, () => ffmpegsMentioning(dataDir).length > 0, 60_000);
      await server.kill9();
      // Generous: the point is that it ends with its parent, not how fast.
      await until(
        "the dead server's ffmpeg to be gone",
        () => ffmpegsMentioning(dataDir).length === 0,
        30_000,
      );
      server = await startOpenvod({ dataDir, env });
      servers.push(server);
      vod = server.client();
    }
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 60_000 });
    assert.equal(detail.Status, "FINISH");
    assert.equal(detail.ProcedureTask.ErrCode, 70000);
    assert.match(detail.ProcedureTask.Message, /interrupted 2 times/);
    const t = results(detail).Transcode![0];
    assert.equal(t.Status, "FAIL", "not left PROCESSING");
    assert.equal(t.ErrCode, 70000);
    assert.equal(ffmpegsMentioning(dataDir).length, 0, "not run a third time");
    await server.kill9();
  });
});

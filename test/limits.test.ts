// Limits of Procedure tasks, on a real openvod process with one worker: a sub-task whose ffmpeg
// cannot finish is killed after OPENVOD_SUBTASK_TIMEOUT_MS and fails alone (the next sub-task
// runs and the task ends FINISH, nothing partial left behind); ManageTask Abort of a WAITING
// Procedure means it never runs; and the pool never has more ffmpeg children than workers, each
// (alone) with every core as its threads, as seen from /proc.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { runFfmpeg, writeAtomically } from "../src/media/run.js";
import { video, withOpenvod } from "./helpers/openvod.js";
import { FAST_H264 } from "./helpers/media.js";
import { APP_ID, startOpenvod, until, waitForTask } from "./helpers/server.js";
import { results, tree } from "./helpers/inspect.js";

/**
 * The sub-task timeout. The quick sub-tasks of this file take well under a second; the "hanging"
 * one needs minutes (180,000 frames of 720p), so neither side is near the line on a slow machine.
 */
const SUBTASK_TIMEOUT_S = 6;

/** The direct children of a process (all its threads), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/)) {
        if (c) out.push(Number(c));
      }
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

interface Child {
  pid: number;
  comm: string;
  argv: string[];
}

function mediaChildren(pid: number): Child[] {
  const out: Child[] = [];
  for (const c of childrenOf(pid)) {
    try {
      const comm = readFileSync(`/proc/${c}/comm`, "utf8").trim();
      const argv = readFileSync(`/proc/${c}/cmdline`, "utf8").split("\0").slice(0, -1);
      if (comm === "ffmpeg" || comm === "ffprobe") out.push({ pid: c, comm, argv });
    } catch {
      // Exited between the two reads.
    }
  }
  return out;
}

/** Samples the server's ffmpeg/ffprobe children every few ms until stopped. */
function sampleChildren(pid: number) {
  let maxFfmpeg = 0;
  let maxMedia = 0;
  let samples = 0;
  const ffmpegs = new Map<number, string[]>();
  const timer = setInterval(() => {
    const kids = mediaChildren(pid);
    samples++;
    const ff = kids.filter((k) => k.comm === "ffmpeg");
    maxFfmpeg = Math.max(maxFfmpeg, ff.length);
    maxMedia = Math.max(maxMedia, kids.length);
    for (const k of ff) if (k.argv.length) ffmpegs.set(k.pid, k.argv);
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return { maxFfmpeg, maxMedia, samples, ffmpegs };
    },
  };
}

/** Files under a directory (relative paths), recursively. */

describe("Procedure limits (one worker)", () => {
  const { server, vod, files, pull } = withOpenvod({
    media: {
      "clip.mp4": video({ width: 320, height: 240, seconds: 2 }),
      // Two hours at 1 fps and 64x48: 3 MB, made in a second, yet minutes of work for a 720p
      // transcode at 25 fps.
      "long.mp4": (tools, out) =>
        writeAtomically(out, (tmp) =>
          runFfmpeg(tools, {
            args: ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=1:duration=7200", ...FAST_H264, tmp],
            timeoutMs: 60_000,
          }),
        ),
    },
    env: {
      OPENVOD_WORKERS: "1",
      OPENVOD_SUBTASK_TIMEOUT_MS: String(SUBTASK_TIMEOUT_S * 1000),
    },
  });
  let longId: string;
  let clipId: string;

  before(async () => {
    longId = await pull("long.mp4", { timeoutMs: 120_000 });
    clipId = await pull("clip.mp4", { timeoutMs: 120_000 });
  });

  it("kills a sub-task's ffmpeg at the sub-task timeout, runs the next one, aborts a WAITING task", async () => {
    const pid = server.child.pid!;
    const started = Date.now();
    const { TaskId: slowId } = await vod.ProcessMedia({
      FileId: longId,
      MediaProcessTask: {
        TranscodeTaskSet: [{ Definition: 100030 }],
        SnapshotByTimeOffsetTaskSet: [{ Definition: 10, TimeOffsetSet: [0] }],
      },
    });
    // The worker is busy with the slow task: the next one waits, and is aborted.
    const { TaskId: waitingId } = await vod.ProcessMedia({
      FileId: clipId,
      MediaProcessTask: { SampleSnapshotTaskSet: [{ Definition: 10 }] },
    });
    let transcoding: Child | undefined;
    for (let i = 0; i < 400 && !transcoding; i++) {
      transcoding = mediaChildren(pid).find((c) => c.comm === "ffmpeg" && c.argv.includes("-i"));
      if (!transcoding) await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(transcoding, "the transcode's ffmpeg runs");
    const waiting: any = await vod.DescribeTaskDetail({ TaskId: waitingId! });
    assert.equal(waiting.Status, "WAITING");
    await vod.ManageTask({ TaskId: waitingId!, OperationType: "Abort" });
    assert.equal(((await vod.DescribeTaskDetail({ TaskId: waitingId! })) as any).Status, "ABORTED");

    const { detail } = await waitForTask(vod, slowId!, { timeoutMs: 60_000 });
    const elapsed = (Date.now() - started) / 1000;
    assert.equal(detail.Status, "FINISH");
    const r = results(detail);
    const t = r.Transcode![0];
    assert.equal(t.Status, "FAIL");
    assert.equal(t.ErrCode, 70000);
    assert.equal(t.ErrCodeExt, "InternalError");
    assert.match(t.Message, new RegExp(`timed out after ${SUBTASK_TIMEOUT_S} s`));
    assert.equal(t.Output, null);
    assert.ok(t.Progress < 100, `progress ${t.Progress}`);
    const begin = Date.parse(t.BeginProcessTime);
    const finish = Date.parse(t.FinishTime);
    assert.ok(finish - begin >= (SUBTASK_TIMEOUT_S - 1) * 1000, `ran ${finish - begin} ms`);
    assert.ok(elapsed < SUBTASK_TIMEOUT_S + 30, `the task took ${elapsed} s`);
    // The killed ffmpeg is gone.
    assert.ok(!existsSync(`/proc/${transcoding!.pid}`) || !childrenOf(pid).includes(transcoding!.pid));
    // The next sub-task ran.
    const snap = r.SnapshotByTimeOffset![0];
    assert.equal(snap.Status, "SUCCESS", snap.Message);
    assert.equal(snap.Output.PicInfoSet.length, 1);

    // Nothing partial: the media's directory holds the original, its cover and the snapshot.
    const mine = tree(join(server.dataDir, "files", String(APP_ID), longId));
    assert.ok(
      mine.every((f) => !/(^|\/)\.|\.tmp|\.old-|v\.f100030/.test(f)),
      `left behind: ${mine.join(", ")}`,
    );
    assert.ok(mine.some((f) => f.startsWith("snapshot-10/")));
    const info: any = await vod.DescribeMediaInfos({ FileIds: [longId] });
    assert.deepEqual(
      info.MediaInfoSet[0].TranscodeInfo?.TranscodeSet.map((x: any) => x.Definition) ?? [],
      [0],
      "only the original",
    );

    // The aborted task never ran, even once the worker was free.
    const { TaskId: laterId } = await vod.ProcessMedia({
      FileId: clipId,
      MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, TimeOffsetSet: [0] }] },
    });
    await waitForTask(vod, laterId!);
    const aborted: any = await vod.DescribeTaskDetail({ TaskId: waitingId! });
    assert.equal(aborted.Status, "ABORTED");
    assert.equal(aborted.BeginProcessTime, "0001-01-01T00:00:00Z", "as DescribeTasks shows it");
    const sample = aborted.ProcedureTask.MediaProcessResultSet[0].SampleSnapshotTask;
    assert.equal(sample.BeginProcessTime, "");
    assert.equal(sample.Status, "FAIL", "no sub-task of an ended task is left PROCESSING");
    assert.equal(sample.ErrCode, 70000);
    assert.match(sample.Message, /aborted/);
    assert.equal(sample.Output, null);
    const clipInfo: any = await vod.DescribeMediaInfos({ FileIds: [clipId] });
    assert.equal(clipInfo.MediaInfoSet[0].SampleSnapshotInfo, null);
    assert.deepEqual(tree(join(server.dataDir, "tmp")), [], "scratch space is empty");
  });

  it("at the whole task's timeout, fails what is left, keeps what was done, and ends FINISH", async () => {
    const other = await startOpenvod({ env: { OPENVOD_WORKERS: "1", OPENVOD_TASK_TIMEOUT_MS: "5000" } });
    try {
      const v = other.client();
      const { TaskId: pullId } = await v.PullUpload({ MediaUrl: `${files.url}/long.mp4` });
      const pulled = (await waitForTask(v, pullId!)).detail.PullUploadTask;
      assert.equal(pulled.ErrCode, 0, pulled.Message);
      const { TaskId } = await v.ProcessMedia({
        FileId: pulled.FileId,
        MediaProcessTask: {
          // Sub-tasks run in this order: a quick transcode, one that cannot finish in 5 s, a snapshot.
          TranscodeTaskSet: [{ Definition: 100010, EndTimeOffset: 2 }, { Definition: 100030 }],
          SnapshotByTimeOffsetTaskSet: [{ Definition: 10, TimeOffsetSet: [0] }],
        },
      });
      const { detail } = await waitForTask(v, TaskId!, { timeoutMs: 60_000 });
      assert.equal(detail.Status, "FINISH");
      const r = results(detail);
      const [quick, slow] = r.Transcode!;
      assert.equal(quick.Status, "SUCCESS", quick.Message);
      for (const x of [slow, r.SnapshotByTimeOffset![0]]) {
        assert.equal(x.Status, "FAIL");
        assert.equal(x.ErrCode, 70000);
        assert.match(x.Message, /task timed out after 5 s/);
        assert.match(x.FinishTime, /Z$/);
      }
      const info: any = await v.DescribeMediaInfos({ FileIds: [pulled.FileId] });
      assert.deepEqual(
        info.MediaInfoSet[0].TranscodeInfo.TranscodeSet.map((x: any) => x.Definition),
        [0, 100010],
      );
      // The pool removes the task's scratch directory just after recording FINISH, so a loaded
      // machine can show the (empty) directory to the first look.
      await until("scratch space is empty", () => tree(join(other.dataDir, "tmp")).length === 0, 10_000);
    } finally {
      await other.stop();
    }
  });

  it("never runs more ffmpeg processes than workers; a job alone gets every core", async () => {
    const pid = server.child.pid!;
    const sampler = sampleChildren(pid);
    const ids: string[] = [];
    let seen: ReturnType<typeof sampler.stop>;
    try {
      for (let i = 0; i < 3; i++) {
        const { TaskId } = await vod.ProcessMedia({
          FileId: clipId,
          MediaProcessTask: {
            TranscodeTaskSet: [{ Definition: 100010 }, { Definition: 100020 }],
            SnapshotByTimeOffsetTaskSet: [{ Definition: 10, TimeOffsetSet: [500] }],
          },
        });
        ids.push(TaskId!);
      }
      for (const id of ids) {
        const { detail } = await waitForTask(vod, id, { timeoutMs: 120_000 });
        for (const [type, list] of Object.entries(results(detail)))
          for (const x of list) assert.equal(x.Status, "SUCCESS", `${type}: ${x.Message}`);
      }
    } finally {
      seen = sampler.stop();
    }
    assert.ok(seen.samples > 20, `${seen.samples} samples`);
    assert.equal(seen.maxFfmpeg, 1, "one ffmpeg at a time with OPENVOD_WORKERS=1");
    assert.equal(seen.maxMedia, 1, "not even an ffprobe beside it");
    const runs = [...seen.ffmpegs.values()].filter((argv) => argv.includes("-i"));
    assert.ok(runs.length >= 3, `saw ${runs.length} ffmpeg runs`);
    const expected = String(availableParallelism());
    for (const argv of runs) {
      const threadOptions = argv
        .map((a, i) => [a, argv[i + 1]] as const)
        .filter(([a]) => /^-(threads|filter_threads|filter_complex_threads)(:|$)/.test(a));
      assert.ok(threadOptions.length >= 2, argv.join(" "));
      for (const [opt, value] of threadOptions) assert.equal(value, expected, `${opt} in ${argv.join(" ")}`);
    }
  });
});

// The life of every registered task type, through the official SDK on one tiny generated clip:
// submitted while the workers are paused it is WAITING; held at the start of its run it is
// PROCESSING; the server is then killed with SIGKILL and started again on the same data
// directory, and the task resumes and ends FINISH with a real output. Every DescribeTaskDetail
// answer seen, and the completion event PullEvents delivers, are checked strictly against the
// spec's types. CASES is typed by TaskTypeName: registering a type without a case here does not
// compile. The pause and the hold are test hooks (OPENVOD_TEST_HOOKS, src/queue/testHolds.ts),
// absent by default, which the last tests check.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TASK_KINDS, type TaskTypeName } from "../src/domain/tasktypes/index.js";
import { aiMissing } from "../src/media/ai/engine.js";
import { INSPECT_CHECKS } from "../src/media/jobs/qualityInspect.js";
import { probeMedia } from "../src/media/probe.js";
import { runFfmpeg } from "../src/media/run.js";
import { locateMediaTools, type MediaTools } from "../src/media/tools.js";
import { results } from "./helpers/inspect.js";
import { makeVideo } from "./helpers/media.js";
import { assertShape, responseType } from "./helpers/shape.js";
import {
  APP_ID,
  FileServer,
  startOpenvod,
  tempDir,
  until,
  waitForTask,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

/** The shared clip: 160x90, 25 fps, 2 s, with a tone. */
const CLIP = { width: 160, height: 90, seconds: 2 };

interface World {
  vod: Vod;
  server: OpenvodProcess;
  files: FileServer;
  tools: MediaTools;
  dir: string;
  /** The clip's bytes, and its FileId once pulled. */
  clip: Buffer;
  clipId: string;
}

interface Submitted {
  taskId: string;
  /** A string the completion event contains (default: the TaskId). */
  eventKey?: string;
}

interface LifecycleCase {
  /** Why the case cannot run here (optional packages missing), or false. */
  skip?: string | false;
  /** What the task needs before it is submitted (templates, other items), run with workers running. */
  prepare?(w: World): Promise<void>;
  /** Submits one task through the SDK. */
  submit(w: World): Promise<Submitted>;
  /** The EventType its FINISH puts in PullEvents. */
  event: string;
  /** Checks real properties of the output, given the finished DescribeTaskDetail answer. */
  check(w: World, detail: any, submitted: Submitted): Promise<void>;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Downloads a FileUrl (an HLS playlist remuxed by ffmpeg into one file) and probes it. */
async function probeUrl(w: World, url: string) {
  const file = join(
    w.dir,
    `probe-${Math.random().toString(36).slice(2)}.${url.endsWith(".m3u8") ? "ts" : "bin"}`,
  );
  try {
    if (url.endsWith(".m3u8")) {
      await runFfmpeg(w.tools, { args: ["-i", url, "-c", "copy", "-f", "mpegts", file], timeoutMs: 30_000 });
    } else {
      const res = await fetch(url);
      assert.equal(res.status, 200, url);
      writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    }
    return await probeMedia(w.tools, file);
  } finally {
    rmSync(file, { force: true });
  }
}

/** A media item that exists and plays: its file probes as video of about `seconds`. */
async function assertPlayable(w: World, fileId: string, seconds: number) {
  const info: any = (await w.vod.DescribeMediaInfos({ FileIds: [fileId] })).MediaInfoSet![0];
  assert.ok(info, `item ${fileId} exists`);
  const { metaData } = await probeUrl(w, info.BasicInfo.MediaUrl);
  assert.ok(metaData.VideoStreamSet.length > 0, `${fileId} has video`);
  assert.ok(
    Math.abs(metaData.Duration - seconds) <= 0.3,
    `${fileId}: ${metaData.Duration} s, expected ${seconds}`,
  );
  return metaData;
}

let hlsDefinition = 0;

const CASES = {
  PullUpload: {
    submit: async (w) => ({
      taskId: (await w.vod.PullUpload({ MediaUrl: `${w.files.url}/clip.mp4`, MediaName: "lc-pull" })).TaskId!,
    }),
    event: "PullComplete",
    async check(w, d) {
      const t = d.PullUploadTask;
      assert.equal(t.MediaBasicInfo.Name, "lc-pull");
      assert.equal(t.MetaData.Width, CLIP.width);
      const served = Buffer.from(await (await fetch(t.FileUrl)).arrayBuffer());
      assert.equal(sha256(served), sha256(w.clip), "the stored file is the pulled one");
    },
  },
  DescribeFileAttributesTask: {
    submit: async (w) => ({ taskId: (await w.vod.DescribeFileAttributes({ FileId: w.clipId })).TaskId! }),
    event: "DescribeFileAttributesComplete",
    async check(w, d) {
      const out = d.DescribeFileAttributesTask.Output;
      assert.equal(out.Md5, createHash("md5").update(w.clip).digest("hex"));
      assert.equal(out.Sha1, createHash("sha1").update(w.clip).digest("hex"));
    },
  },
  Procedure: {
    submit: async (w) => ({
      taskId: (
        await w.vod.ProcessMedia({
          FileId: w.clipId,
          MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, TimeOffsetSet: [1000] }] },
        })
      ).TaskId!,
    }),
    event: "ProcedureStateChanged",
    async check(w, d) {
      const [snap] = results(d).SnapshotByTimeOffset!;
      assert.equal(snap.Status, "SUCCESS", snap.Message);
      const pic = snap.Output.PicInfoSet[0];
      const { metaData } = await probeUrl(w, pic.Url);
      assert.equal(metaData.Width, CLIP.width, "a picture of the clip");
    },
  },
  QualityInspect: {
    async prepare(w) {
      inspectDefinition = (
        await w.vod.CreateQualityInspectTemplate({
          Name: "lifecycle",
          Configs: INSPECT_CHECKS.map((Type) => ({ Type, Duration: 500 })),
        })
      ).Definition!;
    },
    submit: async (w) => ({
      taskId: (await w.vod.InspectMediaQuality({ FileId: w.clipId, Definition: inspectDefinition })).TaskId!,
    }),
    event: "QualityInspectComplete",
    async check(_w, d) {
      const t = d.QualityInspectTask;
      assert.equal(t.Output.NoAudio, 0);
      assert.equal(t.Output.NoVideo, 0);
      assert.deepEqual(t.Output.QualityInspectResultSet, [], "a clean clip has no defect");
      assert.equal(t.MetaData.Width, CLIP.width);
    },
  },
  QualityEnhance: {
    submit: async (w) => ({
      taskId: (
        await w.vod.EnhanceMediaQuality({
          FileId: w.clipId,
          Definition: 100,
          OutputConfig: { MediaName: "lc-enh" },
        })
      ).TaskId!,
    }),
    event: "QualityEnhanceComplete",
    async check(w, d) {
      const t = d.QualityEnhanceTask;
      assert.equal(t.Output.MediaName, "lc-enh");
      const meta = await assertPlayable(w, t.Output.FileId, CLIP.seconds);
      assert.equal(meta.Height, CLIP.height);
    },
  },
  RebuildMedia: {
    submit: async (w) => ({
      taskId: (
        await w.vod.RebuildMedia({
          FileId: w.clipId,
          VideoDenoiseInfo: { Switch: "ON", Type: "weak" },
          TargetInfo: { MediaName: "lc-rebuild", Container: "mp4" },
        })
      ).TaskId!,
    }),
    event: "RebuildMediaComplete",
    async check(w, d) {
      const t = d.RebuildMediaTask;
      assert.equal(t.Output.MediaName, "lc-rebuild");
      await assertPlayable(w, t.Output.FileId, CLIP.seconds);
    },
  },
  RemoveWatermarkTask: {
    submit: async (w) => ({ taskId: (await w.vod.RemoveWatermark({ FileId: w.clipId })).TaskId! }),
    event: "RemoveWatermark",
    async check(w, d) {
      const t = d.RemoveWatermarkTask;
      assert.equal(t.Input.FileId, w.clipId);
      // testsrc2 may or may not show a static box: either a new playable item or a reason.
      if (t.Output) await assertPlayable(w, t.Output.FileId, CLIP.seconds);
      else assert.match(t.Message, /static|changes/);
    },
  },
  EditMedia: {
    submit: async (w) => ({
      taskId: (
        await w.vod.EditMedia({
          InputType: "File",
          FileInfos: [{ FileId: w.clipId, StartTimeOffset: 0.5, EndTimeOffset: 1.5 }],
        })
      ).TaskId!,
    }),
    event: "EditMediaComplete",
    async check(w, d) {
      await assertPlayable(w, d.EditMediaTask.Output.FileId, 1);
    },
  },
  SplitMedia: {
    submit: async (w) => ({
      taskId: (
        await w.vod.SplitMedia({
          FileId: w.clipId,
          Segments: [
            { StartTimeOffset: 0, EndTimeOffset: 1 },
            { StartTimeOffset: 1, EndTimeOffset: 2 },
          ],
        })
      ).TaskId!,
    }),
    event: "SplitMediaComplete",
    async check(w, d) {
      const parts = d.SplitMediaTask.FileInfoSet;
      assert.equal(parts.length, 2);
      for (const p of parts) await assertPlayable(w, p.Output.FileId, 1);
    },
  },
  ComposeMedia: {
    submit: async (w) => ({
      taskId: (
        await w.vod.ComposeMedia({
          Tracks: [
            {
              Type: "Video",
              TrackItems: [{ Type: "Video", VideoItem: { SourceMedia: w.clipId, Duration: 1 } }],
            },
          ],
          Output: { FileName: "lc-compose" },
        })
      ).TaskId!,
    }),
    event: "ComposeMediaComplete",
    async check(w, d) {
      await assertPlayable(w, d.ComposeMediaTask.Output.FileId, 1);
    },
  },
  FastClipMedia: {
    async prepare(w) {
      // The clip as HLS with 1 s segments, the input FastEditMedia cuts without re-encoding.
      hlsDefinition = (
        (await w.vod.CreateTranscodeTemplate({
          Container: "hls",
          VideoTemplate: { Codec: "libx264", Fps: 25, Bitrate: 0, HlsTime: 1 } as any,
          AudioTemplate: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100 } as any,
        })) as { Definition: number }
      ).Definition;
      const { TaskId } = await w.vod.ProcessMedia({
        FileId: w.clipId,
        MediaProcessTask: { TranscodeTaskSet: [{ Definition: hlsDefinition }] },
      });
      const { detail } = await waitForTask(w.vod, TaskId!, { timeoutMs: 120_000 });
      assert.equal(results(detail).Transcode![0].Status, "SUCCESS");
      await w.vod.ModifyEventConfig({ PersistenceCompleteEventSwitch: "ON" } as any);
    },
    async submit(w) {
      const before = new Set(await taskIdsOf(w.vod, "FastClipMedia"));
      const r: any = await w.vod.FastEditMedia({
        FileInfos: [{ FileId: w.clipId, AudioVideoType: "Transcode", TranscodeDefinition: hlsDefinition }],
      });
      // FastEditMedia answers the new FileId only: its persistence task is found by DescribeTasks.
      const added = (await taskIdsOf(w.vod, "FastClipMedia")).filter((id) => !before.has(id));
      assert.equal(added.length, 1, "one FastClipMedia task queued");
      return { taskId: added[0]!, eventKey: r.FileId };
    },
    event: "PersistenceComplete",
    async check(w, _d, s) {
      await assertPlayable(w, s.eventKey!, CLIP.seconds);
    },
  },
  ReviewAudioVideo: {
    // The review models are the optional AI packages (.ci/run installs them).
    skip: aiMissing("porn").length + aiMissing("ocr").length > 0 && "the AI packages are not installed",
    submit: async (w) => ({ taskId: (await w.vod.ReviewAudioVideo({ FileId: w.clipId })).TaskId! }),
    event: "ReviewAudioVideoComplete",
    async check(w, d) {
      const t = d.ReviewAudioVideoTask;
      assert.deepEqual(t.Input, { FileId: w.clipId, Definition: 10, ReviewContents: ["Media"] });
      // A test pattern shows neither porn nor a listed word.
      assert.equal(t.Output.Suggestion, "pass", JSON.stringify(t.Output));
      assert.deepEqual(t.Output.SegmentSet, []);
    },
  },
  ExtractTraceWatermark: {
    prepare: async (w) => void (await markedOutputs(w)),
    submit: async (w) => ({
      taskId: (await w.vod.ExtractTraceWatermark({ Url: await markUrl(w, "trace") })).TaskId!,
    }),
    event: "ExtractTraceWatermarkComplete",
    async check(_w, d) {
      const t = d.ExtractTraceWatermarkTask;
      assert.equal(t.Output.Uv, MARK_UV, t.Message);
    },
  },
  ExtractCopyRightWatermark: {
    prepare: async (w) => void (await markedOutputs(w)),
    submit: async (w) => ({
      taskId: (await w.vod.ExtractCopyRightWatermark({ Url: await markUrl(w, "copyRight") })).TaskId!,
    }),
    event: "ExtractCopyRightWatermarkComplete",
    async check(_w, d) {
      const t = d.ExtractCopyRightWatermarkTask;
      assert.equal(t.Output.Text, MARK_TEXT, t.Message);
    },
  },
  ExtractBlindWatermark: {
    prepare: async (w) => void (await markedOutputs(w)),
    submit: async (w) => ({
      taskId: (
        await w.vod.ExtractBlindWatermark({
          Type: "blind-basic",
          InputInfo: { Type: "URL", Url: await markUrl(w, "blind") },
          SubAppId: APP_ID,
        } as any)
      ).TaskId!,
    }),
    event: "ExtractBlindWatermarkComplete",
    async check(_w, d) {
      const t = d.ExtractBlindWatermarkTask;
      assert.equal(t.IsDetected, true, t.Message);
      assert.equal(t.Result, MARK_TEXT);
    },
  },
} satisfies Record<TaskTypeName, LifecycleCase>;

const MARK_UV = "A1B2C3";
const MARK_TEXT = "lifecycle mark";
let marked: Promise<{ trace: string; copyRight: string; blind: string }> | undefined;

/**
 * Transcodes carrying each digital mark, made once for the three Extract* cases, from their own
 * 320x180 10 s clip: the shared one (160x90, 2 s) is smaller and shorter than an extraction
 * needs to find a mark. Their URLs name the server that made them: markUrl puts them on the
 * running one (each case restarts it on another port), which reads them from its storage.
 */
function markedOutputs(w: World) {
  marked ??= (async () => {
    await makeVideo(w.tools, join(w.dir, "marks.mp4"), { width: 320, height: 180, seconds: 10 });
    const pulled = await w.vod.PullUpload({ MediaUrl: `${w.files.url}/marks.mp4` });
    const fileId = (await waitForTask(w.vod, pulled.TaskId!)).detail.PullUploadTask.FileId;
    // One template per output: outputs of one Definition share a file name.
    const defs: number[] = [];
    for (let i = 0; i < 3; i++)
      defs.push(
        (
          await w.vod.CreateTranscodeTemplate({
            Container: "mp4",
            VideoTemplate: { Codec: "libx264", Fps: 25, Bitrate: 400 },
            AudioTemplate: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100 },
          })
        ).Definition!,
      );
    const blind = await w.vod.CreateBlindWatermarkTemplate({ Type: "blind-basic", TextContent: MARK_TEXT });
    const { TaskId } = await w.vod.ProcessMedia({
      FileId: fileId,
      ExtInfo: JSON.stringify({ Uv: MARK_UV }),
      MediaProcessTask: {
        TranscodeTaskSet: [
          { Definition: defs[0], TraceWatermark: { Switch: "ON" } },
          { Definition: defs[1], CopyRightWatermark: { Text: MARK_TEXT } },
          { Definition: defs[2], BlindWatermark: { Definition: blind.Definition! } },
        ],
      } as any,
    });
    const { detail } = await waitForTask(w.vod, TaskId!, { timeoutMs: 120_000 });
    const urls = results(detail).Transcode!.map((t: any) => {
      assert.equal(t.Status, "SUCCESS", t.Message);
      return t.Output.Url as string;
    });
    return { trace: urls[0]!, copyRight: urls[1]!, blind: urls[2]! };
  })();
  return marked;
}

async function markUrl(w: World, kind: "trace" | "copyRight" | "blind"): Promise<string> {
  const made = new URL((await markedOutputs(w))[kind]);
  return new URL(made.pathname + made.search, w.server.url).href;
}

let inspectDefinition = 0;

async function taskIdsOf(vod: Vod, taskType: string): Promise<string[]> {
  const r: any = await vod.DescribeTasks({ Limit: 100 });
  return r.TaskSet.filter((t: any) => t.TaskType === taskType).map((t: any) => t.TaskId);
}

/** A test hook of the running server. */
async function hook(server: OpenvodProcess, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${server.url}/_openvod/test/${path}`, {
    method: body === undefined ? "GET" : "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { "content-type": "application/json" },
  });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return res.json();
}

/** DescribeTaskDetail, checked strictly against the spec, with the payload of the type only. */
async function detailOf(vod: Vod, taskId: string, payloadField: string | undefined): Promise<any> {
  const d: any = await vod.DescribeTaskDetail({ TaskId: taskId });
  strictDetail(d, payloadField);
  return d;
}

function strictDetail(d: any, payloadField: string | undefined): void {
  assertShape(responseType("DescribeTaskDetail"), d);
  for (const [k, v] of Object.entries(d)) {
    if (!k.endsWith("Task")) continue;
    if (k === payloadField) assert.notEqual(v, null, `${k} is set`);
    else assert.equal(v ?? null, null, `${k} is null for ${d.TaskType}`);
  }
}

describe("task lifecycle, for every registered task type", () => {
  const w = {} as World;
  let dataDir: string;
  const env = { OPENVOD_TEST_HOOKS: "1", OPENVOD_TASK_TIMEOUT_MS: "120000" };
  const servers: OpenvodProcess[] = [];
  /** Every event PullEvents delivered (each confirmed at once). */
  const events: any[] = [];

  async function start(): Promise<void> {
    w.server = await startOpenvod({ dataDir, env });
    servers.push(w.server);
    w.vod = w.server.client();
  }

  /** Pulls (and confirms) events until one of `type` that contains `key` came. */
  async function completionEvent(type: string, key: string): Promise<any> {
    const find = () => events.find((e) => e.EventType === type && JSON.stringify(e).includes(key));
    await until(
      `${type} for ${key}`,
      async () => {
        if (find()) return true;
        const r: any = await w.vod.PullEvents({});
        events.push(...r.EventSet);
        if (r.EventSet.length)
          await w.vod.ConfirmEvents({ EventHandles: r.EventSet.map((e: any) => e.EventHandle) });
        return Boolean(find());
      },
      60_000,
    );
    return find();
  }

  before(async () => {
    w.tools = await locateMediaTools();
    w.dir = tempDir();
    dataDir = tempDir("openvod-lifecycle-");
    await makeVideo(w.tools, join(w.dir, "clip.mp4"), CLIP);
    w.clip = readFileSync(join(w.dir, "clip.mp4"));
    w.files = await new FileServer(w.dir).start();
    await start();
    const { TaskId } = await w.vod.PullUpload({ MediaUrl: `${w.files.url}/clip.mp4` });
    const { detail } = await waitForTask(w.vod, TaskId!);
    assert.equal(detail.PullUploadTask.ErrCode, 0, detail.PullUploadTask.Message);
    w.clipId = detail.PullUploadTask.FileId;
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await w.files?.stop();
    for (const d of [w.dir, dataDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  for (const [taskType, c] of Object.entries(CASES) as [TaskTypeName, LifecycleCase][]) {
    it(`${taskType}: WAITING, PROCESSING, kill -9, resumed to FINISH, strict view, ${c.event}`, async (t) => {
      if (c.skip) return t.skip(c.skip);
      const payloadField: string | undefined = TASK_KINDS[taskType].payloadField;
      await c.prepare?.(w);

      await hook(w.server, "workers", { paused: true });
      const submitted = await c.submit(w);
      const waiting = await detailOf(w.vod, submitted.taskId, payloadField);
      assert.equal(waiting.TaskType, taskType);
      assert.equal(waiting.Status, "WAITING");

      await hook(w.server, "hold", { TaskType: taskType });
      await hook(w.server, "workers", { paused: false });
      await until(`${submitted.taskId} to be held`, async () =>
        (await hook(w.server, "hold")).tasks.includes(submitted.taskId),
      );
      const processing = await detailOf(w.vod, submitted.taskId, payloadField);
      assert.equal(processing.Status, "PROCESSING");

      await w.server.kill9();
      await start();
      const { detail, seen } = await waitForTask(w.vod, submitted.taskId, { timeoutMs: 120_000 });
      assert.equal(detail.Status, "FINISH", `seen: ${seen}`);
      strictDetail(detail, payloadField);
      if (payloadField) {
        const p = detail[payloadField];
        // Every payload but QualityInspectTask has ErrCode; that one says ErrCodeExt only.
        if ("ErrCode" in p) assert.equal(p.ErrCode, 0, p.Message);
        else assert.equal(p.ErrCodeExt, "", p.Message);
        if ("Progress" in p) assert.equal(p.Progress, 100);
      }
      await c.check(w, detail, submitted);

      const event = await completionEvent(c.event, submitted.eventKey ?? submitted.taskId);
      assertShape("EventContent", event);
    });
  }

  it("a held task runs on when released, without a restart", async () => {
    await hook(w.server, "hold", { TaskType: "DescribeFileAttributesTask" });
    const { TaskId } = await w.vod.DescribeFileAttributes({ FileId: w.clipId });
    await until("the task to be held", async () => (await hook(w.server, "hold")).tasks.includes(TaskId));
    assert.equal((await w.vod.DescribeTaskDetail({ TaskId: TaskId! })).Status, "PROCESSING");
    assert.deepEqual((await hook(w.server, "release", { TaskType: "DescribeFileAttributesTask" })).released, [
      TaskId,
    ]);
    const { detail } = await waitForTask(w.vod, TaskId!);
    assert.equal(detail.DescribeFileAttributesTask.ErrCode, 0);
  });
});

describe("test hooks", () => {
  it("are absent unless OPENVOD_TEST_HOOKS is set", async () => {
    const server = await startOpenvod();
    try {
      for (const [method, path] of [
        ["POST", "hold"],
        ["GET", "hold"],
        ["POST", "release"],
        ["POST", "workers"],
        ["POST", "clock"],
      ] as const) {
        const res = await fetch(`${server.url}/_openvod/test/${path}`, {
          method,
          ...(method === "POST" ? { body: '{"TaskType":"PullUpload","paused":true}' } : {}),
        });
        const text = await res.text();
        // Not mounted: the path is answered as any unknown one, with the API's error envelope.
        assert.equal(res.status, 200, text);
        assert.equal(
          JSON.parse(text).Response.Error.Code,
          "UnsupportedProtocol",
          `${method} ${path}: ${text}`,
        );
      }
      // ...and the pool was not paused by the refused call: a task runs to its end.
      const vod = server.client();
      const { TaskId } = await vod.PullUpload({ MediaUrl: "http://127.0.0.1:9/none.mp4" });
      const { detail } = await waitForTask(vod, TaskId!);
      assert.equal(detail.Status, "FINISH");
    } finally {
      await server.stop();
    }
  });
});

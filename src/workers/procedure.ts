// Runs a Procedure task: each sub-task in turn with ffmpeg (src/media/jobs), its outputs moved
// into blob storage under deterministic keys (a re-run after a crash replaces them), and the
// results kept with the media item in the same transaction that finishes the task.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { blobKey, type LocalBlob } from "../blobs/types.js";
import { makeEvent } from "../domain/events.js";
import { blobRef } from "../domain/blobrefs.js";
import { type ProcedureInput, type ProcedureState, type SubTask } from "../domain/procedure.js";
import { procedureEvent } from "../domain/tasktypes/procedure.js";
import { markKey, type MarkSpec } from "../domain/digitalMarks.js";
import { processCpus } from "../media/cpus.js";
import * as jobs from "../media/jobs/index.js";
import { probeMedia, probeMediaRaw, type ProbedMedia } from "../media/probe.js";
import { TaskErrCode } from "../protocol/errors.js";
import type { Deps } from "../domain/deps.js";
import { taskFailureOf } from "./failures.js";
import {
  dropPieces,
  segmentedAdaptive,
  segmentedTranscode,
  segmentSettings,
  type SegmentedRun,
} from "./segments.js";
import { contentReview, recognize } from "./ai.js";
import type { MediaPart, TaskEffects, TaskRow } from "../store/types.js";
import { TaskTimeout, type TaskContext, type TaskResult } from "../queue/pool.js";

async function md5Of(file: string): Promise<string> {
  const h = createHash("md5");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

async function treeSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await treeSize(p) : (await stat(p)).size;
  }
  return total;
}

/** What one sub-task produced: its Output item, the part kept with the media, a new cover. */
interface Produced {
  output: Record<string, any>;
  part?: { definition: number; blobs: string[] };
  coverKey?: string;
  blobs?: string[];
}

interface RunEnv {
  ctx: TaskContext;
  job: jobs.JobContext;
  source: string;
  probed: ProbedMedia;
  /** `<app>/<fileId>`: every output lives under it, so DeleteMedia removes them all. */
  base: string;
  scratch: string;
  /** The sub-task's place in the task (names its segments). */
  index: number;
}

async function watermarksOf(env: RunEnv, sub: SubTask): Promise<jobs.Watermark[]> {
  const out: jobs.Watermark[] = [];
  for (const w of sub.watermarks) {
    const imageKey = w.template._imageKey as string | undefined;
    out.push({
      template: w.template,
      imageFile: imageKey ? await localCopy(env.ctx, imageKey) : undefined,
      text: w.input.TextContent || w.template.TextTemplate?.TextContent,
      startTimeOffset: w.input.StartTimeOffset,
      endTimeOffset: w.input.EndTimeOffset,
    });
  }
  return out;
}

const RUNNERS: Record<SubTask["type"], (env: RunEnv, sub: SubTask) => Promise<Produced>> = {
  async AiRecognition(env, sub) {
    return { output: await recognize(env.job, env.source, env.ctx.deps, env.ctx.task.appId, sub.template) };
  },
  async AiAnalysis(env, sub) {
    if (sub.template.CoverConfigure?.Switch !== "ON") return { output: { results: {} } };
    const n = env.ctx.task.taskId.slice(-12);
    const file = join(env.scratch, "ai-cover.jpg");
    const pick = await jobs.pickCover(env.job, env.source, file);
    const key = blobKey(env.ctx.task.appId, env.ctx.task.fileId, `aiCover-${n}.jpg`);
    await env.ctx.deps.blobs.putFile(key, file);
    return {
      output: {
        results: {
          Cover: {
            CoverSet: [{ CoverUrl: blobRef(key), Confidence: pick.confidence }],
            CoverSetFileUrl: "",
            CoverSetFileUrlExpireTime: "",
          },
        },
      },
      blobs: [key],
    };
  },
  async AiContentReview(env, sub) {
    return {
      output: await contentReview(env.job, env.source, env.ctx.deps, env.ctx.task.appId, sub.template),
    };
  },
  async Transcode(env, sub) {
    const t = sub.template;
    const def = Number(t.Definition);
    const ext = jobs.containerExtension(t.Container);
    const blobs = env.ctx.deps.blobs;
    const watermarks = await watermarksOf(env, sub);
    const mark = sub.mark;
    const common = {
      startTimeOffset: sub.input.StartTimeOffset,
      endTimeOffset: sub.input.EndTimeOffset,
      watermarks,
      sourceDuration: env.probed.metaData.Duration,
      digitalMark: mark && {
        key: markKey(env.ctx.deps, env.ctx.task.appId, mark.kind),
        payload: mark.payload,
        dir: env.scratch,
      },
    };
    // A long source in pieces on any worker (OPENVOD_SEGMENT_SECONDS), else one ffmpeg here.
    const cuts = await jobs.planTranscodeCuts(env.job, env.source, t, common, segmentSettings(env.ctx.deps));
    const run = (out: string) =>
      cuts
        ? segmentedTranscode(segmentedRun(env), t, common, cuts, out)
        : jobs.transcode(env.job, env.source, out, t, common);
    let key: string;
    let file: string;
    let size: number;
    let md5 = "";
    if (ext === "m3u8") {
      const dir = join(env.scratch, `v.f${def}`);
      await mkdir(dir, { recursive: true });
      file = join(dir, `v.f${def}.m3u8`);
      const { probed } = await run(file);
      size = await treeSize(dir);
      const prefix = `${env.base}/v.f${def}`;
      await blobs.putDir(prefix, dir);
      key = `${prefix}/v.f${def}.m3u8`;
      return {
        output: transcodeItem(key, def, probed, size, md5, mark),
        part: { definition: def, blobs: [prefix + "/"] },
      };
    }
    file = join(env.scratch, `v.f${def}.${ext}`);
    const { probed } = await run(file);
    size = probed.metaData.Size;
    md5 = await md5Of(file);
    key = blobKey(env.ctx.task.appId, env.ctx.task.fileId, `v.f${def}.${ext}`);
    await blobs.putFile(key, file);
    return {
      output: transcodeItem(key, def, probed, size, md5, mark),
      part: { definition: def, blobs: [key] },
    };
  },

  async AnimatedGraphics(env, sub) {
    const t = sub.template;
    const def = Number(t.Definition);
    const ext = String(t.Format || "gif").toLowerCase() === "webp" ? "webp" : "gif";
    const file = join(env.scratch, `animated-${def}.${ext}`);
    await jobs.animatedGraphic(env.job, env.source, file, t, {
      startTimeOffset: sub.input.StartTimeOffset,
      endTimeOffset: sub.input.EndTimeOffset,
      sourceDuration: env.probed.metaData.Duration,
    });
    const probed = await probeMedia(
      env.ctx.deps.tools,
      file,
      60_000,
      env.ctx.signal,
      `output ${basename(file)}`,
    );
    const md5 = await md5Of(file);
    const key = blobKey(env.ctx.task.appId, env.ctx.task.fileId, `animated-${def}.${ext}`);
    await env.ctx.deps.blobs.putFile(key, file);
    const m = probed.metaData;
    return {
      output: {
        Url: blobRef(key),
        Definition: def,
        Container: ext,
        Height: m.Height,
        Width: m.Width,
        Bitrate: m.Bitrate,
        Size: m.Size,
        Md5: md5,
        StartTimeOffset: sub.input.StartTimeOffset,
        EndTimeOffset: sub.input.EndTimeOffset,
      },
      part: { definition: def, blobs: [key] },
    };
  },

  async SnapshotByTimeOffset(env, sub) {
    const t = sub.template;
    const def = Number(t.Definition);
    const duration = env.probed.metaData.Duration;
    const offsetsMs: number[] = sub.input.ExtTimeOffsetSet?.length
      ? jobs.parseExtTimeOffsets(sub.input.ExtTimeOffsetSet, duration)
      : (sub.input.TimeOffsetSet as number[]);
    const dir = join(env.scratch, `snapshot-${def}`);
    await mkdir(dir, { recursive: true });
    const shots = await jobs.snapshotsByTimeOffset(env.job, env.source, dir, t, offsetsMs, {
      watermarks: await watermarksOf(env, sub),
      sourceDuration: duration,
    });
    const prefix = `${env.base}/snapshot-${def}`;
    await env.ctx.deps.blobs.putDir(prefix, dir);
    const wm = sub.watermarks.map((w) => Number(w.input.Definition));
    return {
      output: {
        Definition: def,
        PicInfoSet: shots.map((s) => ({
          TimeOffset: s.timeOffsetMs,
          Url: blobRef(`${prefix}/${relative(dir, s.file)}`),
          WaterMarkDefinition: wm,
        })),
      },
      part: { definition: def, blobs: [prefix + "/"] },
    };
  },

  async SampleSnapshot(env, sub) {
    const t = sub.template;
    const def = Number(t.Definition);
    const dir = join(env.scratch, `sample-${def}`);
    await mkdir(dir, { recursive: true });
    const files = await jobs.sampleSnapshots(env.job, env.source, dir, t, {
      watermarks: await watermarksOf(env, sub),
      sourceDuration: env.probed.metaData.Duration,
    });
    const prefix = `${env.base}/sample-${def}`;
    await env.ctx.deps.blobs.putDir(prefix, dir);
    return {
      output: {
        Definition: def,
        SampleType: t.SampleType,
        Interval: t.SampleInterval,
        ImageUrlSet: files.map((f) => blobRef(`${prefix}/${relative(dir, f)}`)),
        WaterMarkDefinition: sub.watermarks.map((w) => Number(w.input.Definition)),
      },
      part: { definition: def, blobs: [prefix + "/"] },
    };
  },

  async ImageSprites(env, sub) {
    const t = sub.template;
    const def = Number(t.Definition);
    const dir = join(env.scratch, `sprite-${def}`);
    await mkdir(dir, { recursive: true });
    const prefix = `${env.base}/sprite-${def}`;
    const urls = env.ctx.deps.urls;
    const sprites = await jobs.imageSprites(env.job, env.source, dir, t, {
      sourceDuration: env.probed.metaData.Duration,
      spriteUrl: (_i, name) => urls.file(`${prefix}/${name}`),
    });
    await env.ctx.deps.blobs.putDir(prefix, dir);
    return {
      output: {
        Definition: def,
        Height: sprites.height,
        Width: sprites.width,
        // The spec: the number of small pictures in each sprite sheet.
        TotalCount: sprites.cellsPerImage,
        ImageUrlSet: sprites.images.map((f) => blobRef(`${prefix}/${relative(dir, f)}`)),
        WebVttUrl: blobRef(`${prefix}/${relative(dir, sprites.webVtt)}`),
      },
      part: { definition: def, blobs: [prefix + "/"] },
    };
  },

  async CoverBySnapshot(env, sub) {
    const t = sub.template;
    const file = join(env.scratch, `cover-${t.Definition}.jpg`);
    await jobs.coverSnapshot(env.job, env.source, file, t, {
      positionType: sub.input.PositionType,
      positionValue: sub.input.PositionValue,
      watermarks: await watermarksOf(env, sub),
      sourceDuration: env.probed.metaData.Duration,
    });
    // A fresh name per run: clients and caches never see an old cover under a new one's URL.
    const key = blobKey(env.ctx.task.appId, env.ctx.task.fileId, `cover-${Date.now()}.jpg`);
    await env.ctx.deps.blobs.putFile(key, file);
    return { output: { CoverUrl: blobRef(key) }, coverKey: key };
  },

  async AdaptiveDynamicStreaming(env, sub) {
    const t = sub.template;
    const def = Number(t.Definition);
    const dir = join(env.scratch, `adp-${def}`);
    await mkdir(dir, { recursive: true });
    const o = { watermarks: await watermarksOf(env, sub), sourceDuration: env.probed.metaData.Duration };
    const cuts = await jobs.planAdaptiveCuts(env.job, env.source, t, o, segmentSettings(env.ctx.deps));
    const r = cuts
      ? await segmentedAdaptive(segmentedRun(env), t, o, cuts, dir)
      : await jobs.adaptiveStreaming(env.job, env.source, dir, t, o);
    const size = await treeSize(dir);
    const prefix = `${env.base}/adp-${def}`;
    await env.ctx.deps.blobs.putDir(prefix, dir);
    return {
      output: {
        Definition: def,
        Package: String(t.Format).toUpperCase(),
        DrmType: "",
        Url: blobRef(`${prefix}/${r.manifest}`),
        Size: size,
        DigitalWatermarkType: "None",
        SubStreamSet: r.streams.map((s) => ({
          Type: s.type,
          Width: s.width,
          Height: s.height,
          Size: s.size,
        })),
        CopyRightWatermarkText: "",
      },
      part: { definition: def, blobs: [prefix + "/"] },
    };
  },
};

function segmentedRun(env: RunEnv): SegmentedRun {
  return { ctx: env.ctx, job: env.job, name: segmentJobName(env.index), source: env.source, scratch: env.scratch };
}

function relative(dir: string, file: string): string {
  return file.startsWith(dir + "/") ? file.slice(dir.length + 1) : file.split("/").pop()!;
}

function transcodeItem(
  key: string,
  def: number,
  probed: ProbedMedia,
  size: number,
  md5: string,
  mark?: MarkSpec,
): Record<string, any> {
  const m = probed.metaData;
  return {
    Url: blobRef(key),
    Definition: def,
    Bitrate: m.Bitrate,
    Height: m.Height,
    Width: m.Width,
    Size: size,
    Duration: m.Duration,
    Md5: md5,
    Container: m.Container,
    VideoStreamSet: m.VideoStreamSet,
    AudioStreamSet: m.AudioStreamSet,
    DigitalWatermarkType: mark?.kind === "Trace" || mark?.kind === "CopyRight" ? mark.kind : "None",
    CopyRightWatermarkText: mark?.kind === "CopyRight" ? mark.value : "",
    ...(mark?.kind === "Blind" ? { BlindWatermarkDefinition: mark.definition } : {}),
  };
}

/** Local copies of blobs (source, watermark images) a run reads, held until the run ends. */
const held = new WeakMap<TaskContext, LocalBlob[]>();

async function localCopy(ctx: TaskContext, key: string): Promise<string> {
  const copy = await ctx.deps.blobs.openLocal(key);
  if (!held.has(ctx)) held.set(ctx, []);
  held.get(ctx)!.push(copy);
  return copy.path;
}

/**
 * An aborted run's outputs: everything under a deleted item's directory, else what its
 * successful sub-tasks stored, except keys the item still references (a re-run of the same
 * definition writes the same key as the part it replaces, which must not lose its file).
 */
export async function discardProcedure(deps: Deps, task: TaskRow, state: Record<string, unknown>) {
  const media = await deps.store.getMedia(task.appId, task.fileId);
  if (!media) return deps.blobs.remove(blobKey(task.appId, task.fileId) + "/");
  const parts = await deps.store.getMediaParts(task.appId, task.fileId);
  const kept = new Set([media.blobKey, media.coverKey, ...parts.flatMap((p) => p.blobs)]);
  for (const sub of (state as ProcedureState).subtasks ?? []) {
    if (sub.status !== "SUCCESS") continue;
    for (const key of [
      ...(sub.part?.blobs ?? []),
      ...(sub.coverKey ? [sub.coverKey] : []),
      ...(sub.blobs ?? []),
    ])
      if (!kept.has(key)) await deps.blobs.remove(key);
  }
}

/** A sub-task's segment job: its place in the task. */
const segmentJobName = (index: number) => `sub-${index}`;

/** The pieces its segmented sub-tasks kept for a later run (see src/workers/segments.ts). */
export async function procedureLeftovers(deps: Deps, task: TaskRow) {
  const { subtasks } = task.input as unknown as ProcedureInput;
  for (let i = 0; i < subtasks.length; i++)
    await dropPieces(deps, task.taskId, task.appId, task.fileId, segmentJobName(i));
}

export async function runProcedure(ctx: TaskContext): Promise<TaskResult> {
  try {
    return await runSubtasks(ctx);
  } finally {
    for (const copy of held.get(ctx) ?? []) copy.release();
    held.delete(ctx);
  }
}

async function runSubtasks(ctx: TaskContext): Promise<TaskResult> {
  const { task, deps } = ctx;
  const input = task.input as unknown as ProcedureInput;
  const subtasks: SubTask[] = structuredClone((ctx.state as ProcedureState).subtasks ?? input.subtasks);
  const config = await deps.store.getEventConfig(task.appId);

  // Change mode: an event on every sub-task state change, saved with that state.
  const save = async () => {
    ctx.state = { subtasks } satisfies ProcedureState;
    const events =
      input.tasksNotifyMode === "Change"
        ? [
            makeEvent(
              task.appId,
              config,
              procedureEvent({ ...task, state: ctx.state }, deps.urls),
              deps.now(),
            ),
          ]
        : [];
    await ctx.saveNow(events);
  };

  // The whole task ran out of time (OPENVOD_TASK_TIMEOUT_MS): what is left fails with 70000 and
  // the task still ends FINISH with the outputs of the sub-tasks done so far. Any other abort
  // (shutdown, lost lease) leaves the sub-tasks as they are, to be run again.
  const taskTimeout = (): TaskTimeout | undefined =>
    ctx.signal.aborted && ctx.signal.reason instanceof TaskTimeout ? ctx.signal.reason : undefined;
  const taskTimeoutMessage = (t: TaskTimeout) =>
    `The task timed out after ${Math.round(t.timeoutMs / 1000)} s; this sub-task was stopped.`;

  let probed: ProbedMedia | undefined;
  // Probed once here; every job reuses it instead of starting its own ffprobe.
  let sourceProbe: jobs.JobContext["sourceProbe"];
  let source = "";
  let sourceError = "";
  let sourceErrCode: number = TaskErrCode.sourceFile;
  const media = await deps.store.getMedia(task.appId, input.fileId);
  if (!media || !media.blobKey || !(await deps.blobs.stat(media.blobKey))) {
    sourceError = "The source file no longer exists.";
  } else {
    source = await localCopy(ctx, media.blobKey);
    try {
      const raw = await probeMediaRaw(deps.tools, source, 60_000, ctx.signal);
      probed = raw.probed;
      sourceProbe = { file: source, size: raw.size, data: raw.data };
    } catch (err) {
      const timedOut = taskTimeout();
      const failure = taskFailureOf(err);
      if (timedOut) {
        sourceError = taskTimeoutMessage(timedOut);
        sourceErrCode = TaskErrCode.internal;
      } else if (failure) {
        sourceError = failure.message;
      } else throw err;
    }
  }

  for (const sub of subtasks) {
    if (sub.status !== "PROCESSING") continue; // finished before a restart
    sub.beginTime = deps.now();
    sub.progress = 0;
    await save();
    const scratch = join(ctx.tmpDir, `sub-${subtasks.indexOf(sub)}`);
    await mkdir(scratch, { recursive: true });
    try {
      if (!probed) throw new jobs.JobError(sourceError, sourceErrCode as jobs.JobErrCode);
      const env: RunEnv = {
        ctx,
        probed,
        source,
        scratch,
        base: blobKey(task.appId, task.fileId),
        index: subtasks.indexOf(sub),
        job: {
          tools: deps.tools,
          signal: ctx.signal,
          // Per sub-task: one that hangs fails alone, and the next one still runs.
          timeoutMs: deps.config.subtaskTimeoutMs,
          cpus: processCpus(deps.config.cpus),
          sourceProbe,
          onProgress: (p) => {
            sub.progress = Math.min(99, Math.floor(p));
            ctx.update({ subtasks });
          },
        },
      };
      const produced = await RUNNERS[sub.type](env, sub);
      sub.output = produced.output;
      sub.part = produced.part;
      sub.coverKey = produced.coverKey;
      sub.blobs = produced.blobs;
      sub.status = "SUCCESS";
      sub.progress = 100;
    } catch (err) {
      const timedOut = taskTimeout();
      if (ctx.signal.aborted && !timedOut) throw err;
      const failure = taskFailureOf(err);
      sub.status = "FAIL";
      if (timedOut) {
        sub.errCode = TaskErrCode.internal;
        sub.errCodeExt = "InternalError";
        sub.message = taskTimeoutMessage(timedOut);
      } else if (failure) {
        sub.errCode = failure.errCode;
        sub.errCodeExt = failure.errCodeExt;
        sub.message = failure.message;
      } else {
        deps.log.error({ err, taskId: task.taskId, type: sub.type }, "sub-task failed");
        sub.errCode = TaskErrCode.internal;
        sub.errCodeExt = "InternalError";
        sub.message = "An internal error occurred while processing.";
      }
    } finally {
      // Whatever the outcome, nothing of this sub-task stays in scratch (published outputs
      // have been moved into blob storage).
      await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
    }
    sub.finishTime = deps.now();
    await save();
  }

  // Outputs of every successful sub-task, including those finished before a restart.
  const done = subtasks.filter((s) => s.status === "SUCCESS");
  const parts: MediaPart[] = done
    .filter((s) => s.part)
    .map((s) => ({
      appId: task.appId,
      fileId: task.fileId,
      kind: s.type,
      definition: s.part!.definition,
      item: s.output!,
      blobs: s.part!.blobs,
      createTime: deps.now(),
    }));
  const coverKey = [...done].reverse().find((s) => s.coverKey)?.coverKey;
  ctx.state = { subtasks } satisfies ProcedureState;
  const effects: TaskEffects = { putParts: parts };
  if (coverKey) effects.setCover = { appId: task.appId, fileId: task.fileId, coverKey };
  return { effects };
}

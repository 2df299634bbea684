// Segment-parallel transcoding. A Transcode or AdaptiveDynamicStreaming sub-task of a long source
// (OPENVOD_SEGMENT_SECONDS, OPENVOD_SEGMENT_MIN_SECONDS) becomes work items in the store's
// segments table: one per run of frames between cut points (video only), and one for the whole
// audio, encoded in one piece so the join has no gap or click. Any worker of any process claims
// them with a lease, as it claims tasks (src/queue/pool.ts runs them in its slots); an item whose
// worker died is claimed again when its lease runs out, alone. The parent task gives its slot
// back while it waits (its lease still renewed), then joins the pieces without re-encoding
// (src/media/jobs/transcode.ts joinTranscode, adaptive.ts joinAdaptive) and probes the result.
// A parent that runs again after a crash finds its items, and what they produced, where it left them.
import { randomUUID } from "node:crypto";
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { blobKey, type LocalBlob } from "../blobs/types.js";
import type { Deps } from "../domain/deps.js";
import { processCpus } from "../media/cpus.js";
import * as jobs from "../media/jobs/index.js";
import type { CutPlan } from "../media/jobs/segments.js";
import { TaskErrCode, TaskFailure } from "../protocol/errors.js";
import { LeaseLost, TaskAborted, TaskTimeout, type TaskContext, type WorkSource } from "../queue/pool.js";
import type { SegmentRow } from "../store/types.js";
import { taskFailureOf } from "./failures.js";

/** What a worker needs to encode one piece (the segments row's input). */
export interface PieceInput {
  /** Which job the piece is of. */
  of: "Transcode" | "AdaptiveDynamicStreaming";
  part: "video" | "audio";
  fileId: string;
  template: jobs.Template;
  sourceDuration: number;
  /** Video: the cut (seconds of output, frames; 0 frames to the end) and the frame rate of the cuts. */
  start: number;
  frames: number;
  fps: number;
  /** Where the encoded piece is stored. */
  key: string;
  /** Seconds of output it covers, for progress. */
  weight: number;
}

/** How often a waiting parent looks at its items. */
const POLL_MS = 300;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });

/** The pieces of a cut plan: the video between cut points, then the audio (when kept). */
export function piecesOf(
  ctx: TaskContext,
  job: string,
  of: PieceInput["of"],
  template: jobs.Template,
  plan: CutPlan,
  withAudio: boolean,
): PieceInput[] {
  const { task } = ctx;
  const base = { of, fileId: task.fileId, template, sourceDuration: plan.duration, fps: plan.fps };
  const key = (name: string) => blobKey(task.appId, task.fileId, `pieces-${task.taskId}-${job}`, name);
  const pieces: PieceInput[] = plan.cuts.map((c, i) => ({
    ...base,
    part: "video",
    start: c.start,
    frames: c.frames,
    key: key(`${i}.mp4`),
    weight: c.frames > 0 ? c.frames / plan.fps : Math.max(0.1, plan.duration - c.start),
  }));
  // Audio costs a small part of what video does.
  if (withAudio)
    pieces.push({ ...base, part: "audio", start: 0, frames: 0, key: key("audio.mp4"), weight: plan.duration / 20 });
  return pieces;
}

/**
 * Queues the pieces (those of an earlier run of the task are kept as they are), waits for all of
 * them with the task's slot given back, and returns local copies of what they produced, in order.
 * A failed piece fails the sub-task with its error. Progress: 0-95 over the pieces' seconds.
 */
export async function encodePieces(
  ctx: TaskContext,
  job: string,
  pieces: PieceInput[],
  onProgress: (percent: number) => void,
): Promise<LocalBlob[]> {
  const { task, deps } = ctx;
  await deps.store.insertSegments(
    pieces.map((input, idx) => ({
      taskId: task.taskId,
      appId: task.appId,
      job,
      idx,
      priority: task.priority,
      input: input as unknown as Record<string, unknown>,
      createTime: deps.now(),
    })),
  );
  deps.wakeWorkers();
  const rows = await ctx.idle(async () => {
    for (;;) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const rows = await deps.store.listSegments(task.taskId, job);
      const failed = rows.find((r) => r.status === "FAILED");
      if (failed) {
        const r = failed.result as { errCode?: number; errCodeExt?: string; message?: string };
        throw new TaskFailure(
          r.errCode ?? TaskErrCode.internal,
          r.errCodeExt ?? "InternalError",
          r.message ?? "A segment of the transcode failed.",
        );
      }
      let done = 0;
      let total = 0;
      for (const r of rows) {
        const w = (r.input as unknown as PieceInput).weight;
        total += w;
        done += (w * (r.status === "DONE" ? 100 : r.progress)) / 100;
      }
      onProgress(total > 0 ? Math.floor((95 * done) / total) : 0);
      if (rows.length >= pieces.length && rows.every((r) => r.status === "DONE")) return rows;
      await sleep(POLL_MS, ctx.signal);
    }
  });
  const copies: LocalBlob[] = [];
  try {
    for (const r of rows) copies.push(await deps.blobs.openLocal((r.result as { key: string }).key));
  } catch (err) {
    for (const c of copies) c.release();
    throw err;
  }
  return copies;
}

/** Removes a job's items and what they stored. */
export async function dropPieces(deps: Deps, taskId: string, appId: number, fileId: string, job: string) {
  await deps.blobs.remove(blobKey(appId, fileId, `pieces-${taskId}-${job}`) + "/");
  await deps.store.deleteSegments(taskId, job);
}

/**
 * Runs `work` (queueing, waiting for and joining a job's pieces); when it fails, or the task was
 * aborted or timed out, the pieces go. A lost lease or a shutdown keeps them for the next run.
 */
export async function withPieces<T>(ctx: TaskContext, job: string, work: () => Promise<T>): Promise<T> {
  const { task, deps } = ctx;
  const drop = () =>
    dropPieces(deps, task.taskId, task.appId, task.fileId, job).catch((err) =>
      deps.log.warn({ err, taskId: task.taskId }, "removing the segments of a sub-task failed"),
    );
  let result: T;
  try {
    result = await work();
  } catch (err) {
    const reason = ctx.signal.aborted ? ctx.signal.reason : undefined;
    if (!reason || reason instanceof TaskAborted || reason instanceof TaskTimeout) await drop();
    throw err;
  }
  await drop();
  return result;
}

/** The pool's second source of work: the pieces any running parent queued. */
export function segmentWork(deps: Deps): WorkSource {
  return {
    async claim(owner) {
      const row = await deps.store.claimSegment(owner, deps.now(), deps.config.leaseMs);
      return row && ((signal) => runPiece(deps, owner, row, signal));
    },
  };
}

async function encodePiece(
  job: jobs.JobContext,
  source: string,
  out: string,
  p: PieceInput,
): Promise<void> {
  const o = { sourceDuration: p.sourceDuration };
  if (p.of === "Transcode")
    await jobs.transcodePiece(job, source, out, p.template, o, {
      kind: p.part,
      start: p.start,
      frames: p.frames,
      fps: p.fps,
    });
  else
    await jobs.adaptivePiece(job, source, out, p.template, o, {
      kind: p.part,
      start: p.start,
      frames: p.frames,
      fps: p.fps,
    });
}

/** Encodes one claimed piece and stores it; the lease is renewed (with progress) meanwhile. */
async function runPiece(deps: Deps, owner: string, row: SegmentRow, shutdown: AbortSignal): Promise<void> {
  const { store, config, log } = deps;
  const p = row.input as unknown as PieceInput;
  const fail = (errCode: number, errCodeExt: string, message: string) =>
    store.finishSegment(row.seq, owner, "FAILED", { errCode, errCodeExt, message });
  if (row.attempts > config.maxTaskAttempts) {
    await fail(
      TaskErrCode.internal,
      "InternalError",
      `A segment of the transcode was interrupted ${row.attempts - 1} times and was given up.`,
    );
    return;
  }
  const controller = new AbortController();
  const onShutdown = () => controller.abort(shutdown.reason);
  shutdown.addEventListener("abort", onShutdown, { once: true });
  let progress = 0;
  const renew = setInterval(
    () => {
      store
        .segmentHeartbeat(row.seq, owner, deps.now() + config.leaseMs, progress)
        .then((lease) => {
          if (lease === "lost") controller.abort(new LeaseLost());
          else if (lease === "abort") controller.abort(new TaskAborted());
        })
        .catch((err) => log.warn({ err, seq: row.seq }, "renewing a segment's lease failed"));
    },
    Math.min(2000, config.leaseMs / 3),
  );
  const tmp = join(config.dataDir, "tmp", `segment-${row.seq}-${randomUUID().slice(0, 8)}`);
  let copy: LocalBlob | undefined;
  try {
    await mkdir(tmp, { recursive: true });
    const media = await store.getMedia(row.appId, p.fileId);
    if (!media || !media.blobKey || !(await deps.blobs.stat(media.blobKey)))
      throw new TaskFailure(TaskErrCode.sourceFile, "SourceFileError", "The source file no longer exists.");
    copy = await deps.blobs.openLocal(media.blobKey);
    const out = join(tmp, `piece.mp4`);
    await encodePiece(
      {
        tools: deps.tools,
        signal: controller.signal,
        timeoutMs: config.subtaskTimeoutMs,
        cpus: processCpus(config.cpus),
        onProgress: (pct) => (progress = Math.min(99, Math.floor(pct))),
      },
      copy.path,
      out,
      p,
    );
    const size = (await stat(out)).size;
    if (controller.signal.aborted) throw controller.signal.reason;
    await deps.blobs.putFile(p.key, out);
    clearInterval(renew);
    await store.finishSegment(row.seq, owner, "DONE", { key: p.key, size });
    deps.wakeWorkers();
  } catch (err) {
    clearInterval(renew);
    const reason = controller.signal.aborted ? controller.signal.reason : undefined;
    if (shutdown.aborted) await store.releaseSegment(row.seq, owner);
    else if (reason instanceof LeaseLost || reason instanceof TaskAborted) return;
    else {
      const failure = taskFailureOf(err);
      if (!failure) log.error({ err, seq: row.seq }, "a segment failed");
      await fail(
        failure?.errCode ?? TaskErrCode.internal,
        failure?.errCodeExt ?? "InternalError",
        failure?.message ?? "An internal error occurred while encoding a segment.",
      );
      deps.wakeWorkers();
    }
  } finally {
    clearInterval(renew);
    shutdown.removeEventListener("abort", onShutdown);
    copy?.release();
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The settings of segment-parallel transcoding. */
export function segmentSettings(deps: Deps): jobs.SegmentSettings {
  return { seconds: deps.config.segmentSeconds, minSeconds: deps.config.segmentMinSeconds };
}

/** Where a segmented sub-task runs: its task, its job context, its source and scratch directory. */
export interface SegmentedRun {
  ctx: TaskContext;
  job: jobs.JobContext;
  /** Names the sub-task's items in the task (e.g. "sub-0"). */
  name: string;
  source: string;
  scratch: string;
}

/**
 * A job in pieces: queued, waited for, then `joinPieces` (video files in order, the audio file)
 * with progress 95-99; the pieces removed once joined.
 */
async function inPieces<T>(
  r: SegmentedRun,
  of: PieceInput["of"],
  template: jobs.Template,
  plan: CutPlan,
  withAudio: boolean,
  joinPieces: (job: jobs.JobContext, video: string[], audio: string | undefined, list: string) => Promise<T>,
): Promise<T> {
  return withPieces(r.ctx, r.name, async () => {
    const pieces = piecesOf(r.ctx, r.name, of, template, plan, withAudio);
    const copies = await encodePieces(r.ctx, r.name, pieces, r.job.onProgress);
    try {
      const video = copies.slice(0, plan.cuts.length).map((c) => c.path);
      const audio = withAudio ? copies[plan.cuts.length]!.path : undefined;
      const joining = { ...r.job, onProgress: (p: number) => r.job.onProgress(95 + (p * 4) / 100) };
      return await joinPieces(joining, video, audio, join(r.scratch, "pieces.txt"));
    } finally {
      for (const c of copies) c.release();
    }
  });
}

/** A Transcode in pieces, joined into `output` (mp4 or HLS) and probed. */
export function segmentedTranscode(
  r: SegmentedRun,
  template: jobs.Template,
  o: jobs.TranscodeOptions,
  plan: CutPlan,
  output: string,
): Promise<jobs.TranscodeResult> {
  const withAudio = plan.hasAudio && Number(template.RemoveAudio) !== 1;
  return inPieces(r, "Transcode", template, plan, withAudio, (job, video, audio, list) =>
    jobs.joinTranscode(job, r.source, video, audio, list, output, template, o),
  );
}

/** An AdaptiveDynamicStreaming package made from pieces, into `outDir`. */
export function segmentedAdaptive(
  r: SegmentedRun,
  template: jobs.Template,
  o: jobs.AdaptiveOptions,
  plan: CutPlan,
  outDir: string,
): Promise<jobs.AdaptiveResult> {
  const infos: jobs.Template[] = Array.isArray(template.StreamInfos) ? template.StreamInfos : [];
  const withAudio = plan.hasAudio && infos.some((i) => Number(i.RemoveAudio) !== 1);
  return inPieces(r, "AdaptiveDynamicStreaming", template, plan, withAudio, (job, video, audio, list) =>
    jobs.joinAdaptive(job, r.source, video, audio, list, outDir, template, o),
  );
}

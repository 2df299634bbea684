// What the tasks that run one media job on one media item share (quality inspection, enhancement,
// rebuild, watermark removal): the item's file as a local copy, the job's context (threads, the
// sub-task timeout, progress into the task), and a job's clean failure as the task's own.
import { TaskErrCode, TaskFailure } from "../protocol/errors.js";
import * as jobs from "../media/jobs/index.js";
import { probeMediaRaw, type ProbedMedia } from "../media/probe.js";
import type { TaskContext } from "../queue/pool.js";
import { blobKey } from "../blobs/types.js";
import type { Deps } from "../domain/deps.js";
import { ingestedMedia } from "../domain/media.js";
import { findTemplate, type TemplateBody, type TemplateFamily } from "../domain/templates/index.js";
import type { MediaRow, TaskRow } from "../store/types.js";
import { taskFailureOf } from "./failures.js";
import { jobContext } from "./newMedia.js";

/** The template a queued task names; it may have been deleted since, which fails the task (InvalidParameterValue.Definition). */
export async function templateOfTask(
  deps: Deps,
  appId: number,
  family: TemplateFamily,
  definition: number,
  label: string,
): Promise<TemplateBody> {
  const template = await findTemplate(deps, appId, family, definition);
  if (!template)
    throw new TaskFailure(
      TaskErrCode.badParameter,
      "InvalidParameterValue.Definition",
      `The ${label} template ${definition} no longer exists.`,
    );
  return template;
}

export interface MediaSource {
  media: MediaRow;
  /** Local path of the item's original file. */
  file: string;
  probed: ProbedMedia;
}

/**
 * Runs `fn` with the media item's original as a local file (downloaded when the blobs are
 * remote, released afterwards). A missing item or file fails the task with 60000; a JobError
 * fails it with the job's code.
 */
export async function withMediaSource<T>(
  ctx: TaskContext,
  fileId: string,
  fn: (src: MediaSource, job: jobs.JobContext) => Promise<T>,
): Promise<T> {
  const { deps, task } = ctx;
  const media = await deps.store.getMedia(task.appId, fileId);
  if (!media || !media.blobKey || !(await deps.blobs.stat(media.blobKey)))
    throw new TaskFailure(TaskErrCode.sourceFile, "SourceFileError", "The source file no longer exists.");
  const copy = await deps.blobs.openLocal(media.blobKey);
  let job = jobContext(ctx);
  try {
    // Probed once here; the job reuses it instead of starting its own ffprobe.
    const raw = await probeMediaRaw(deps.tools, copy.path, 60_000, ctx.signal, "media file");
    job = { ...job, sourceProbe: { file: copy.path, size: raw.size, data: raw.data } };
    return await fn({ media, file: copy.path, probed: raw.probed }, job);
  } catch (err) {
    throw taskFailureOf(err) ?? err;
  } finally {
    copy.release();
  }
}

/** What a task that makes a new media item says of it (request's OutputConfig / TargetInfo). */
export interface NewMediaSpec {
  fileId: string;
  /** The produced file (local, complete) and its extension. */
  file: string;
  ext: string;
  probed: ProbedMedia;
  source: MediaRow;
  name?: string;
  description?: string;
  classId?: number;
  expireTime?: string;
}

/** Stores a produced file as a new media item (published when the task finishes). */
export async function storeNewMedia(ctx: TaskContext, s: NewMediaSpec): Promise<MediaRow> {
  const key = blobKey(ctx.task.appId, s.fileId, `f0.${s.ext}`);
  await ctx.deps.blobs.putFile(key, s.file);
  const media = ingestedMedia(
    {
      fileId: s.fileId,
      appId: ctx.task.appId,
      name: s.name || s.source.name,
      classId: s.classId,
      type: s.ext,
      category: s.probed.category,
      blobKey: key,
      coverKey: "",
      metaData: s.probed.metaData as unknown as Record<string, unknown>,
      storageRegion: s.source.storageRegion,
      expireTime: s.expireTime,
    },
    ctx.deps.now(),
  );
  return { ...media, description: s.description ?? "", sourceType: "VideoProcessing" };
}

/** An aborted task stored the file of an item that will never exist: removed. */
export async function discardNewMedia(deps: Deps, task: TaskRow): Promise<void> {
  const fileId = (task.input as { fileId?: string }).fileId;
  if (fileId && !(await deps.store.getMedia(task.appId, fileId)))
    await deps.blobs.remove(blobKey(task.appId, fileId) + "/");
}

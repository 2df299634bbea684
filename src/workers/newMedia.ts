// What the tasks that make new media items from existing ones share (EditMedia, SplitMedia,
// ComposeMedia): reading their sources, storing an output under the new item's FileId (chosen at
// submission, so a re-run after a crash writes the same keys), the MediaRow published with the
// task's finish, the Procedure it starts, and removing the outputs of a run that was aborted.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { blobKey, type LocalBlob } from "../blobs/types.js";
import type { Deps } from "../domain/deps.js";
import { procedureTaskFor } from "../domain/ingest.js";
import { ingestedMedia } from "../domain/media.js";
import type { JobContext } from "../media/jobs/index.js";
import type { ProbedMedia } from "../media/probe.js";
import { TaskErrCode, TaskFailure } from "../protocol/errors.js";
import type { TaskContext } from "../queue/pool.js";
import type { MediaRow, NewTask, TaskRow } from "../store/types.js";
import { processCpus } from "../media/cpus.js";
import { asTaskFailure } from "./failures.js";

/** Local copies of source items, by FileId, held until release(). */
export interface Sources {
  path(fileId: string): string;
  release(): void;
}

/** Opens every FileId's original file; one deleted since submission fails the task with 60000. */
export async function openSources(ctx: TaskContext, fileIds: string[]): Promise<Sources> {
  const held = new Map<string, LocalBlob>();
  const release = () => held.forEach((b) => b.release());
  try {
    for (const fileId of new Set(fileIds)) {
      const media = await ctx.deps.store.getMedia(ctx.task.appId, fileId);
      if (!media || !media.blobKey || !(await ctx.deps.blobs.stat(media.blobKey))) {
        throw new TaskFailure(
          TaskErrCode.sourceFile,
          "SourceFileError",
          `The source file ${fileId} no longer exists.`,
        );
      }
      held.set(fileId, await ctx.deps.blobs.openLocal(media.blobKey));
    }
  } catch (err) {
    release();
    throw err;
  }
  return { path: (fileId) => held.get(fileId)!.path, release };
}

/** The job context of a task that runs one ffmpeg job, its progress scaled into [from, to). */
export function jobContext(ctx: TaskContext, from = 0, to = 100): JobContext {
  const { deps } = ctx;
  return {
    tools: deps.tools,
    signal: ctx.signal,
    timeoutMs: deps.config.subtaskTimeoutMs,
    cpus: processCpus(deps.config.cpus),
    onProgress: (p) => ctx.update({ progress: Math.min(99, Math.floor(from + ((to - from) * p) / 100)) }),
  };
}

/** Runs a media job; its clean failure (a JobError) ends the task with that ErrCode. */
export function runJob<T>(job: () => Promise<T>): Promise<T> {
  return asTaskFailure(job());
}

export interface NewItem {
  fileId: string;
  container: "mp4" | "hls" | "mp3";
  name: string;
  description?: string;
  sourceContext?: string;
  classId?: number;
  expireTime?: string;
}

/**
 * Runs `make` to write the item's file into scratch space (the hls playlist with its segments
 * beside it), moves the result into blob storage under the item's keys and returns the row to
 * insert with the task's finish: until then no client sees the item.
 */
export async function produceItem(
  ctx: TaskContext,
  item: NewItem,
  make: (output: string) => Promise<ProbedMedia>,
): Promise<MediaRow> {
  const { task, deps } = ctx;
  const dir = join(ctx.tmpDir, `out-${item.fileId}`);
  await mkdir(dir, { recursive: true });
  const hls = item.container === "hls";
  const file = hls ? "f0.m3u8" : `f0.${item.container}`;
  const probed = await make(join(dir, file));
  let key: string;
  if (hls) {
    const prefix = blobKey(task.appId, item.fileId, "f0");
    await deps.blobs.putDir(prefix, dir);
    key = `${prefix}/${file}`;
  } else {
    key = blobKey(task.appId, item.fileId, file);
    await deps.blobs.putFile(key, join(dir, file));
  }
  const media = ingestedMedia(
    {
      fileId: item.fileId,
      appId: task.appId,
      name: item.name,
      classId: item.classId,
      expireTime: item.expireTime,
      sourceContext: item.sourceContext,
      type: hls ? "m3u8" : item.container,
      category: probed.category,
      blobKey: key,
      coverKey: "",
      metaData: probed.metaData as unknown as Record<string, unknown>,
      storageRegion: "ap-guangzhou",
      sourceType: "VideoProcessing",
    },
    deps.now(),
  );
  return item.description ? { ...media, description: item.description } : media;
}

/** The Procedure `name` names, on a new item (undefined when no name or it can no longer run). */
export async function procedureOn(
  ctx: TaskContext,
  media: MediaRow,
  name: string | undefined,
): Promise<NewTask | undefined> {
  if (!name) return undefined;
  return procedureTaskFor(ctx.deps, {
    appId: ctx.task.appId,
    media,
    procedure: name,
    priority: ctx.task.priority,
    sessionContext: ctx.task.sessionContext,
  });
}

/** An aborted run stored files of items that will never exist: removed (never a published one). */
export async function discardItems(deps: Deps, task: TaskRow, fileIds: string[]): Promise<void> {
  for (const fileId of fileIds)
    if (!(await deps.store.getMedia(task.appId, fileId)))
      await deps.blobs.remove(blobKey(task.appId, fileId) + "/");
}
